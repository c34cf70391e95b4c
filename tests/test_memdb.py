"""The shared in-memory DuckDB: each cursor sees only what it registered, and a closed cursor leaves nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from spendsense import consent, memdb


def test_cursors_do_not_see_each_others_frames():
    with memdb.cursor() as a, memdb.cursor() as b:
        a.register("frame", pd.DataFrame({"x": [1, 2]}))
        b.register("frame", pd.DataFrame({"x": [10]}))
        assert a.execute("select sum(x) from frame").fetchall() == [(3,)]
        assert b.execute("select sum(x) from frame").fetchall() == [(10,)]
    with memdb.cursor() as c, pytest.raises(Exception, match="frame"):
        c.execute("select * from frame").fetchall()


def test_consent_rule_on_the_shared_database_twice():
    events = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "event": ["granted", "revoked", "granted"],
                           "occurred_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-05"])})
    for _ in range(2):  # the second call reuses the database the first opened
        status = consent.latest_status(events)
        assert dict(zip(status["user_id"], status["status"], strict=True)) == {"u1": "revoked", "u2": "granted"}
