"""The API answers a person's recommendations the same from the run's serving index as from its warehouse."""

from __future__ import annotations

import duckdb

from spendsense import runs
from spendsense.dashboard.data import serving


def test_api_answers_the_same_without_the_index(runs_root, make_app, token):
    from fastapi.testclient import TestClient

    run_dir = runs.latest_run_dir(runs_root)
    with duckdb.connect(str(run_dir / runs.WAREHOUSE), read_only=True) as con:
        users = [r[0] for r in con.execute("select user_id from users order by 1").fetchall()]

    def answers() -> list[dict]:
        with TestClient(make_app()) as client:
            out = []
            for user_id in users:
                body = client.get(f"/v1/recommendations/{user_id}?include=trace", headers=token("admin")).json()
                out.append({k: body[k] for k in ("status", "data", "message")})
            return out

    with TestClient(make_app()) as client:  # an approved item, so the customer's view is not empty
        assert client.post("/v1/operator/review/r_u001_30_edu_util", json={"action": "approve"},
                           headers=token("operator")).status_code == 201
    with_index = answers()
    (run_dir / serving.FILE).unlink()
    assert answers() == with_index
    assert sum(len(a["data"]["recommendations"]) for a in with_index if a["data"]) > 0
    assert sum(len(a["data"]["items"]) for a in with_index if a["data"]) > 0
