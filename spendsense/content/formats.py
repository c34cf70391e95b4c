"""Rationale value formats: `format_value` for one value, `format_values` for a column (the same strings).

`format_value` is the scalar reference: it defines each format with Decimal arithmetic, and the vectorized
`format_values` (integer rounding in numpy, text from Arrow string kernels) calls it for the values whose decimal
rounding is not certain in floating point and for batches of a few values; property tests hold the two equal. No
template logic lives here (which template, which values: spendsense.content.rationale).
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

LIST_FORMAT = "list"
NUMERIC_FORMATS = ("usd", "pct", "rate", "months", "days", "count")
_BIG = 1e13  # beyond this the float fast path is not trusted
SMALL = 8  # up to this many values, numbers are formatted by format_value one by one (same strings)
STRING = pa.string()


# ------------------------------------------------------------------------------------ one value

def _round(x: float, places: int) -> Decimal:
    """Round half away from zero on the decimal spelling of x (so 2.675 -> 2.68, 0.5 -> 1)."""
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _usd(x: float) -> str:
    cents = _round(x, 2)
    sign = "-" if cents < 0 else ""
    if abs(cents) >= 100:
        return f"{sign}${abs(_round(x, 0)):,.0f}"
    if cents == cents.to_integral_value():
        return f"{sign}${abs(cents):,.0f}"
    return f"{sign}${abs(cents):,.2f}"


def _plural(n: Decimal | int, unit: str) -> str:
    one, many = _plural_forms(unit)
    return one if n == 1 else many


def format_value(value: object, fmt: str) -> str:
    """Format one value for a rationale. Formats (the part after ':' in a placeholder):

    - usd: amounts of $100 or more in whole dollars with separators ("$3,400"); under $100 with cents
      ("$87.50"), dropping ".00" ("$15"); negatives as "-$12.50". Rounding is half away from zero.
    - pct: a fraction as a whole percent ("0.68" -> "68%"); a value that is not zero but rounds to 0 reads
      "less than 1%".
    - rate: a number already in percent units, up to two decimals ("24.99%", "20%").
    - months: one decimal with the unit ("1.5 months", "1.0 month").
    - days: whole days with the unit ("45 days", "1 day").
    - count: a whole number with separators ("3"); `count:fee` adds a pluralized unit ("1 fee", "2 fees"),
      `count:person|people` gives both forms.
    - text: the value as written (a float with no fraction is written as an integer, e.g. a mask).
    - list: a list of texts joined in plain English ("A", "A and B", "A, B, and C").
    """
    base, _, unit = fmt.partition(":")
    if base == "list":
        items = [format_value(v, "text") for v in value]  # type: ignore[union-attr]
        if len(items) <= 2:
            return " and ".join(items)
        return ", ".join(items[:-1]) + ", and " + items[-1]
    if base == "text":
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value)
    x = float(value)  # type: ignore[arg-type]
    if base == "usd":
        return _usd(x)
    if base == "pct":
        p = _round(x * 100, 0)
        if p == 0 and x != 0:
            return "less than 1%"
        return f"{p:,.0f}%"
    if base == "rate":
        r = _round(x, 2).normalize()
        return f"{r:,f}%"
    if base == "months":
        m = _round(x, 1)
        return f"{m:,.1f} {'month' if m == 1 else 'months'}"
    if base == "days":
        d = _round(x, 0)
        return f"{d:,.0f} {'day' if d == 1 else 'days'}"
    if base == "count":
        n = _round(x, 0)
        return f"{n:,.0f} {_plural(n, unit)}" if unit else f"{n:,.0f}"
    raise ValueError(f"unknown format {fmt!r}")


# --------------------------------------------------------------------------------------- arrow helpers


def _s(value) -> pa.Array | pa.Scalar:
    """A string array or scalar for Arrow kernels."""
    if isinstance(value, pa.Array | pa.ChunkedArray | pa.Scalar):
        return value
    if isinstance(value, str):
        return pa.scalar(value, STRING)
    return pa.array(value, STRING)


def join(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*[_s(p) for p in parts], "")


def where(mask: np.ndarray, a, b) -> pa.Array:
    """Element-wise choice between two string arrays or literals."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), _s(a), _s(b))


def _digits(n: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(n, dtype=np.int64)), STRING)


def grouped(n: np.ndarray) -> pa.Array:
    """Non-negative integers with thousands separators ('3,400'), as Arrow strings."""
    n = np.asarray(n, dtype=np.int64)
    out = _digits(n % 1000)
    rest = n // 1000
    k = 0
    while rest.any():
        has = rest > 0
        head = _digits(rest % 1000)
        out = where(has, pc.binary_join_element_wise(head, pc.utf8_lpad(out, 3 + 4 * k, "0"), ","), out)
        rest = rest // 1000
        k += 1
    return out


# --------------------------------------------------------------------------------------------- formatting


def _half_up(x: np.ndarray, places: int) -> tuple[np.ndarray, np.ndarray]:
    """x rounded half away from zero at `places` decimals exactly as format_value rounds (half up on the
    shortest decimal spelling of x), as integers of 10**-places; plus an 'unsure' mask (non-finite or huge values)
    where the caller must use format_value itself.

    With n = floor(|x| * 10**places) (a float estimate, off by at most one next to an integer), the decimal
    halfway point t = (2n + 1) / (2 * 10**places) is compared with |x| as doubles: the shortest spelling of x
    lies on the same side of t as x does unless x is the double nearest to t, and then it is t itself, a tie
    that rounds up. So |x| >= double(t) decides exactly, with no per-value Python.
    """
    a = np.abs(x)
    scale = 10.0 ** places
    finite = np.isfinite(a) & (a * scale < _BIG)
    a = np.where(finite, a, 0.0)
    n = np.floor(a * scale)
    halfway = (2.0 * n + 1.0) / (2.0 * scale)
    rounded = (n + (a >= halfway)).astype(np.int64)
    return np.where(x < 0, -rounded, rounded), ~finite


def _plural_forms(unit: str) -> tuple[str, str]:
    one, _, many = unit.partition("|")
    return one, many or f"{one}s"


def as_floats(values) -> np.ndarray:
    """Values as float64 (nulls as NaN)."""
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _sign(neg: np.ndarray) -> pa.Array:
    return where(neg, "-", "")


def format_values(values, fmt: str) -> pa.Array:
    """Vectorized `format_value` over non-missing values: the same strings, as Arrow strings."""
    base, _, unit = fmt.partition(":")
    if base in (LIST_FORMAT, "text"):
        if base == "text" and _all_strings(values):
            return _string_array(values)
        if base == LIST_FORMAT and isinstance(values, pd.Series):
            return format_lists(values)
        raw = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
        memo: dict = {}
        return pa.array([_memo_format(v, fmt, memo) for v in raw], STRING)
    if base not in NUMERIC_FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    x = as_floats(values)
    if len(x) <= SMALL:  # a few values: format_value itself is cheaper than the kernels' fixed cost
        return pa.array([format_value(float(v), fmt) for v in x], STRING)
    if base == "usd":
        cents, unsure = _half_up(x, 2)
        ac = np.abs(cents)
        dollars, unsure_d = _half_up(x, 0)
        unsure |= unsure_d
        whole = _digits(ac // 100)
        small = where(ac % 100 == 0, whole, join(whole, ".", pc.utf8_lpad(_digits(ac % 100), 2, "0")))
        body = where(ac >= 10000, grouped(np.abs(dollars)), small)
        out = join(where(cents < 0, "-$", "$"), body)
    elif base == "pct":
        p, unsure = _half_up(x * 100, 0)
        out = where((p == 0) & (x != 0), "less than 1%", join(_sign(p < 0), grouped(np.abs(p)), "%"))
        unsure = unsure | ((x == 0) & np.signbit(x))
    elif base == "rate":
        c, unsure = _half_up(x, 2)
        ac = np.abs(c)
        frac = ac % 100
        tail = where(frac == 0, "", where(frac % 10 == 0, join(".", _digits(frac // 10)),
                                          join(".", pc.utf8_lpad(_digits(frac), 2, "0"))))
        out = join(_sign(c < 0), grouped(ac // 100), tail, "%")
        unsure = unsure | ((c == 0) & ((x < 0) | np.signbit(x)))
    elif base == "months":
        t, unsure = _half_up(x, 1)
        at = np.abs(t)
        out = join(_sign(t < 0), grouped(at // 10), ".", _digits(at % 10), where(t == 10, " month", " months"))
        unsure = unsure | ((t == 0) & ((x < 0) | np.signbit(x)))
    else:  # days, count
        d, unsure = _half_up(x, 0)
        body = join(_sign(d < 0), grouped(np.abs(d)))
        if base == "days":
            out = join(body, where(d == 1, " day", " days"))
        elif unit:
            one, many = _plural_forms(unit)
            out = join(body, where(d == 1, " " + one, " " + many))
        else:
            out = body
        unsure = unsure | ((d == 0) & ((x < 0) | np.signbit(x)))
    if unsure.any():
        exact = pa.array([format_value(float(v), fmt) for v in x[unsure]], STRING)
        out = pc.replace_with_mask(out, pa.array(unsure), exact)
    return out


def _all_strings(values) -> bool:
    """Whether every value is a string (no nulls), checked without a Python loop."""
    if isinstance(values, pd.Series):
        if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
            return not values.isna().any()
        values = values.to_numpy(dtype=object)
    return pd.api.types.infer_dtype(np.asarray(values, dtype=object), skipna=False) == "string"


def _string_array(values) -> pa.Array:
    arr = pa.array(values, STRING) if not isinstance(values, pd.Series) else pa.array(values, STRING, from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def format_lists(values: pd.Series) -> pa.Array:
    """format_value(..., 'list') over a column of lists of texts: 'A', 'A and B', 'A, B, and C'."""
    lists = pa.array([list(v) if isinstance(v, list | tuple | np.ndarray) else None for v in values],
                     pa.list_(pa.string()))
    if lists.null_count:  # callers only format renderable rows; keep the exact rule for anything odd
        return pa.array([format_value(v, "list") for v in values], STRING)
    length = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    if (length == 0).any():
        return pa.array([format_value(v, "list") for v in values], STRING)
    offsets = lists.offsets.to_numpy()
    flat = lists.values
    first = flat.take(pa.array(offsets[:-1].astype(np.int64)))
    last = flat.take(pa.array((offsets[1:] - 1).astype(np.int64)))
    heads = pc.binary_join(_list_head(lists, length), ", ")
    two = join(first, " and ", last)
    many = join(heads, ", and ", last)
    return where(length == 1, first, where(length == 2, two, many))


def _list_head(lists: pa.Array, length: np.ndarray) -> pa.Array:
    """Each list without its last element."""
    offsets = lists.offsets.to_numpy()
    starts, ends = offsets[:-1], offsets[:-1] + np.maximum(length - 1, 0)
    keep = np.zeros(len(lists.values), dtype=bool)
    idx = np.repeat(np.arange(len(length)), np.maximum(length - 1, 0))
    pos = starts[idx] + (np.arange(len(idx)) - np.repeat(np.cumsum(np.maximum(length - 1, 0)) -
                                                         np.maximum(length - 1, 0), np.maximum(length - 1, 0)))
    keep[pos] = True
    new_offsets = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(new_offsets), lists.values.filter(pa.array(keep)))


def _memo_format(value: object, fmt: str, memo: dict) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    key = tuple(value) if isinstance(value, list) else value
    try:
        return memo[key]
    except KeyError:
        memo[key] = text = format_value(value, fmt)
        return text
    except TypeError:  # unhashable
        return format_value(value, fmt)


def json_values(values) -> pa.Array:
    """JSON literals of non-missing values (numbers, booleans, strings, lists of strings), as Arrow strings.

    Floats use the shortest decimal that round-trips (as Python's json/repr)."""
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    if pd.api.types.is_bool_dtype(s.dtype):
        return where(s.to_numpy(dtype=bool), "true", "false")
    if pd.api.types.is_integer_dtype(s.dtype):
        return _digits(s.to_numpy(dtype=np.int64))
    if pd.api.types.is_float_dtype(s.dtype):
        return pc.cast(pa.array(s.to_numpy(dtype=float, na_value=np.nan)), STRING)
    return json_strings(s.to_numpy(dtype=object))


def json_strings(values) -> pa.Array:
    """JSON literals of strings (escaped once per distinct value) or, for other values, json.dumps per value."""
    arr = values if isinstance(values, pa.Array) else None
    if arr is None and _all_strings(values):
        arr = _string_array(values)
    if arr is not None and pa.types.is_string(arr.type):
        enc = arr.dictionary_encode()
        dumped = pa.array([json.dumps(v) for v in enc.dictionary.to_pylist()], STRING)
        return dumped.take(enc.indices)
    out = []
    for v in np.asarray(values, dtype=object):
        if isinstance(v, np.ndarray):
            v = v.tolist()
        if isinstance(v, list | tuple):
            v = [x.item() if isinstance(x, np.generic) else x for x in v]
        elif isinstance(v, np.generic):
            v = v.item()
        out.append(json.dumps(v))
    return pa.array(out, STRING)


def quoted_texts(texts: pa.Array, fmt: str) -> pa.Array:
    """JSON string literals of formatted texts: numbers only need quotes; names and lists are escaped."""
    base, _, unit = fmt.partition(":")
    if base in NUMERIC_FORMATS and json.dumps(unit)[1:-1] == unit:
        return join('"', texts, '"')
    return json_strings(texts)


def distinct_rows(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct combination of the columns' values, and each row's combination number."""
    code, size = np.zeros(len(columns[0]), dtype=np.int64), 1
    for column in columns:
        values, uniques = pd.factorize(column)
        if size * (len(uniques) + 1) >= 1 << 62:  # renumber the combinations so far before they could overflow
            code, seen = pd.factorize(code)
            size = len(seen)
        code, size = code * (len(uniques) + 1) + values + 1, size * (len(uniques) + 1)
    code = pd.factorize(code)[0]
    return np.unique(code, return_index=True)[1], code
