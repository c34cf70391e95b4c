"""The recommend step's inputs: the RecommendInputs contract and the pure preparation of its tables (windows in
key order, personas and counterfactuals aligned to them, eligibility features, consent by user, recent history)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spendsense.consent import by_user
from spendsense.content import ScoringConfig
from spendsense.content.models import ACCOUNT_SUBTYPES
from spendsense.guardrails import subtype_column
from spendsense.guardrails.eligibility import keys_strictly_increasing
from spendsense.recommend.select import KEYS

SUBTYPES: tuple[str, ...] = tuple(sorted(ACCOUNT_SUBTYPES))


@dataclass(frozen=True)
class RecommendInputs:
    """Everything recommend() reads: the signal step's tables, personas, raw users/accounts, consent, history.

    consent: (user_id, status[, occurred_at]), the consent snapshot read at recommend time (latest event wins);
    history: deliveries (user_id, item_id, delivered_at) from the operational store.
    """

    signals_wide: pd.DataFrame
    credit_cards: pd.DataFrame
    recurring_streams: pd.DataFrame
    persona_assignments: pd.DataFrame
    users: pd.DataFrame
    accounts: pd.DataFrame
    consent: pd.DataFrame
    history: pd.DataFrame
    as_of: dt.date
    # persona_counterfactuals rows (what would change each user-window's persona); None: not computed
    counterfactuals: pd.DataFrame | None = None


def _require(frame: pd.DataFrame, what: str, columns: list[str]) -> None:
    """Raise naming the missing columns of an input table."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")


def naive_utc(value) -> pd.Timestamp:
    """A timestamp as naive UTC (aware values are converted)."""
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def consent_by_user(consent: pd.DataFrame) -> pd.DataFrame:
    """Each user's consent status and when it happened, by the one rule of spendsense.consent."""
    _require(consent, "consent", ["user_id", "status"])
    return by_user(consent)


COUNTERFACTUAL_COLUMNS = {"target": "target_persona_id", "text": "text_operator", "customer_text": "text_customer",
                          "changes": "changes"}


def aligned_counterfactuals(keys: pd.DataFrame, counterfactuals: pd.DataFrame | None) -> pd.DataFrame:
    """persona_counterfactuals rows in the order of keys (all null where none were computed)."""
    cols = list(COUNTERFACTUAL_COLUMNS.values())
    if counterfactuals is None or not len(counterfactuals):
        return pd.DataFrame({c: np.full(len(keys), None, dtype=object) for c in cols})
    merged = keys.merge(counterfactuals[KEYS + cols], on=KEYS, how="left", validate="one_to_one")
    if "changes" in merged:
        merged["changes"] = [v if isinstance(v, str) or v is None else json.dumps(v) for v in merged["changes"]]
    return merged[cols].astype(object).where(merged[cols].notna(), None)


def sorted_windows(signals_wide: pd.DataFrame) -> pd.DataFrame:
    """signals_wide in (user_id, window_days) order; duplicate keys are an error."""
    _require(signals_wide, "signals_wide", KEYS)
    if keys_strictly_increasing(signals_wide):  # already sorted and unique (the signal step writes it so)
        return signals_wide.reset_index(drop=True)
    sw = signals_wide.sort_values(KEYS, kind="stable").reset_index(drop=True)
    dup = sw.duplicated(KEYS)
    if dup.any():
        first = sw.loc[dup.idxmax(), KEYS].tolist()
        raise ValueError(f"signals_wide: duplicate row for (user_id, window_days) = {tuple(first)}")
    return sw


def aligned_personas(keys: pd.DataFrame, personas: pd.DataFrame) -> pd.DataFrame:
    """persona_assignments rows in the order of keys; a user-window without one is an error."""
    _require(personas, "persona_assignments", KEYS + ["persona_id", "matched_personas"])
    cols = KEYS + ["persona_id", "matched_personas"] + [c for c in ("persona_name", "criteria") if c in personas]
    if len(personas) == len(keys) and (personas["user_id"].to_numpy(dtype=object)
                                       == keys["user_id"].to_numpy(dtype=object)).all() \
            and (personas["window_days"].to_numpy() == keys["window_days"].to_numpy()).all():
        out = personas[cols].reset_index(drop=True)  # already in the same order
    else:
        out = keys.merge(personas[cols], on=KEYS, how="left", validate="one_to_one")
    if out["persona_id"].isna().any():
        first = out.loc[out["persona_id"].isna().idxmax(), KEYS].tolist()
        raise ValueError(f"persona_assignments: no row for (user_id, window_days) = {tuple(first)}")
    for c in ("persona_name", "criteria"):
        if c not in out:
            out[c] = None
    return out


def aligned(frame: pd.DataFrame, keys: pd.DataFrame, what: str) -> pd.DataFrame:
    """A frame merged onto keys must come back in the same order; check rather than trust."""
    if len(frame) != len(keys) or not (frame["user_id"].to_numpy(dtype=object)
                                       == keys["user_id"].to_numpy(dtype=object)).all():
        raise ValueError(f"{what} rows are not aligned with signals_wide rows")
    return frame.reset_index(drop=True)


def window_features(sig: pd.DataFrame, users: pd.DataFrame, accounts: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """offer_eligibility's users_features for each user-window (avg_monthly_income, credit_score,
    max_utilization and one has_<subtype> column per account subtype the user holds), and each row's held
    subtypes as a bit set over SUBTYPES. The same facts as spendsense.guardrails.eligibility_features, built with
    array indexing instead of a per-user list aggregation."""
    _require(users, "users", ["user_id", "credit_score"])
    _require(accounts, "accounts", ["user_id", "subtype"])
    uid = sig["user_id"].to_numpy(dtype=object)
    codes, uniques = pd.factorize(uid)
    index = pd.Index(uniques)
    held = np.zeros((len(uniques), len(SUBTYPES)), dtype=bool)
    au = index.get_indexer(pd.Index(accounts["user_id"].astype(str).to_numpy(dtype=object)))
    sub = pd.Index(SUBTYPES).get_indexer(pd.Index(accounts["subtype"].to_numpy(dtype=object)))
    ok = (au >= 0) & (sub >= 0)
    held[au[ok], sub[ok]] = True
    rows = held[codes] if len(codes) else held[:0]
    u_ids = pd.Index(users["user_id"].astype(str).to_numpy(dtype=object))
    first = ~u_ids.duplicated()
    score_of = pd.to_numeric(users["credit_score"], errors="coerce").to_numpy(dtype=float)[first]
    pos = u_ids[first].get_indexer(index)
    credit = np.where(pos >= 0, score_of[np.maximum(pos, 0)] if len(score_of) else np.nan, np.nan)[codes] \
        if len(codes) else np.zeros(0)
    frame = {"user_id": uid, "window_days": sig["window_days"].to_numpy(),
             "avg_monthly_income": pd.to_numeric(sig["avg_monthly_income"], errors="coerce").to_numpy(dtype=float),
             "credit_score": credit,
             "max_utilization": pd.to_numeric(sig["max_utilization"], errors="coerce").to_numpy(dtype=float)}
    for j, subtype in enumerate(SUBTYPES):
        frame[subtype_column(subtype)] = rows[:, j]
    bits = rows.astype(np.int64) @ (np.int64(1) << np.arange(len(SUBTYPES), dtype=np.int64)) if len(SUBTYPES) \
        else np.zeros(len(uid), np.int64)
    return pd.DataFrame(frame), bits


def recent_history(history: pd.DataFrame | None, created: pd.Timestamp, scoring: ScoringConfig) -> pd.DataFrame:
    """Deliveries that can affect this run: at or before created_at and within freshness.full_after_days; the last
    delivery per (user, item). Older deliveries count as never shown."""
    cols = ["user_id", "item_id", "delivered_at"]
    if history is None or not len(history):
        return pd.DataFrame({"user_id": pd.Series(dtype=object), "item_id": pd.Series(dtype=object),
                             "delivered_at": pd.Series(dtype="datetime64[us]")})
    _require(history, "history (deliveries)", cols)
    delivered = pd.to_datetime(history["delivered_at"])
    if getattr(delivered.dt, "tz", None) is not None:
        delivered = delivered.dt.tz_convert("UTC").dt.tz_localize(None)
    h = pd.DataFrame({"user_id": history["user_id"].astype(str).to_numpy(dtype=object),
                      "item_id": history["item_id"].astype(str).to_numpy(dtype=object),
                      "delivered_at": delivered.to_numpy()})
    horizon = created - pd.Timedelta(days=scoring.freshness.full_after_days)
    h = h[(h["delivered_at"] <= created) & (h["delivered_at"] > horizon)]
    h = h.sort_values(["user_id", "item_id", "delivered_at"], kind="stable").drop_duplicates(
        ["user_id", "item_id"], keep="last")
    return h.reset_index(drop=True)
