"""`spendsense run` reads the raw store as of a batch: params.yaml records it, the raw tables are views."""

import duckdb
import pytest
import yaml

pytestmark = pytest.mark.slow


def test_a_run_records_its_batch_and_reads_the_raw_store_through_views(first_run, run_env):
    params = yaml.safe_load((first_run / "params.yaml").read_text())
    assert params["batch"] == 1
    # a synthetic dataset keeps its own store beside it: <data_dir>/raw/<dataset name>
    assert params["raw_store"] == str((run_env["base"] / "synthetic" / "raw" / "seed42_n40_2026-10-31").resolve())
    with duckdb.connect(str(first_run / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select batch_id, raw_store from raw_store.batch").fetchall() == [(1, params["raw_store"])]
        kinds = dict(con.execute("select table_name, table_type from information_schema.tables"
                                 " where table_schema = 'main' and table_name in ('users', 'transactions')").fetchall())
        assert kinds == {"users": "VIEW", "transactions": "VIEW"}
        versions = con.execute("select distinct versions from decision_contexts").fetchall()
    assert versions and all('"raw_batch": 1' in v or '"raw_batch":1' in v for (v,) in versions)
