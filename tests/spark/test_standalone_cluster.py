"""The Spark engine on a real standalone cluster (a master and a worker, each its own JVM, executors apart from
the driver), configured only through SPARK_CONF_DIR as docs/scale-out.md says: every table equals the DuckDB
run's. Minutes of JVM start-up: `make test-spark` (SPENDSENSE_SPARK_PARITY=1), not the normal suite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_spark_parity import assert_runs_equal, run_engine, tables

from spendsense import pipeline
from spendsense.params import default_run_params

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.environ.get("SPENDSENSE_SPARK_PARITY"),
                                 reason="standalone Spark cluster run: `make test-spark`")]
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_class(*args: str, env: dict, log: Path) -> subprocess.Popen:
    import pyspark

    script = Path(pyspark.__file__).parent / "bin" / "spark-class"
    return subprocess.Popen([str(script), *args], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@pytest.fixture
def cluster(tmp_path):
    """A standalone master and one 2-core worker on loopback; yields the master URL, the cluster's env and the
    master's web UI port."""
    port, ui = free_port(), free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(tmp_path / "worker"),
           "SPARK_LOG_DIR": str(tmp_path / "logs")}
    env.pop("SPARK_CONF_DIR", None)
    master = f"spark://127.0.0.1:{port}"
    procs = [spark_class("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                         "--webui-port", str(ui), env=env, log=tmp_path / "master.log")]
    procs.append(spark_class("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "2",
                             "--memory", "3g", "--webui-port", str(free_port()), master, env=env,
                             log=tmp_path / "worker.log"))
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{ui}/json/", timeout=2).json().get("aliveworkers", 0) >= 1:
                    break
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(1)
        else:
            pytest.fail(f"the standalone worker did not register within 180 s:\n"
                        f"{(tmp_path / 'worker.log').read_text()[-2000:]}")
        yield master, env, ui
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_every_table_on_a_standalone_cluster_equals_the_duckdb_run(cluster, tmp_path):
    master, env, ui = cluster
    p = default_run_params()
    dataset, raw, opstore = tmp_path / "dataset", tmp_path / "raw.duckdb", tmp_path / "opstore.sqlite"
    pipeline.prepare_dataset("synthetic", dataset, p.n_users, p.seed, p.as_of, progress=False)
    pipeline.ingest_dataset(dataset, raw, opstore, progress=False)
    want = tables(run_engine(tmp_path, raw, opstore, "duckdb"))

    conf = tmp_path / "spark-conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text(  # what docs/scale-out.md tells a cluster user to configure
        f"spark.master {master}\n"
        f"spark.pyspark.python {sys.executable}\n"
        "spark.driver.host 127.0.0.1\n"
        "spark.executor.memory 2g\n"
        "spark.sql.shuffle.partitions 4\n")
    driver = subprocess.run([sys.executable, str(HERE / "cluster_driver.py"), str(tmp_path), str(raw), str(opstore)],
                            env={**env, "SPARK_CONF_DIR": str(conf)}, capture_output=True, text=True,
                            timeout=3600, check=False)
    assert driver.returncode == 0, driver.stderr[-3000:]
    assert_runs_equal({"duckdb": want, "spark": tables(tmp_path / "spark" / "warehouse.duckdb")})
    finished = httpx.get(f"http://127.0.0.1:{ui}/json/", timeout=5).json()["completedapps"]
    assert finished, "the driver never ran an application on the cluster's master"
    assert list((tmp_path / "worker").glob("app-*/*/stderr")), "no executor ran on the cluster's worker"
