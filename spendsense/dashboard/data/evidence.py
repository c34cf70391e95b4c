"""One user's evidence as the role may see it: profile, signals, cards, streams, transactions, payroll, personas,
the cash timeline, recommendations with their review state, decision traces and shortfalls.

operator: names masked to initials, account numbers to their last two digits (also inside rationales and traces),
raw transaction descriptions replaced by the merchant or category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spendsense.dashboard.data import consent, reviews
from spendsense.dashboard.data.redaction import Redactors, display_name, mask_account, redact_deep
from spendsense.dashboard.data.run import PublishedRun
from spendsense.dashboard.data.store import OpStore
from spendsense.dashboard.render import parse_json
from spendsense.recommend.trace_contract import DecisionTrace

SQL = "dashboard/data/evidence.sql"
PERSONA_COLUMNS = ["window_days", "persona_id", "persona_name", "matched_personas", "criteria"]
COUNTERFACTUAL_COLUMNS = ["window_days", "persona_id", "target_persona_id", "text_operator", "text_customer",
                          "changes"]


class Evidence:
    """The per-user reads of one dashboard session (run, opstore, role and its redaction)."""

    def __init__(self, run: PublishedRun, ops: OpStore, role: str, redactors: Redactors):
        self.run, self.ops, self.role, self.redactor = run, ops, role, redactors

    def _frame(self, name: str, user_id: str) -> pd.DataFrame:
        return self.run.frame(SQL, name, user_id=user_id)

    def _masked(self, df: pd.DataFrame) -> pd.DataFrame:
        df["account_mask"] = [mask_account(m, self.role) for m in df["account_mask"]]
        return df

    def user_profile(self, user_id: str) -> dict:
        with_accounts = self.run.has("accounts")
        cur = self.run.execute(SQL, "user_with_accounts" if with_accounts else "user", user_id=user_id)
        found = cur.fetchall()
        if not found:
            raise KeyError(f"user {user_id!r} is not in run {self.run.run_id}")
        row = dict(zip([d[0] for d in cur.description], found[0]))
        if not with_accounts:
            row["accounts"] = None
        row["skipped"] = (self.run.rows(SQL, "skip_reasons", user_id=user_id)[0][0]
                          if self.run.has("skipped_users") else None)
        row["name"] = display_name(row.get("name"), self.role)
        status, last = consent.status(self.run, self.ops, user_id)
        row["consent"] = status
        row["consent_since"] = last.get("occurred_at")
        return row

    def signals(self, user_id: str) -> pd.DataFrame:
        long = self._frame("signals", user_id) if self.run.has("signals") else pd.DataFrame()
        if not len(long):
            return pd.DataFrame(columns=["signal"])
        out = pd.DataFrame({"signal": pd.unique(long["signal"])})
        for w, part in long.groupby("window_days"):
            part = part.set_index("signal")
            out[f"value_{int(w)}"] = out["signal"].map(part["value"])
            out[f"text_{int(w)}"] = out["signal"].map(part["value_text"])
        return out

    def credit_cards(self, user_id: str) -> pd.DataFrame:
        if not self.run.has("credit_cards"):
            return pd.DataFrame()
        df = self._frame("credit_cards", user_id)
        redact = self.redactor(user_id)
        if "mask" in df:
            df["mask"] = [mask_account(m, self.role) for m in df["mask"]]
        if "card_name" in df:
            df["card_name"] = [redact(c) for c in df["card_name"]]
        return df

    def recurring_streams(self, user_id: str) -> pd.DataFrame:
        return self._frame("recurring_streams", user_id) if self.run.has("recurring_streams") else pd.DataFrame()

    def transactions(self, user_id: str) -> pd.DataFrame:
        if not self.run.has("transactions"):
            return pd.DataFrame(columns=["transaction_id", "date", "amount", "description"])
        name = "transactions" if self.run.has("accounts") else "transactions_without_accounts"
        return self._masked(self.run.frame(SQL, name, user_id=user_id, admin=self.role == "admin"))

    @staticmethod
    def stream_transactions(streams: pd.DataFrame, txns: pd.DataFrame) -> pd.DataFrame:
        if not len(streams) or "transaction_ids" not in streams:
            return pd.DataFrame(columns=["window_days", "merchant_key", "transaction_id", "date", "amount"])
        pairs = streams[["window_days", "merchant_key", "transaction_ids"]].copy()
        pairs["transaction_id"] = pairs["transaction_ids"].map(lambda v: list(v) if v is not None else [])
        pairs = pairs.drop(columns="transaction_ids").explode("transaction_id").dropna(subset=["transaction_id"])
        return pairs.merge(txns, on="transaction_id", how="left").sort_values(
            ["window_days", "merchant_key", "date"], kind="stable").reset_index(drop=True)

    def payroll_deposits(self, user_id: str) -> pd.DataFrame:
        if not self.run.has("payroll_deposits"):
            return pd.DataFrame()
        name = "payroll_deposits" if self.run.has("accounts") else "payroll_deposits_without_accounts"
        return self._masked(self._frame(name, user_id))

    def counterfactuals(self, user_id: str) -> pd.DataFrame:
        if not self.run.has("persona_counterfactuals"):
            return pd.DataFrame(columns=COUNTERFACTUAL_COLUMNS)
        return self._frame("counterfactuals", user_id)

    def personas(self, user_id: str) -> pd.DataFrame:
        if not self.run.has("persona_assignments"):
            return pd.DataFrame(columns=PERSONA_COLUMNS)
        df = self._frame("persona_assignments", user_id)
        change = self.counterfactuals(user_id)
        df = df.merge(change[["window_days", "text_operator", "text_customer"]], on="window_days", how="left")
        df["criteria"] = [parse_json(c) for c in df["criteria"]]
        df["matched_personas"] = [list(m) if m is not None and not isinstance(m, str) else m
                                  for m in df["matched_personas"]]
        return df

    def timeline(self, user_id: str, txns: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Daily cash balance (depository accounts, rebuilt backwards from today's balance) and monthly spending."""
        out = {"balance": pd.DataFrame(columns=["date", "balance"]),
               "spending": pd.DataFrame(columns=["month", "spending", "income"])}
        if not len(txns):
            return out
        # numpy, not pandas groupby: a user switch rebuilds this for one user's few hundred rows
        dates = pd.to_datetime(txns["date"]).to_numpy().astype("datetime64[D]")
        amounts = txns["amount"].to_numpy(dtype=float)
        months, of_month = np.unique(dates.astype("datetime64[M]"), return_inverse=True)
        out["spending"] = pd.DataFrame({
            "month": months.astype("datetime64[ns]"),
            "spending": np.bincount(of_month, weights=amounts.clip(min=0), minlength=len(months)),
            "income": np.bincount(of_month, weights=(-amounts).clip(min=0), minlength=len(months))})
        if self.run.has("accounts") and "account_type" in txns:
            current = self.run.rows(SQL, "depository_balance", user_id=user_id)[0][0]
            dep = (txns["account_type"] == "depository").to_numpy(dtype=bool)
            if dep.any():
                first, last = dates[dep].min(), dates[dep].max()
                as_of = self.run.as_of
                end = max(last, np.datetime64(as_of[:10], "D")) if as_of else last
                days = np.arange(first, end + 1, dtype="datetime64[D]")
                daily = np.bincount((dates[dep] - first).astype(int), weights=amounts[dep], minlength=len(days))
                # balance at end of day d = current + sum of amounts after d (Plaid sign: > 0 is money out)
                after = np.append(daily[::-1].cumsum()[::-1][1:], 0.0)
                out["balance"] = pd.DataFrame({"date": days.astype("datetime64[ns]"),
                                               "balance": float(current) + after})
        return out

    def recommendation_rows(self, user_id: str, with_facts: bool = True) -> list[dict]:
        """The user's recommendations as plain rows (warehouse columns, then review state), redacted for the role:
        what one person's page or API call reads, without a frame's fixed costs (with_facts=False: without the
        `facts` column, which the customer's view never shows)."""
        return self._recommendations(user_id, with_facts)[1]

    def recommendations(self, user_id: str) -> pd.DataFrame:
        columns, rows = self._recommendations(user_id)
        return pd.DataFrame(rows, columns=columns)

    def _recommendations(self, user_id: str, with_facts: bool = True) -> tuple[list[str], list[dict]]:
        if not self.run.has("recommendations"):
            return ["recommendation_id", "status"], []
        cur = self.run.execute(SQL, "recommendations", user_id=user_id)
        names = [d[0] for d in cur.description]
        rows = reviews.with_review_rows([dict(zip(names, r)) for r in cur.fetchall()], self.ops)
        redact = self.redactor(user_id)
        for row in rows:
            for col in ("rationale", "title"):
                if col in row:
                    row[col] = redact(row[col])
            if not with_facts:
                row.pop("facts", None)
            elif "facts" in row:
                row["facts"] = redact_deep(parse_json(row["facts"]), redact)
        return names + [c for c, _ in reviews.REVIEW_COLUMNS] + ["status"], rows

    def customer_texts(self, user_id: str) -> list[str]:
        """The supportive "what would change this" texts of the user's windows (none for older runs)."""
        if not self.run.has("persona_counterfactuals"):
            return []
        cur = self.run.execute(SQL, "counterfactuals", user_id=user_id)
        at = [d[0] for d in cur.description].index("text_customer")
        return [r[at] for r in cur.fetchall() if r[at] is not None]

    def traces(self, user_id: str) -> dict[str, DecisionTrace]:
        if not self.run.has("decision_traces"):
            return {}
        df = self._frame("traces", user_id)
        redact = self.redactor(user_id)
        return {r: redact_deep(parse_json(t), redact) for r, t in zip(df["recommendation_id"], df["trace"])}

    def decision_trace(self, recommendation_id: str) -> DecisionTrace | None:
        if not self.run.has("decision_traces"):
            return None
        row = self.run.rows(SQL, "trace", recommendation_id=recommendation_id)
        if not row:
            return None
        return redact_deep(parse_json(row[0][1]), self.redactor(row[0][0]))

    def shortfalls(self, user_id: str) -> pd.DataFrame:
        return self._frame("shortfalls", user_id) if self.run.has("recommendation_shortfalls") else pd.DataFrame()
