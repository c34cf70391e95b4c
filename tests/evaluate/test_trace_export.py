"""The streamed decision-trace export: same file as DuckDB's ordered COPY, audit counts from the same pass."""

import copy
import json

import duckdb
import pytest

from spendsense.evaluate.store import export_traces

COMPLETE = {"inputs": {"signals": {"x": 1}, "persona": None}, "stages": {}, "score": {"components": {}},
            "template_id": "t1", "guardrails": {}, "versions": {"content": "c", "config": "g", "code": {}}}


@pytest.fixture
def con():
    """A warehouse with recommendations and a decision_traces table shaped like the view."""
    con = duckdb.connect()
    con.execute("create table recommendations (recommendation_id varchar, user_id varchar, window_days integer)")
    con.execute("create table decision_traces (recommendation_id varchar, run_id varchar, user_id varchar,"
                " window_days integer, trace json)")
    rows, traces = [], []
    for u in range(7):
        for w in (180, 30):
            for k in range(3):
                rid = f"r{u}{w}{2 - k}"
                rows.append((rid, f"u{u:02d}", w))
                trace = copy.deepcopy(COMPLETE) | {"recommendation_id": rid, "note": 'quote " and é'}
                if rid == "r1302":
                    trace["template_id"] = None          # a null template_id is incomplete
                if rid == "r2301":
                    del trace["versions"]["code"]        # so is a missing part
                if rid != "r31800":                      # no trace at all
                    traces.append((rid, "run", f"u{u:02d}", w, json.dumps(trace)))
    rows.append(("orphan", None, 30))                    # a recommendation without a user has no trace
    con.executemany("insert into recommendations values (?, ?, ?)", rows)
    # traces as the view renders them: serialized by DuckDB (to_json), which the export embeds as they are
    con.executemany("insert into decision_traces values (?, ?, ?, ?, json(?))", traces)
    return con


@pytest.mark.parametrize("chunk_rows", [1, 5, 1000])
def test_export_equals_ordered_copy(con, tmp_path, chunk_rows):
    want = tmp_path / "copy.jsonl"
    con.execute("copy (select recommendation_id, user_id, window_days, trace::json as trace from decision_traces"
                " order by user_id, window_days, recommendation_id) to $path (format json)", {"path": str(want)})
    got = tmp_path / "export.jsonl"
    audit = export_traces(con, got, chunk_rows=chunk_rows)
    assert got.read_bytes() == want.read_bytes()
    assert audit.iloc[0].to_dict() == {"recommendations": 43, "with_trace": 41, "complete": 39}
