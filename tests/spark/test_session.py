"""The Spark engine's local-mode defaults: sized to the machine, never over the user's own settings."""

from spendsense.spark.session import local_conf, local_cores

GIB = 2**30


def test_local_defaults_take_half_the_memory_and_four_partitions_per_core():
    assert local_conf(2, 24 * GIB) == {"spark.driver.memory": "12g", "spark.sql.shuffle.partitions": "8"}


def test_local_heap_is_capped_at_16g_and_never_below_1g():
    assert local_conf(8, 128 * GIB)["spark.driver.memory"] == "16g"
    assert local_conf(1, GIB)["spark.driver.memory"] == "1g"
    assert local_conf(1, 0)["spark.driver.memory"] == "1g"  # a platform that does not report its memory


def test_local_cores_read_the_master():
    assert local_cores("local[3]") == 3
    assert local_cores("local[4,2]") == 4  # local[N, maxFailures]
    assert local_cores("local[*]") >= 1
    assert local_cores(None) >= 1


def test_the_executors_python_comes_from_the_conf_or_spark_defaults(tmp_path, monkeypatch):
    from spendsense.spark.session import configured_master, executor_python

    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    monkeypatch.delenv("SPARK_CONF_DIR", raising=False)
    assert executor_python() is None and configured_master() is None
    (tmp_path / "spark-defaults.conf").write_text("spark.master  spark://10.0.0.5:7077\n"
                                                  "spark.pyspark.python /opt/env/bin/python\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert configured_master() == "spark://10.0.0.5:7077"
    assert executor_python() == "/opt/env/bin/python"
    assert executor_python({"spark.pyspark.python": "/other/python"}) == "/other/python"  # the given conf wins
