"""The API answers a person's recommendations the same from the run's serving index as from its warehouse."""

from __future__ import annotations

import duckdb

from spendsense import runs, serving


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


def test_the_items_answered_are_the_previews_frame_as_records(runs_root, opstore_path, token, make_app):
    from fastapi.testclient import TestClient

    from spendsense.api.views import plain, records
    from spendsense.dashboard.access import DashboardData

    with TestClient(make_app()) as client:
        for rec_id in ("r_u001_30_edu_util", "r_u002_30_edu_budget"):
            client.post(f"/v1/operator/review/{rec_id}", json={"action": "approve"}, headers=token("operator"))
    data = DashboardData(runs_root=runs_root, role="operator", operator="t", opstore_path=opstore_path)
    try:
        shown = 0
        for user_id in ("u001", "u002", "u003", "u004"):
            if not data.has_user(user_id):
                continue
            preview = data.customer_preview(user_id)
            assert plain(preview.rows) == records(preview.items), user_id
            shown += len(preview.rows)
        assert shown > 0
    finally:
        data.close()


def test_a_newly_published_run_is_served_once_latest_is_looked_at_again(runs_root, client, token, monkeypatch):
    import fixture_run

    from spendsense.api import views

    as_of = lambda: client.get("/v1/runs/latest", headers=token("analyst")).json()["data"]["as_of"]
    first = as_of()
    staged = fixture_run.copy_run(runs.latest_run_dir(runs_root), runs_root, "20261101T023000Z")
    (staged / "params.yaml").write_text("run_id: 20261101T023000Z\nas_of: '2026-11-01'\n")
    runs.publish(staged, runs_root)
    monkeypatch.setattr(views, "LATEST_CHECK_SECONDS", 0.0)  # the next call looks at `latest` again
    assert as_of() == "2026-11-01" != first
