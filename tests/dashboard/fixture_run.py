"""A tiny published run for the dashboard tests: 3 users, their evidence, recommendations and traces.

u001 Jane Doe: high utilization (Visa ending 4523 at 68%), Netflix and an XSS-named merchant stream, payroll;
  recommendations in both windows, the credit-utilization item in both (for the preview's de-duplication), a
  rationale containing <script>alert(1)</script>.
u002 John Smith: subscription-heavy in 30 days, none in 180; a shortfall in 180 days.
u003 Ann Lee: had consent at generation time (so has recommendations) and revoked it afterwards in the opstore.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from spendsense import runs, schema, serving

XSS = "<script>alert(1)</script>"
XSS_MERCHANT = "<img src=x onerror=alert(2)>Cafe"
AS_OF = dt.date(2026, 10, 31)
DISCLOSURE = ("This is educational content, not financial advice. "
              "Consult a licensed advisor for personalized guidance.")

DERIVED_DDL = {
    "signals": "user_id VARCHAR, window_days INTEGER, signal VARCHAR, value DOUBLE, value_text VARCHAR",
    "credit_cards": ("user_id VARCHAR, window_days INTEGER, account_id VARCHAR, mask VARCHAR, card_name VARCHAR, "
                     "balance DOUBLE, credit_limit DOUBLE, utilization DOUBLE, flag_30 BOOLEAN, flag_50 BOOLEAN, "
                     "flag_80 BOOLEAN, minimum_payment_amount DOUBLE, payments_in_window INTEGER, "
                     "minimum_payment_only BOOLEAN, interest_charges DOUBLE, interest_charges_monthly DOUBLE, "
                     "is_overdue BOOLEAN, apr_percentage DOUBLE"),
    "recurring_streams": ("user_id VARCHAR, window_days INTEGER, merchant_key VARCHAR, merchant VARCHAR, "
                          "frequency VARCHAR, occurrences INTEGER, median_gap_days DOUBLE, mean_amount DOUBLE, "
                          "median_amount DOUBLE, amount_stable BOOLEAN, last_date DATE, is_subscription BOOLEAN, "
                          "amount_in_window DOUBLE, transaction_ids VARCHAR[]"),
    "payroll_deposits": ("user_id VARCHAR, window_days INTEGER, transaction_id VARCHAR, account_id VARCHAR, "
                         "date DATE, amount DOUBLE"),
    "skipped_users": "user_id VARCHAR, reason VARCHAR",
    "persona_assignments": ("user_id VARCHAR, window_days INTEGER, persona_id VARCHAR, persona_name VARCHAR, "
                            "matched_personas VARCHAR[], criteria JSON"),
    "recommendations": ("recommendation_id VARCHAR, run_id VARCHAR, user_id VARCHAR, window_days INTEGER, "
                        "kind VARCHAR, item_id VARCHAR, item_version VARCHAR, title VARCHAR, rank INTEGER, "
                        "score DOUBLE, score_persona DOUBLE, score_signal DOUBLE, score_priority DOUBLE, "
                        "score_freshness DOUBLE, persona_id VARCHAR, rationale VARCHAR, facts JSON, "
                        "disclosure VARCHAR, template_id VARCHAR, created_at TIMESTAMP"),
    "decision_traces": "recommendation_id VARCHAR, run_id VARCHAR, user_id VARCHAR, window_days INTEGER, trace JSON",
    "recommendation_shortfalls": ("run_id VARCHAR, user_id VARCHAR, window_days INTEGER, kind VARCHAR, "
                                  "required INTEGER, delivered INTEGER, reason VARCHAR"),
}

USERS = [
    ("u001", "Jane Doe", "25-34", "female", "west", "middle", 710, dt.date(2024, 3, 1)),
    ("u002", "John Smith", "35-44", "male", "south", "low", 640, dt.date(2023, 7, 9)),
    ("u003", "Ann Lee", "45-54", "female", "northeast", "high", 780, dt.date(2022, 1, 15)),
]

ACCOUNTS = [  # account_id, user_id, name, official_name, mask, type, subtype, available, current, limit
    ("a001c", "u001", "Checking", "Everyday Checking", "1111", "depository", "checking", 2500.0, 2500.0, None),
    ("a001v", "u001", "Visa Signature", "Visa Signature Card", "4523", "credit", "credit card", 1600.0, 3400.0,
     5000.0),
    ("a002c", "u002", "Checking", "Basic Checking", "2222", "depository", "checking", 800.0, 800.0, None),
    ("a003c", "u003", "Checking", "Premier Checking", "3333", "depository", "checking", 9100.0, 9100.0, None),
]


def _txn(tid, account, user, date, amount, name, merchant, pfc_primary, pfc_detailed):
    return {"transaction_id": tid, "account_id": account, "date": date, "authorized_date": date, "amount": amount,
            "iso_currency_code": "USD", "name": name, "merchant_name": merchant, "merchant_entity_id": None,
            "payment_channel": "online", "pfc_primary": pfc_primary, "pfc_detailed": pfc_detailed,
            "pfc_confidence_level": "HIGH", "pending": False, "user_id": user}


def transactions() -> list[dict]:
    """Transactions of the three users (Plaid sign: > 0 money out)."""
    d = dt.date
    rows = []
    for i, day in enumerate([d(2026, 8, 5), d(2026, 9, 5), d(2026, 10, 5)]):
        rows.append(_txn(f"t_nf{i}", "a001v", "u001", day, 15.49, "NETFLIX.COM", "Netflix",
                         "ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES"))
        rows.append(_txn(f"t_x{i}", "a001c", "u001", day + dt.timedelta(days=2), 4.5, "CAFE 123", XSS_MERCHANT,
                         "FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE"))
    for i, day in enumerate([d(2026, 9, 15), d(2026, 10, 1), d(2026, 10, 15)]):
        rows.append(_txn(f"t_pay{i}", "a001c", "u001", day, -2000.0, "ACME PAYROLL", "Acme Corp",
                         "INCOME", "INCOME_WAGES"))
    rows.append(_txn("t_rent", "a001c", "u001", d(2026, 10, 2), 1500.0, "Zelle to Jane Doe landlord", None,
                     "RENT_AND_UTILITIES", "RENT_AND_UTILITIES_RENT"))
    for i, day in enumerate([d(2026, 9, 10), d(2026, 10, 10)]):
        rows.append(_txn(f"t_sp{i}", "a002c", "u002", day, 10.99, "SPOTIFY", "Spotify",
                         "ENTERTAINMENT", "ENTERTAINMENT_MUSIC_AND_AUDIO"))
    rows.append(_txn("t_u3", "a003c", "u003", d(2026, 10, 20), 60.0, "GROCER", "Grocer",
                     "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES"))
    return rows


def _criteria(persona_values: dict) -> str:
    rows = []
    for persona, (signal, op, threshold, value) in persona_values.items():
        passed = {">=": value >= threshold, ">": value > threshold}[op]
        rows.append({"persona_id": persona, "signal": signal, "operator": op, "threshold": threshold,
                     "value": value, "passed": passed})
    return json.dumps(rows)


def recommendation_rows(run_id: str) -> list[dict]:
    """Recommendations of the fixture run."""
    created = dt.datetime(2026, 10, 31, 2, 30)

    def rec(user, window, kind, item, title, rank, score, rationale, persona, facts=()):
        return {"recommendation_id": f"r_{user}_{window}_{item}", "run_id": run_id, "user_id": user,
                "window_days": window, "kind": kind, "item_id": item, "item_version": "1", "title": title,
                "rank": rank, "score": score, "score_persona": 1.0, "score_signal": 0.5, "score_priority": 0.6,
                "score_freshness": 1.0, "persona_id": persona, "rationale": rationale,
                "facts": json.dumps(list(facts)), "disclosure": DISCLOSURE, "template_id": f"tpl_{item}",
                "created_at": created}

    util = ("We noticed your Visa ending in 4523 is at 68% utilization ($3,400 of a $5,000 limit). "
            "Bringing this below 30% could improve your credit score.")
    util_facts = [{"signal": "utilization", "value": 0.68, "text": "68%"},
                  {"signal": "balance", "value": 3400, "text": "$3,400"}]
    return [
        rec("u001", 30, "education", "edu_util", "Credit utilization explained", 1, 0.91, util, "high_utilization",
            util_facts),
        rec("u001", 30, "education", "edu_autopay", "Set up autopay", 2, 0.80,
            f"Because {XSS} you pay your card by hand each month.", "high_utilization"),
        rec("u001", 30, "offer", "offer_bt", "Balance-transfer card", 1, 0.70,
            "Your Visa ending in 4523 carries $3,400 at 24% APR.", "high_utilization"),
        rec("u001", 180, "education", "edu_util", "Credit utilization explained", 1, 0.85, util,
            "high_utilization", util_facts),
        rec("u001", 180, "education", "edu_budget", "A 50/30/20 budget", 2, 0.75,
            "Your spending averaged $2,100 a month over six months.", "high_utilization"),
        rec("u001", 180, "offer", "offer_bt", "Balance-transfer card", 1, 0.72,
            "Your Visa ending in 4523 carries $3,400 at 24% APR.", "high_utilization"),
        rec("u002", 30, "education", "edu_subs", "Audit your subscriptions", 1, 0.88,
            "You have 2 recurring subscriptions costing $21.98 a month.", "subscription_heavy"),
        rec("u002", 30, "education", "edu_bills", "Bill alerts", 2, 0.60,
            "Alerts help you see each charge before it posts.", "subscription_heavy"),
        rec("u002", 30, "offer", "offer_subapp", "Subscription manager app", 1, 0.55,
            "Track your 2 subscriptions in one place.", "subscription_heavy"),
        rec("u002", 180, "education", "edu_subs", "Audit your subscriptions", 1, 0.52,
            "You have 2 recurring subscriptions costing $21.98 a month.", "none"),
        rec("u003", 30, "education", "edu_hysa", "High-yield savings basics", 1, 0.66,
            "Your checking balance is $9,100.", "savings_builder"),
    ]


def trace_for(rec: dict) -> dict:
    """A decision trace in the engine's shape (spendsense.recommend.trace_contract: every key, nothing else)."""
    cut = []
    if rec["user_id"] == "u001" and rec["window_days"] == 30 and rec["kind"] == "education":
        cut = [{"item_id": "edu_emergency", "reason": "rank 6: at most 5 education items"}]
    stages = {
        "consent": {"passed": True, "reason": "consent granted on 2026-01-01"},
        "eligibility": {"passed": True, "reason": "income and credit score above minimums",
                        "filtered_out": [{"item_id": "offer_payday", "reason": f"predatory product {XSS}"}]},
        "persona_match": {"passed": True, "reason": f"tagged for the assigned persona {rec['persona_id']}",
                          "component": rec["score_persona"], "filtered_out": []},
        "signal_triggers": {"passed": True, "component": rec["score_signal"], "triggers_total": 1,
                            "matched_triggers": ["max_utilization >= 0.3"],
                            "admitted_by": ["max_utilization = 0.68 (>= 0.3, clears it by 0.38)"],
                            "reason": "1 of 1 triggers matched: max_utilization >= 0.3",
                            "filtered_out": [{"reason": "not relevant: none of its triggers holds for this user "
                                                        "and window", "count": 1, "items": ["edu_overdraft"]}]},
        "recency": {"passed": True, "days_since_last_shown": None, "reason": "never shown to this user",
                    "filtered_out": []},
        "business_rules": {"passed": True, "rank": rec["rank"], "reason": f"rank {rec['rank']} within the cap",
                           "filtered_out": cut},
        "rationale": {"passed": True, "reason": f"rendered with template {rec['template_id']}", "filtered_out": []},
        "tone": {"passed": True, "action": "pass", "matches": [], "reason": "no shaming or judgmental phrases found",
                 "filtered_out": []},
    }
    guardrails = {"consent": {"outcome": "granted", "detail": "granted"},
                  "eligibility": {"outcome": "passed", "detail": "all rules passed"},
                  "recency": {"outcome": "passed", "detail": "never shown to this user"},
                  "tone": {"outcome": "passed", "detail": "no shaming or judgmental phrases found"}}
    same_window = [r for r in recommendation_rows(rec["run_id"])
                   if r["user_id"] == rec["user_id"] and r["window_days"] == rec["window_days"]]
    return {
        "recommendation_id": rec["recommendation_id"],
        "context_id": f"ctx_{rec['user_id']}_{rec['window_days']}",
        "run_id": rec["run_id"],
        "user_id": rec["user_id"],
        "window_days": rec["window_days"],
        "as_of": AS_OF.isoformat(),
        "created_at": str(rec["created_at"]),
        "item": {"item_id": rec["item_id"], "kind": rec["kind"], "version": 1, "persona_tags": [rec["persona_id"]]},
        "inputs": {"signals": {"max_utilization": 0.68, "subscription_share": 0.05},
                   "persona": {"persona_id": rec["persona_id"], "persona_name": rec["persona_id"],
                               "matched_personas": [rec["persona_id"]], "criteria_matched": []},
                   "eligibility_features": {"credit_score": 710.0, "annual_income": 52000.0,
                                            "max_utilization": 0.68, "account_subtypes": ["checking"]},
                   "consent": {"status": "granted", "occurred_at": "2026-01-01 09:00:00"},
                   "history": []},
        "stages": stages,
        "selected": {kind: [r["item_id"] for r in same_window if r["kind"] == kind] for kind in ("education", "offer")},
        "score": {"total": rec["score"], "rank": rec["rank"],
                  "components": {"persona": rec["score_persona"], "signal": rec["score_signal"],
                                 "priority": rec["score_priority"], "freshness": rec["score_freshness"]},
                  "weights": {"persona": 0.4, "signal": 0.3, "priority": 0.2, "freshness": 0.1}},
        "template_id": rec["template_id"],
        "rationale": {"requested_template_id": rec["template_id"], "template_id": rec["template_id"],
                      "template_version": 1, "values": {}, "text_before_rewrite": None},
        "guardrails": guardrails,
        "what_would_change": {"target_persona_id": None, "text": None, "customer_text": None, "changes": []},
        "rules": {"education": {"max": 5, "min": 3}, "offers": {"max": 3, "min": 1}, "per_partner_cap": 1,
                  "recency_days": 30},
        "versions": {"config": "cfg-1", "config_files": {}, "content": "content-1", "code": {"version": "0.1.0"}},
    }


def list_shaped(trace: dict) -> dict:
    """The trace with stages and guardrails as lists of records (a shape the trace renderer also accepts)."""
    return {**trace, "stages": [{"stage": k, **v} for k, v in trace["stages"].items()],
            "guardrails": [{"name": k, **v} for k, v in trace["guardrails"].items()]}


def build_warehouse(path: Path, run_id: str) -> None:
    """Write the fixture warehouse (raw tables per spendsense.schema, derived tables per docs/schema.md)."""
    con = duckdb.connect(str(path))
    try:
        for table in schema.TABLE_ORDER:
            cols = ", ".join(f'"{c.name}" {c.dtype}' for c in schema.TABLES[table])
            extra = ", user_id VARCHAR" if table == "transactions" else ""
            con.execute(f"create table {table} ({cols}{extra})")
        users = pd.DataFrame(USERS, columns=[c.name for c in schema.TABLES["users"]])
        con.register("users_df", users)
        con.execute("insert into users select * from users_df")
        consent = pd.DataFrame([(f"ce_{u}", u, "granted", dt.datetime(2026, 1, 1, 9), "signup", u)
                                for u, *_ in USERS], columns=[c.name for c in schema.TABLES["consent_events"]])
        con.register("consent_df", consent)
        con.execute("insert into consent_events select * from consent_df")
        accounts = pd.DataFrame([a + ("USD", "personal") for a in ACCOUNTS],
                                columns=[c.name for c in schema.TABLES["accounts"]])
        con.register("accounts_df", accounts)
        con.execute("insert into accounts select * from accounts_df")
        txns = pd.DataFrame(transactions())
        con.register("txn_df", txns)
        con.execute("insert into transactions by name select * from txn_df")
        con.execute("insert into credit_liabilities values ('a001v', false, 120, '2026-10-10', 3400, '2026-10-01', "
                    "102, '2026-11-10')")
        con.execute("insert into credit_aprs values ('a001v', 'purchase_apr', 24.0, 3400, 68)")

        for table, ddl in DERIVED_DDL.items():
            con.execute(f"create table {table} ({ddl})")
        sig = []
        for w in (30, 180):
            sig += [("u001", w, "max_utilization", 0.68, None), ("u001", w, "subscription_share", 0.05 - w / 10000, None),
                    ("u001", w, "avg_monthly_income", 4000.0 + w, None), ("u001", w, "pay_frequency", None, "biweekly"),
                    ("u002", w, "max_utilization", 0.0, None), ("u002", w, "subscription_share", 0.3, None),
                    ("u003", w, "max_utilization", 0.0, None), ("u003", w, "savings_balance", 9100.0, None)]
        con.executemany("insert into signals values (?, ?, ?, ?, ?)", sig)
        for w in (30, 180):
            con.execute("insert into credit_cards values ('u001', ?, 'a001v', '4523', 'Visa Signature', 3400, 5000, "
                        "0.68, true, true, false, 102, 1, true, 68, 68, false, 24.0)", [w])
        con.execute("insert into recurring_streams values ('u001', 180, 'netflix', 'Netflix', 'MONTHLY', 3, 31, "
                    "15.49, 15.49, true, '2026-10-05', true, 46.47, ['t_nf0', 't_nf1', 't_nf2'])")
        con.execute("insert into recurring_streams values ('u001', 180, 'cafe', ?, 'MONTHLY', 3, 31, 4.5, 4.5, true, "
                    "'2026-10-07', false, 13.5, ['t_x0', 't_x1', 't_x2'])", [XSS_MERCHANT])
        con.execute("insert into recurring_streams values ('u001', 30, 'netflix', 'Netflix', 'MONTHLY', 1, null, "
                    "15.49, 15.49, true, '2026-10-05', true, 15.49, ['t_nf2'])")
        con.execute("insert into recurring_streams values ('u002', 180, 'spotify', 'Spotify', 'MONTHLY', 2, 30, "
                    "10.99, 10.99, true, '2026-10-10', true, 21.98, ['t_sp0', 't_sp1'])")
        for w, tids in ((30, ("t_pay1", "t_pay2")), (180, ("t_pay0", "t_pay1", "t_pay2"))):
            for tid in tids:
                con.execute("insert into payroll_deposits select user_id, ?, transaction_id, account_id, date, "
                            "-amount from transactions where transaction_id = ?", [w, tid])
        personas = [
            ("u001", 30, "high_utilization", "High Utilization", ["high_utilization"],
             _criteria({"high_utilization": ("max_utilization", ">=", 0.5, 0.68),
                        "subscription_heavy": ("subscription_share", ">=", 0.1, 0.047)})),
            ("u001", 180, "high_utilization", "High Utilization", ["high_utilization"],
             _criteria({"high_utilization": ("max_utilization", ">=", 0.5, 0.68),
                        "subscription_heavy": ("subscription_share", ">=", 0.1, 0.032)})),
            ("u002", 30, "subscription_heavy", "Subscription-Heavy", ["subscription_heavy"],
             _criteria({"subscription_heavy": ("subscription_share", ">=", 0.1, 0.3)})),
            ("u002", 180, "none", "No persona", [], _criteria({"subscription_heavy": ("subscription_share", ">=", 0.5, 0.3)})),
            ("u003", 30, "savings_builder", "Savings Builder", ["savings_builder"],
             _criteria({"savings_builder": ("savings_balance", ">=", 5000, 9100)})),
            ("u003", 180, "none", "No persona", [], _criteria({"savings_builder": ("savings_balance", ">", 10000, 9100)})),
        ]
        con.executemany("insert into persona_assignments values (?, ?, ?, ?, ?, ?)", personas)
        recs = pd.DataFrame(recommendation_rows(run_id))
        con.register("recs_df", recs)
        con.execute("insert into recommendations by name select * from recs_df")
        traces = pd.DataFrame([{"recommendation_id": r["recommendation_id"], "run_id": run_id,
                                "user_id": r["user_id"], "window_days": r["window_days"],
                                "trace": json.dumps(trace_for(r))} for r in recommendation_rows(run_id)])
        con.register("traces_df", traces)
        con.execute("insert into decision_traces by name select * from traces_df")
        con.execute("insert into recommendation_shortfalls values (?, 'u002', 180, 'education', 3, 1, "
                    "'only 1 education item matched the signals')", [run_id])
    finally:
        con.close()


METRICS = {
    "coverage": {"value": 1.0, "users": 3},
    "explainability": {"value": 1.0},
    "latency": {"single_user_p50_ms": 12.0, "single_user_p95_ms": 30.0},
    "fairness": [
        {"outcome": "offer_delivered", "attribute": "income_tier", "parity_ratio": 0.6, "verdict": "flag"},
        {"outcome": "persona_assigned", "attribute": "region", "parity_ratio": 0.95, "verdict": "ok"},
    ],
}


def build_run(root: Path, run_id: str = "20261031T023000Z", publish: bool = True) -> Path:
    """Stage and (optionally) publish a fixture run under a runs folder; returns the run directory."""
    staged = runs.staging_dir(run_id, root)
    staged.mkdir(parents=True)
    build_warehouse(staged / runs.WAREHOUSE, run_id)
    serving.write_index(staged / runs.WAREHOUSE)  # as every publish does (spendsense.notebook_runner)
    (staged / "metrics.json").write_text(json.dumps({"run_id": run_id, **METRICS}, indent=2))
    (staged / "params.yaml").write_text(yaml.safe_dump({"run_id": run_id, "as_of": AS_OF.isoformat()}))
    return runs.publish(staged, root) if publish else staged


def copy_run(src: Path, root: Path, run_id: str) -> Path:
    """Stage a copy of a run's files under a new run id (the recommendation ids stay those of src)."""
    staged = runs.staging_dir(run_id, root)
    staged.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, staged)
    return staged


def seed_opstore(opstore_path: Path) -> None:
    """Copy the fixture consent events into the opstore and record u003's later revocation."""
    from spendsense import opstore

    con = opstore.connect(opstore_path)
    try:
        for user_id, *_ in USERS:
            opstore.record_consent(con, user_id, "granted", "signup", user_id,
                                   occurred_at=dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC))
        opstore.record_consent(con, "u003", "revoked", "app", "u003",
                               occurred_at=dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC))
    finally:
        con.close()
