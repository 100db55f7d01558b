"""One local SparkSession for every Spark test (JVM start-up and warm-up are paid once)."""

from glue import inventory_spark

_SESSION = None


def session():
    global _SESSION
    if _SESSION is None:
        # Two shuffle partitions: the inputs are small and each task costs a Python worker round trip.
        _SESSION = inventory_spark.spark_session("inventory-tests", cores=2, shuffle_partitions=2)
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION
