"""Speed work must not change results: every output on the default data equals the golden copy.

The golden copy (tests/golden/default/) was written before the issue-7 optimizations; see golden_outputs.py.
"""

import pandas as pd
import pytest
from golden_outputs import canonical, pipeline_outputs, read_golden, write_golden

pytestmark = pytest.mark.slow  # runs the whole pipeline once (about 20 s)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Today's outputs, stored and read back exactly as the golden copy was."""
    work = tmp_path_factory.mktemp("golden-run")
    tables, metrics = pipeline_outputs(work)
    write_golden(tables, metrics, work / "out")
    return read_golden(work / "out")


@pytest.fixture(scope="module")
def golden():
    """The stored golden outputs."""
    return read_golden()


def test_same_tables(outputs, golden):
    assert sorted(outputs[0]) == sorted(golden[0])


@pytest.mark.parametrize("table", sorted(read_golden()[0]))
def test_table_identical(outputs, golden, table):
    got, want = canonical(outputs[0][table]), canonical(golden[0][table])
    assert list(got.columns) == list(want.columns), f"{table}: columns changed"
    assert len(got) == len(want), f"{table}: {len(got)} rows, golden has {len(want)}"
    for col in want.columns:
        # floats may differ in the last bits when a sum is reordered; anything beyond 1e-9 relative is a change
        try:
            pd.testing.assert_series_equal(got[col], want[col], check_exact=False, rtol=1e-9, obj=f"{table}.{col}")
        except AssertionError:
            differs = (got[col].astype(str) != want[col].astype(str)).to_numpy().nonzero()[0][:3]
            shown = "\n".join(f"  row {i}: got {str(got[col].iloc[i])[:200]!r}, golden {str(want[col].iloc[i])[:200]!r}"
                              for i in differs)
            pytest.fail(f"{table}.{col} differs from the golden copy ({got[col].dtype} vs {want[col].dtype}):\n{shown}")


def test_metrics_identical(outputs, golden):
    assert outputs[1] == golden[1]
