"""Arrow/pandas types of the raw-table contract, and vectorized string builders.

Every table is built as a pyarrow Table with the contract's Arrow schema, then handed to pandas without
copying strings. In the DataFrames: VARCHAR -> str (pandas' Arrow-backed string dtype), DOUBLE -> float64
(NaN = null), INTEGER -> int32, BOOLEAN -> bool, DATE -> date32[day][pyarrow], TIMESTAMP -> datetime64[us].

Exception, for memory: the repetitive text columns of `transactions` (DICTIONARY_COLUMNS) are pandas
`category` columns with str categories (Arrow dictionary<int, string>). 25M transactions then take ~1.5 GB
instead of ~6.5 GB. They hold the same strings; written files (Parquet, CSV, JSON) are plain VARCHAR.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense import schema

ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}
PANDAS_DTYPES = {
    "VARCHAR": pd.StringDtype(storage="pyarrow", na_value=np.nan),
    "DOUBLE": np.dtype("float64"),
    "INTEGER": np.dtype("int32"),
    "BOOLEAN": np.dtype("bool"),
    "DATE": pd.ArrowDtype(pa.date32()),
    "TIMESTAMP": np.dtype("datetime64[us]"),
}


DICTIONARY_COLUMNS = {
    "transactions": (
        "account_id",
        "iso_currency_code",
        "name",
        "merchant_name",
        "merchant_entity_id",
        "payment_channel",
        "pfc_primary",
        "pfc_detailed",
        "pfc_confidence_level",
    ),
}


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a raw table, in contract order."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.dtype], nullable=c.nullable) for c in schema.TABLES[table]]
    )


def pandas_dtypes(table: str) -> dict[str, object]:
    """The pandas dtype of every column of a raw table as the generator returns it."""
    dictionary = DICTIONARY_COLUMNS.get(table, ())
    return {
        c.name: "category" if c.name in dictionary else PANDAS_DTYPES[c.dtype] for c in schema.TABLES[table]
    }


def _types_mapper(arrow_type: pa.DataType):
    """Keep dates as Arrow dates in pandas (a DATE stays a DATE when it reaches DuckDB or Parquet)."""
    if arrow_type == pa.date32():
        return pd.ArrowDtype(pa.date32())
    return None


def to_frame(table: str, columns: dict[str, object]) -> pd.DataFrame:
    """A raw table as a DataFrame with the contract's columns, order and dtypes."""
    sch = arrow_schema(table)
    missing = [f.name for f in sch if f.name not in columns]
    if missing:
        raise ValueError(f"{table}: missing columns {missing}")
    arrays, fields = [], []
    for f in sch:
        value = columns[f.name]
        if isinstance(value, pa.DictionaryArray):
            arrays.append(value)
            fields.append(pa.field(f.name, value.type, nullable=f.nullable))
            continue
        if isinstance(value, (pa.Array, pa.ChunkedArray)):
            arrays.append(value.cast(f.type) if value.type != f.type else value)
        else:
            arrays.append(pa.array(value, type=f.type, from_pandas=True))
        fields.append(f)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields)).to_pandas(types_mapper=_types_mapper)


def frame_to_arrow(table: str, df: pd.DataFrame) -> pa.Table:
    """A raw-table DataFrame as an Arrow table with the contract's types (category columns stay dictionary
    encoded, with string values); errors name the table and column."""
    sch = arrow_schema(table)
    missing = [f.name for f in sch if f.name not in df.columns]
    extra = [c for c in df.columns if c not in sch.names]
    if missing or extra:
        raise ValueError(f"{table}: columns differ from the contract (missing {missing}, extra {extra})")
    try:
        converted = pa.Table.from_pandas(df[sch.names], preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
        converted = None  # find the column at fault below
    arrays, fields = [], []
    for i, f in enumerate(sch):
        try:
            if converted is not None:
                arr = converted.column(i)
            else:
                arr = pa.Table.from_pandas(df[[f.name]], preserve_index=False).column(0)
            if pa.types.is_dictionary(arr.type):
                if not (
                    pa.types.is_string(arr.type.value_type) or pa.types.is_large_string(arr.type.value_type)
                ):
                    raise pa.ArrowInvalid(f"categories of type {arr.type.value_type}, expected strings")
                if f.type != pa.string():
                    arr = arr.cast(f.type)
                else:
                    arr = arr.cast(pa.dictionary(arr.type.index_type, pa.string()))
            elif arr.type != f.type:
                arr = arr.cast(f.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError) as exc:
            raise ValueError(f"{table}.{f.name}: cannot convert to {f.type}: {exc}") from exc
        arrays.append(arr)
        fields.append(pa.field(f.name, arr.type, nullable=f.nullable))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def dictionary(values: list[str | None], codes: np.ndarray) -> pa.DictionaryArray:
    """values[codes] as a dictionary array over the distinct non-null values (sorted); no text copied."""
    values_arr = np.array(["" if v is None else v for v in values], dtype=object)
    is_null = np.array([v is None for v in values], dtype=bool)
    categories, inverse = np.unique(values_arr[~is_null], return_inverse=True)
    index_dtype = np.int16 if categories.size < 2**15 else np.int32
    code_of = np.zeros(len(values), dtype=index_dtype)
    code_of[np.flatnonzero(~is_null)] = inverse
    codes = np.asarray(codes)
    mask = is_null[codes] if is_null.any() else None
    indices = pa.array(code_of[codes], type=pa.from_numpy_dtype(index_dtype), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(categories.tolist(), type=pa.string()))


@functools.cache
def _digit_table(size: int) -> np.ndarray:
    """ASCII digits of 0 .. 10**size - 1, zero-padded to `size` characters."""
    values = np.arange(10**size)
    return np.stack([(values // 10**p) % 10 + 48 for p in range(size - 1, -1, -1)], axis=1).astype(np.uint8)


def padded(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Strings prefix + zero-padded number (e.g. t000123), built without a Python loop over rows."""
    numbers = np.asarray(numbers, dtype=np.int64)
    n = numbers.size
    if n and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"numbers do not fit in {width} digits")
    head = prefix.encode("ascii")
    step = len(head) + width
    offsets = np.arange(0, n * step + 1, step, dtype=np.int64 if n * step >= 2**31 else np.int32)
    string_type = pa.large_string() if offsets.dtype == np.int64 else pa.string()
    if step % 4 == 0 and len(head) < 4:
        # fast path: four characters per uint32 gather ("t" + 3 digits, then "0000".."9999" blocks)
        blocks = np.empty((n, step // 4), dtype=np.uint32)
        rest = numbers
        for b in range(step // 4 - 1, 0, -1):
            rest, block = np.divmod(rest, 10000)
            blocks[:, b] = _digit_table(4).view(np.uint32).ravel()[block]
        first = (
            np.concatenate(
                [
                    np.broadcast_to(np.frombuffer(head, np.uint8), (10 ** (4 - len(head)), len(head))),
                    _digit_table(4 - len(head)),
                ],
                axis=1,
            )
            .view(np.uint32)
            .ravel()
        )
        blocks[:, 0] = first[rest]
        data = blocks
    else:
        chars = np.empty((n, step), dtype=np.uint8)
        chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
        rest = numbers.copy()
        for column in range(step - 1, len(head) - 1, -1):  # one vectorized pass per digit
            rest, digit = np.divmod(rest, 10)
            chars[:, column] = digit + 48
        data = chars
    return pa.Array.from_buffers(string_type, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]).cast(
        pa.string()
    )


def id_width(count: int, prefix: str, minimum: int = 8) -> int:
    """Digits for ids of `count` items: at least `minimum`, prefix + digits a multiple of 4 characters."""
    width = max(minimum, len(str(count)))
    while (len(prefix) + width) % 4:
        width += 1
    return width


def take(values: list[str | None], index: np.ndarray) -> pa.Array:
    """values[index] as an Arrow string array (None stays null)."""
    return pc.take(pa.array(values, type=pa.string()), pa.array(np.asarray(index, dtype=np.int32)))


def constant(value: str, n: int) -> pa.Array:
    """n copies of one string."""
    return take([value], np.zeros(n, dtype=np.int32))


def dates(day0_epoch: int, days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Arrow date32 from day indices (days since the calendar's first day); invalid entries become null."""
    values = (np.asarray(days, dtype=np.int64) + day0_epoch).astype(np.int32)
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(values, type=pa.int32(), mask=mask).cast(pa.date32())


def money(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Dollars (float64) from integer cents; invalid entries become null."""
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(np.asarray(cents, dtype=np.int64) / 100.0, type=pa.float64(), mask=mask)
