"""The Spark session of a run: `local[*]` unless the user gives a master (or SPARK_CONF_DIR configures one)."""

from __future__ import annotations

import os
import sys

DEFAULT_MASTER = "local[*]"
# settings the signal SQL depends on (docs/scale-out.md): DuckDB semantics for out-of-range list indexes and
# arithmetic (Spark 4 turns ANSI mode on by default), session-local dates, Arrow for pandas exchange
REQUIRED_CONF = {
    "spark.sql.ansi.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
# defaults a user's conf may override: no console progress bars (the run prints its own progress per step)
DEFAULT_CONF = {"spark.ui.showConsoleProgress": "false"}
LOCAL_HEAP_SHARE, LOCAL_HEAP_MAX_GB = 0.5, 16  # local mode: the driver JVM is every executor; Spark's 1g spills
PYTHON_CONF = "spark.pyspark.python"  # the executors' Python (a cluster's venv or conda env with spendsense)
LOCAL_PARTITIONS_PER_CORE = 4  # local mode: Spark's 200 shuffle partitions are 200 tiny tasks per shuffle


def spark_session(master: str | None = None, app_name: str = "spendsense", conf: dict[str, str] | None = None):
    """A SparkSession for the Spark engine: the given master, else the one SPARK_CONF_DIR's
    spark-defaults.conf (or spark-submit) sets, else local[*]; REQUIRED_CONF always applied."""
    from pyspark.sql import SparkSession

    local = (master or DEFAULT_MASTER).startswith("local") and not configured_master()
    python = executor_python(conf)
    if python:  # a driver started from Python (not spark-submit) takes the executors' Python from the environment
        os.environ.setdefault("PYSPARK_PYTHON", python)
    if local:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local workers: this interpreter's packages
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode binds loopback only
    builder = SparkSession.builder.appName(app_name)
    defaults = {**DEFAULT_CONF, **(local_conf(local_cores(master), physical_memory_bytes()) if local else {})}
    if master:
        builder = builder.master(master)
    elif not configured_master():
        builder = builder.master(DEFAULT_MASTER)
    for key, value in {**defaults, **(conf or {}), **REQUIRED_CONF}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in REQUIRED_CONF.items():  # a session that already existed gets them too
        spark.conf.set(key, value)
    if not os.environ.get("SPARK_CONF_DIR"):  # without the user's own log4j2 settings: errors only
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def local_conf(cores: int, memory_bytes: int) -> dict[str, str]:
    """Local-mode defaults sized to the machine (measured in docs/scale-out.md): a driver heap of half its memory
    (at most 16 GB, at least 1 GB) and 4 shuffle partitions per core."""
    heap_gb = max(1, min(LOCAL_HEAP_MAX_GB, int(memory_bytes * LOCAL_HEAP_SHARE / 2**30)))
    return {"spark.driver.memory": f"{heap_gb}g",
            "spark.sql.shuffle.partitions": str(max(1, cores) * LOCAL_PARTITIONS_PER_CORE)}


def local_cores(master: str | None) -> int:
    """The cores a local master runs on: N of local[N] (or local[N,F]), else this machine's."""
    inside = (master or DEFAULT_MASTER).partition("[")[2].rstrip("]").split(",")[0].strip()
    return int(inside) if inside.isdigit() and int(inside) > 0 else os.cpu_count() or 1


def physical_memory_bytes() -> int:
    """This machine's physical memory (0 where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def configured_master() -> str | None:
    """The master spark-submit or SPARK_CONF_DIR/spark-defaults.conf sets, if any."""
    if os.environ.get("PYSPARK_GATEWAY_PORT"):  # launched by spark-submit: its --master is already in effect
        return "spark-submit"
    return configured("spark.master")


def executor_python(conf: dict[str, str] | None = None) -> str | None:
    """The Python the executors run (spark.pyspark.python from the given conf, else spark-defaults.conf)."""
    return (conf or {}).get(PYTHON_CONF) or configured(PYTHON_CONF)


def configured(key: str) -> str | None:
    """A setting of SPARK_CONF_DIR/spark-defaults.conf, if the file sets it."""
    conf_dir = os.environ.get("SPARK_CONF_DIR")
    if conf_dir and os.path.exists(defaults := os.path.join(conf_dir, "spark-defaults.conf")):
        with open(defaults, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split(None, 1)
                if len(parts) == 2 and parts[0] == key:
                    return parts[1].strip()
    return None
