"""One SparkSession for every Spark test (local[2], few shuffle partitions, no UI, bound to 127.0.0.1), tuned for
tiny data: interpreted expressions instead of generated code and a JIT that stops at C1 (measured in
docs/scale-out.md, "Parity tests": compiling is most of a small run's cost)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

pyspark = pytest.importorskip("pyspark")

TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.driver.memory": "1g",  # tiny data: Spark's own default, not the engine's half-of-RAM local default
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # tiny data: compiling generated code (Janino) and C2 JIT cost more CPU than the rows they would speed up
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


@pytest.fixture(scope="session")
def spark():
    from spendsense.spark.session import spark_session

    session = spark_session("local[2]", app_name="spendsense-tests", conf=TEST_CONF)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
