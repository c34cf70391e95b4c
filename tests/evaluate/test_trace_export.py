"""The decision-trace export: the typed facts as zstd Parquet, traces rendered from it equal the warehouse's,
and the audit counted from the typed tables."""

import json

import duckdb
import pyarrow.parquet as pq
import pytest

from spendsense.evaluate.store import EXPORTED, export_traces, part_name, render_traces, trace_audit
from spendsense.recommend.store import create_tables

VERSIONS = json.dumps({"content": "c1", "config": "g1", "code": {"commit": "abc", "dirty": False}})


@pytest.fixture
def con():
    """A warehouse with the recommend step's real tables: 3 users x 2 windows x 2 recommendations, with gaps."""
    con = duckdb.connect()
    create_tables(con)
    for u in range(3):
        for w in (30, 180):
            ctx = f"c{u}{w}"
            versions = None if (u, w) == (2, 180) else VERSIONS          # no versions: both traces incomplete
            con.execute("insert into decision_contexts (context_id, run_id, user_id, window_days, persona_id,"
                        " versions) values (?, 'run', ?, ?, 'p1', ?)", [ctx, f"u{u}", w, versions])
            for k in range(2):
                rid = f"r{u}{w}{k}"
                template = None if rid == "r0300" else "t1"              # no template: incomplete
                con.execute("insert into recommendations (recommendation_id, run_id, user_id, window_days, kind,"
                            " item_id, rank, score, template_id) values (?, 'run', ?, ?, 'education', ?, ?, 0.5, ?)",
                            [rid, f"u{u}", w, f"item{k}", k + 1, template])
                if rid != "r11801":                                       # no trace row at all
                    con.execute("insert into recommendation_traces (recommendation_id, run_id, user_id, window_days,"
                                " context_id, kind_count, triggers_total) values (?, 'run', ?, ?, ?, 2, 1)",
                                [rid, f"u{u}", w, ctx])
    return con


def test_audit_counts_from_typed_tables(con):
    # 12 recommendations; r11801 has no trace (11); r0300 lacks a template, r21800/r21801 lack versions (8 complete)
    assert trace_audit(con).iloc[0].to_dict() == {"recommendations": 12, "with_trace": 11, "complete": 8}


def test_a_trace_whose_context_is_missing_is_not_a_trace(con):
    con.execute("delete from decision_contexts where context_id = 'c030'")
    assert trace_audit(con).iloc[0].to_dict() == {"recommendations": 12, "with_trace": 9, "complete": 7}


def test_export_renders_the_same_traces_as_the_warehouse(con, tmp_path):
    out = tmp_path / "run" / "decision_traces"
    audit = export_traces(con, out)
    assert audit.iloc[0].to_dict() == {"recommendations": 12, "with_trace": 11, "complete": 8}
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORTED)
    for table in EXPORTED:
        assert [p.name for p in (out / table).iterdir()] == [part_name(0)]
        meta = pq.ParquetFile(out / table / part_name(0)).metadata
        assert meta.num_rows == con.execute(f"select count(*) from {table}").fetchone()[0]
        assert meta.row_group(0).column(0).compression == "ZSTD"
    want = con.execute("select * from decision_traces order by user_id, window_days, recommendation_id").df()
    got = render_traces(out)
    assert len(got) == 11
    assert got.equals(want)
    one = render_traces(out, user_id="u1")
    assert one["recommendation_id"].tolist() == ["r1300", "r1301", "r11800"]
    assert json.loads(one["trace"][0])["versions"]["content"] == "c1"


def test_export_in_user_ranges_holds_each_users_rows_in_their_range_part_in_order(con, tmp_path):
    out = tmp_path / "decision_traces"
    export_traces(con, out, [("u0", "u0"), ("u1", "u2")])
    for table in EXPORTED:
        parts = sorted((out / table).iterdir())
        assert [p.name for p in parts] == [part_name(0), part_name(1)]
        first, second = (pq.read_table(p).to_pandas() for p in parts)
        assert set(first["user_id"]) == {"u0"} and set(second["user_id"]) == {"u1", "u2"}
        rows = duckdb.sql(f"select user_id, window_days from read_parquet('{out / table}/part-*.parquet')").fetchall()
        assert rows == sorted(rows) and len(rows) == con.execute(f"select count(*) from {table}").fetchone()[0]
    want = con.execute("select * from decision_traces order by user_id, window_days, recommendation_id").df()
    assert render_traces(out).equals(want)


def test_export_replaces_an_earlier_export_whole(con, tmp_path):
    out = tmp_path / "decision_traces"
    out.mkdir()
    (out / "stale.parquet").write_text("from an earlier export")
    export_traces(con, out)
    assert not (out / "stale.parquet").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["decision_traces"]   # no temporary folder left behind
