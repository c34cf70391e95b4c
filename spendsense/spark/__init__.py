"""The Spark engine (`spendsense run -p engine spark`): the same signal SQL and per-user Python on Apache Spark.

dialect: the signal SQL translated (SQLGlot plus documented rewrite rules); session: the SparkSession; store:
Parquet in and out (raw store, bucketed step tables); signals: the signal step on Spark; per_user: personas
and recommendations per user bucket (mapInPandas); steps: what spendsense.pipeline calls. docs/scale-out.md.
"""
