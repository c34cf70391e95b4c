"""Every output of the data pipeline on the default data, in canonical form, for the before/after comparison.

The golden copy in tests/golden/default/ was written by the pipeline as it was before the speed work of issue 7;
tests/pipeline/test_golden_outputs.py recomputes everything and compares. To refresh it after an intended change
of results (and only then, saying why in the commit):

    .venv/bin/python tests/pipeline/golden_outputs.py --write
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import re
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from spendsense import pipeline
from spendsense.evaluate.store import render_traces
from spendsense.params import default_run_params

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden" / "default"
RUN_ID = "golden"
CREATED_AT = dt.datetime(2026, 11, 1, 9, 0, 0)
VOLATILE_METRICS = ("latency", "run_id")  # wall-clock timings and the run folder's name
# git commit and dirty flag recorded in every trace, in any JSON or Python spelling
CODE_VERSION = re.compile(r"""(["'])code\1\s*:\s*\{[^}]*\}""")


def without_code_version(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns with the recorded code version blanked: the commit changes with every commit."""
    out = frame.copy()
    for col in out.columns:
        text = out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype)
        if text and out[col].map(lambda v: isinstance(v, str)).any():
            out[col] = out[col].map(lambda v: CODE_VERSION.sub('"code": {}', v) if isinstance(v, str) else v)
    return out


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by every column's text, index reset, so row order never counts as a difference."""
    if frame.empty:
        return frame.reset_index(drop=True)
    keys = frame.astype(str)
    order = keys.sort_values(list(keys.columns), kind="mergesort").index
    return frame.loc[order].reset_index(drop=True)


def warehouse_tables(warehouse: Path) -> dict[str, pd.DataFrame]:
    """Every table and view of the warehouse, canonical."""
    with pipeline.connect(warehouse, read_only=True) as con:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' order by 1").fetchall()]
        return {name: canonical(without_code_version(con.execute(f'select * from "{name}"').df()))
                for name in names}


def stable_metrics(metrics: dict) -> dict:
    """metrics.json without wall-clock timings and run names."""
    return {k: v for k, v in metrics.items() if k not in VOLATILE_METRICS}


def exported_traces(run_dir: Path) -> pd.DataFrame:
    """The run's exported decision facts rendered back into traces, parsed (as the traces file used to be)."""
    rendered = render_traces(run_dir / pipeline.DECISION_TRACES)
    lines = "".join(json.dumps({"recommendation_id": r.recommendation_id, "user_id": r.user_id,
                                "window_days": int(r.window_days)})[:-1] + ',"trace":' + r.trace + "}\n"
                    for r in rendered.itertuples())
    return pd.read_json(io.StringIO(lines), lines=True, dtype=False).astype(str)


def pipeline_outputs(work: Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """Run generate → ingest → signals → personas → recommend → evaluate on the default parameters in work/."""
    p = default_run_params()
    dataset = work / "dataset"
    warehouse, opstore, run_dir = work / "warehouse.duckdb", work / "opstore.sqlite", work / "run"
    pipeline.prepare_dataset("synthetic", dataset, p.n_users, p.seed, p.as_of, progress=False)
    pipeline.ingest_dataset(dataset, warehouse, opstore, progress=False)
    pipeline.signals_step(warehouse, opstore, p.as_of, p.windows)
    pipeline.personas_step(warehouse)
    pipeline.recommend_step(warehouse, opstore, RUN_ID, p.as_of, created_at=CREATED_AT)
    run_dir.mkdir()
    pipeline.evaluate_step(warehouse, run_dir, opstore, dataset, p.as_of, replay_sample=p.replay_sample,
                           latency_sample=2)
    tables = warehouse_tables(warehouse)
    tables["decision_traces_export"] = canonical(without_code_version(exported_traces(run_dir)))
    metrics = stable_metrics(json.loads((run_dir / "metrics.json").read_text()))
    return tables, metrics


def write_golden(tables: dict[str, pd.DataFrame], metrics: dict, out: Path = GOLDEN_DIR) -> None:
    """Store the outputs as one zstd Parquet file per table plus metrics.json."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.parquet"):
        old.unlink()
    for name, frame in tables.items():
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out / f"{name}.parquet",
                       compression="zstd")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n")


def read_golden(out: Path = GOLDEN_DIR) -> tuple[dict[str, pd.DataFrame], dict]:
    """The stored golden outputs."""
    tables = {p.stem: pd.read_parquet(p) for p in sorted(out.glob("*.parquet"))}
    return tables, json.loads((out / "metrics.json").read_text())


def main(argv: list[str] | None = None) -> int:
    """Recompute the outputs and write them as the new golden copy (--write) or report row counts."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"overwrite {GOLDEN_DIR}")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="spendsense-golden-") as tmp:
        tables, metrics = pipeline_outputs(Path(tmp))
    for name, frame in tables.items():
        print(f"  {name:<28}{len(frame):>8} rows")
    if args.write:
        write_golden(tables, metrics)
        print(f"written to {GOLDEN_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
