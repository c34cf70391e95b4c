"""Offer eligibility: which (user, window) may see which partner offer, and why not.

Vectorized: users x offers as numpy matrices (one column per offer), never a Python loop per user.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from spendsense.content.models import Guardrails, Offer, Trigger, normalize_product_type

KEYS = ["user_id", "window_days"]
RULES = ("product_type", "income", "credit_score", "utilization", "excluded_subtypes", "required_subtypes",
         "situation")


def subtype_column(subtype: str) -> str:
    """Name of the boolean feature column for an account subtype: 'money market' -> 'has_money_market'."""
    return "has_" + subtype.replace(" ", "_")


def eligibility_features(signals_wide: pd.DataFrame, users: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """users_features for offer_eligibility: the signals_wide row (income, utilization and the columns offer
    situations read), the user's credit score, and the list of account subtypes the user holds (all account types; business accounts are not ingested)."""
    base = signals_wide  # every signal column, for offer situations
    base = base.merge(users[["user_id", "credit_score"]], on="user_id", how="left")
    held = (accounts.dropna(subset=["subtype"]).drop_duplicates(["user_id", "subtype"])
            .sort_values(["user_id", "subtype"]).groupby("user_id")["subtype"].agg(list)
            .rename("account_subtypes").reset_index())
    out = base.merge(held, on="user_id", how="left")
    out["account_subtypes"] = [v if isinstance(v, list) else [] for v in out["account_subtypes"]]
    return out


def _holdings(users: pd.DataFrame, subtypes: list[str]) -> np.ndarray:
    """Boolean matrix (users x subtypes) from `account_subtypes` lists and/or `has_<subtype>` columns."""
    held = np.zeros((len(users), len(subtypes)), dtype=bool)
    if not subtypes:
        return held
    if "account_subtypes" in users.columns:
        exploded = users["account_subtypes"].reset_index(drop=True).explode()
        exploded = exploded[exploded.notna()]
        pos = {s: j for j, s in enumerate(subtypes)}
        cols = exploded.map(pos)
        keep = cols.notna()
        held[exploded.index[keep].to_numpy(), cols[keep].astype(int).to_numpy()] = True
    for j, s in enumerate(subtypes):
        col = subtype_column(s)
        if col in users.columns:
            held[:, j] |= users[col].fillna(False).astype(bool).to_numpy()
        elif "account_subtypes" not in users.columns:
            raise ValueError(f"users_features needs column {col!r} or 'account_subtypes' (offers refer to {s!r})")
    return held


def _held_text(hits: np.ndarray, subtypes: list[str]) -> np.ndarray:
    """'already has 'a', 'b'' for each row of a (rows x subtypes) boolean matrix (loops over subtypes only)."""
    out = np.full(len(hits), "", dtype=object)
    for k, s in enumerate(subtypes):
        col = hits[:, k]
        out[col] = np.where(out[col] == "", f"already has {s!r}", out[col] + f", {s!r}")
    return out


def _int_text(values: np.ndarray, prefix: str = "", suffix: str = "") -> np.ndarray:
    """Rounded numbers as an object array of strings, 'unknown' for nulls (vectorized)."""
    nan = np.isnan(values)
    ints = np.round(np.where(nan, 0, values)).astype(np.int64).astype(str).astype(object)
    return np.where(nan, "unknown", prefix + ints + suffix)


def _situations(offers: list[Offer], users: pd.DataFrame):
    """Per (user, offer), whether every `situation` condition of the offer holds, and a function giving the
    failed conditions' text at failing positions. Each distinct condition is evaluated once over all rows."""
    n_u, n_o = len(users), len(offers)
    ok = np.ones((n_u, n_o), dtype=bool)
    conditions: list[tuple[int, Trigger]] = [(j, t) for j, o in enumerate(offers) for t in o.eligibility.situation]
    if not conditions:
        return ok, lambda i, j: np.full(len(i), "", dtype=object)
    missing = sorted({t.signal for _, t in conditions if t.signal not in users.columns})
    if missing:
        raise ValueError(f"users_features needs signal column(s) {missing} (offer situations refer to them)")
    holds = [t.mask(users).to_numpy(dtype=bool) for _, t in conditions]
    for (j, _), h in zip(conditions, holds, strict=True):
        ok[:, j] &= h

    def failed(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        out = np.full(len(i), "", dtype=object)
        for (col, t), h in zip(conditions, holds, strict=True):
            hit = (j == col) & ~h[i]
            text = f"situation {t.describe()} does not hold"
            out[hit] = np.where(out[hit] == "", text, out[hit] + ", " + text)
        return out

    return ok, failed


def keys_strictly_increasing(frame: pd.DataFrame) -> bool:
    """Whether (user_id, window_days) strictly increase row by row (so sorting would not move a row)."""
    u = frame["user_id"].to_numpy(dtype=object)
    w = frame["window_days"].to_numpy()
    if len(u) < 2:
        return True
    if pd.isna(u).any() or pd.isna(w).any():
        return False
    try:
        return bool(((u[1:] > u[:-1]) | ((u[1:] == u[:-1]) & (w[1:] > w[:-1]))).all())
    except TypeError:
        return False


def offer_eligibility(offers: Sequence[Offer], users_features: pd.DataFrame,
                      guardrails: Guardrails) -> pd.DataFrame:
    """Eligibility of every (user_id, window_days) for every offer, with the failing rules as a reason.

    users_features: one row per (user_id, window_days) with
      - avg_monthly_income (float, null = unknown): annual income = 12 x this; null fails a positive minimum;
      - credit_score (number, null = unknown): null fails a minimum credit score;
      - max_utilization (float, null = the user has no credit card): null passes a utilization maximum;
      - account_subtypes (list of Plaid subtypes the user holds) and/or boolean has_<subtype> columns
        (spaces as underscores: has_savings, has_money_market, has_credit_card).
    Rules (all must pass): product type allowed and not refused by config/guardrails.yaml (a refused type is
    never eligible, even if it slipped into the catalog); annual income >= min_annual_income; credit_score >=
    min_credit_score and <= max_credit_score (unknown fails either); max_utilization <= max_utilization; holds
    none of excluded_if_has_subtypes; holds at least one of requires_subtypes (when listed); every `situation`
    condition holds on the row's signal columns (users_features must then carry those signals_wide columns; a
    null value fails).
    Returns user_id, window_days, offer_id, offer_version, partner, product_type, eligible, reason ('' when
    eligible, else the failing rules joined by '; '), and one boolean pass_<rule> column per rule, ordered by
    user_id, window_days, then catalog order of offers.
    """
    missing = [c for c in KEYS + ["avg_monthly_income", "credit_score", "max_utilization"]
               if c not in users_features.columns]
    if missing:
        raise ValueError(f"users_features is missing column(s) {missing}")
    users = users_features.reset_index(drop=True) if keys_strictly_increasing(users_features) \
        else users_features.sort_values(KEYS, kind="stable").reset_index(drop=True)
    offers = list(offers)
    n_u, n_o = len(users), len(offers)

    # per-offer rule vectors (length O)
    ptype = [normalize_product_type(o.product_type) for o in offers]
    refused = np.array([guardrails.refused_reason(p) is not None for p in ptype], dtype=bool)
    unknown = np.array([p not in guardrails.allowed_product_types for p in ptype], dtype=bool)
    min_income = np.array([o.eligibility.min_annual_income for o in offers], dtype=float)
    min_score = np.array([np.nan if o.eligibility.min_credit_score is None else o.eligibility.min_credit_score
                          for o in offers], dtype=float)
    max_score = np.array([np.nan if o.eligibility.max_credit_score is None else o.eligibility.max_credit_score
                          for o in offers], dtype=float)
    max_util = np.array([np.nan if o.eligibility.max_utilization is None else o.eligibility.max_utilization
                         for o in offers], dtype=float)
    subtypes = sorted({s for o in offers for s in o.eligibility.excluded_if_has_subtypes
                       + o.eligibility.requires_subtypes})
    excl = np.array([[s in o.eligibility.excluded_if_has_subtypes for s in subtypes] for o in offers],
                    dtype=bool).reshape(n_o, len(subtypes))
    req = np.array([[s in o.eligibility.requires_subtypes for s in subtypes] for o in offers],
                   dtype=bool).reshape(n_o, len(subtypes))

    # per-user vectors (length U), then U x O matrices by broadcasting
    annual = pd.to_numeric(users["avg_monthly_income"], errors="coerce").to_numpy(dtype=float) * 12
    score = pd.to_numeric(users["credit_score"], errors="coerce").to_numpy(dtype=float)
    util = pd.to_numeric(users["max_utilization"], errors="coerce").to_numpy(dtype=float)
    held = _holdings(users, subtypes)

    ok_type = np.broadcast_to(~(refused | unknown), (n_u, n_o))
    ok_income = (min_income[None, :] <= 0) | (annual[:, None] >= min_income[None, :])
    ok_score_min = np.isnan(min_score)[None, :] | (score[:, None] >= min_score[None, :])
    ok_score_max = np.isnan(max_score)[None, :] | (score[:, None] <= max_score[None, :])
    ok_score = ok_score_min & ok_score_max
    ok_util = np.isnan(max_util)[None, :] | np.isnan(util)[:, None] | (util[:, None] <= max_util[None, :])
    conflict = held.astype(np.int32) @ excl.T.astype(np.int32) > 0
    has_required = held.astype(np.int32) @ req.T.astype(np.int32) > 0
    ok_excl = ~conflict
    ok_req = ~req.any(axis=1)[None, :] | has_required
    ok_situation, situation_failed = _situations(offers, users)
    eligible = ok_type & ok_income & ok_score & ok_util & ok_excl & ok_req & ok_situation

    # reasons: strings built only at the failing (user, offer) positions, rule by rule (vectorized)
    type_msg = np.array([
        f"product type {p!r} is refused: {guardrails.refused_reason(p)}" if r
        else f"product type {p!r} is not in allowed_product_types" if u else ""
        for p, r, u in zip(ptype, refused, unknown, strict=True)], dtype=object)
    income_u, income_o = _int_text(annual, "$"), _int_text(min_income, "$")
    score_u, score_o, score_max = _int_text(score), _int_text(min_score), _int_text(max_score)
    util_u, util_o = _int_text(util * 100, suffix="%"), _int_text(max_util * 100, suffix="%")
    req_text = np.array(["needs one of " + ", ".join(repr(s) for s in o.eligibility.requires_subtypes)
                         for o in offers], dtype=object)
    messages = [
        (ok_type, lambda i, j: type_msg[j]),
        (ok_income, lambda i, j: "annual income " + income_u[i] + " below minimum " + income_o[j]),
        (ok_score_min, lambda i, j: "credit score " + score_u[i] + " below minimum " + score_o[j]),
        (ok_score_max, lambda i, j: "credit score " + score_u[i] + " above maximum " + score_max[j]
         + " (built for people starting out with credit)"),
        (ok_util, lambda i, j: "utilization " + util_u[i] + " above maximum " + util_o[j]),
        (ok_excl, lambda i, j: _held_text(held[i] & excl[j], subtypes)),
        (ok_req, lambda i, j: req_text[j]),
        (ok_situation, lambda i, j: situation_failed(i, j)),
    ]
    reason = np.full(n_u * n_o, "", dtype=object)
    for ok, make in messages:
        flat = np.flatnonzero(~np.ascontiguousarray(ok).ravel())
        if flat.size:
            i, j = np.divmod(flat, n_o)
            msg, cur = make(i, j), reason[flat]
            reason[flat] = np.where(cur == "", msg, cur + "; " + msg)

    user_rows = np.repeat(np.arange(n_u), n_o)
    offer_rows = np.tile(np.arange(n_o), n_u)
    offer_cols = pd.DataFrame({"offer_id": [o.id for o in offers], "offer_version": [o.version for o in offers],
                               "partner": [o.partner for o in offers], "product_type": ptype})
    offer_cols["offer_version"] = offer_cols["offer_version"].astype(np.int64)
    flags = {"eligible": eligible.ravel(), "reason": reason}
    for name, mat in zip(RULES, (ok_type, ok_income, ok_score, ok_util, ok_excl, ok_req, ok_situation),
                         strict=True):
        flags[f"pass_{name}"] = np.ascontiguousarray(mat).ravel()
    return pd.concat([users[KEYS].take(user_rows).reset_index(drop=True),
                      offer_cols.take(offer_rows).reset_index(drop=True), pd.DataFrame(flags)], axis=1)
