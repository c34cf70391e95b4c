"""The Spark side of the standalone-cluster parity test, as its own driver process: signals, personas and
recommendations on a copy of the ingested warehouse, on the master SPARK_CONF_DIR/spark-defaults.conf names."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_spark_parity import run_engine  # the same steps as the local parity run

if __name__ == "__main__":
    work, raw, opstore = (Path(a) for a in sys.argv[1:4])
    print(run_engine(work, raw, opstore, "spark"))
