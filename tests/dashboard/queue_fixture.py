"""The fixture run grown for the review-queue browser tests: 60 more consenting users (u100-u159), each with the
credit-utilization item in both windows and a balance-transfer offer in 30 days (180 more recommendations, 190
waiting in all). Scores are 0.30 + (i % 50) / 100 for the education items and 0.25 + (i % 40) / 100 for offers;
personas alternate high_utilization / subscription_heavy.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import fixture_run

from spendsense import runs

EXTRA_USERS = 60
WAITING = 10 + 3 * EXTRA_USERS  # the fixture's 10 (u001, u002) + 3 per added user
OFFERS = 3 + EXTRA_USERS  # u001's offer_bt in both windows, u002's offer_subapp, one per added user


def build_run(root: Path, run_id: str = "20261031T023000Z") -> Path:
    """Stage the fixture run, add the users and recommendations above, publish it; returns the run directory."""
    staged = fixture_run.build_run(root, run_id, publish=False)
    con = duckdb.connect(str(staged / runs.WAREHOUSE))
    try:
        con.execute("""
            insert into users (user_id, name, age_band, gender, region, income_tier, credit_score, created_at)
            select 'u' || (100 + i), 'Test Person' || i, '25-34', 'female', 'west', 'middle', 700, date '2024-01-01'
            from range($n) t(i)""", {"n": EXTRA_USERS})
        con.execute("""
            insert into consent_events (event_id, user_id, event, occurred_at, source, actor)
            select 'ce_u' || (100 + i), 'u' || (100 + i), 'granted', timestamp '2026-01-01 09:00', 'signup',
                   'u' || (100 + i) from range($n) t(i)""", {"n": EXTRA_USERS})
        con.execute("""
            insert into recommendations by name
            select 'r_u' || (100 + i) || '_' || w || '_' || item as recommendation_id, $run_id as run_id,
                   'u' || (100 + i) as user_id, w as window_days, kind, item as item_id, '1' as item_version,
                   title, 1 as rank,
                   case when kind = 'offer' then 0.25 + (i % 40) / 100 else 0.30 + (i % 50) / 100 end as score,
                   1.0 as score_persona, 0.5 as score_signal, 0.6 as score_priority, 1.0 as score_freshness,
                   case when i % 2 = 0 then 'high_utilization' else 'subscription_heavy' end as persona_id,
                   'Your utilization is ' || (30 + i) || '% this month.' as rationale, '[]' as facts,
                   $disclosure as disclosure, 'tpl_' || item as template_id,
                   timestamp '2026-10-31 02:30' as created_at
            from range($n) t(i),
                 (values (30, 'education', 'edu_util', 'Credit utilization explained'),
                         (180, 'education', 'edu_util', 'Credit utilization explained'),
                         (30, 'offer', 'offer_bt', 'Balance-transfer card')) v(w, kind, item, title)""",
                    {"n": EXTRA_USERS, "run_id": run_id, "disclosure": fixture_run.DISCLOSURE})
    finally:
        con.close()
    return runs.publish(staged, root)
