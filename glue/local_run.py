"""Runs the Glue inventory engine locally on PySpark, with file paths instead of S3.

    python glue/local_run.py --inventory inv.csv --output DIR --run_id RUN \\
        --partition_size BYTES --max_archive_size BYTES [--destination_prefix P] \\
        [--partition_rows_per_file N] [--naming_override_key FILE] [--kept_keys_key FILE] [--cores 2] \\
        [--executors N [--executor_memory_mb MB]]

Writes DIR/<run>/sorted_inventory/..., skipped/skipped.csv, inventory_errors/errors.csv and
DIR/<run>/inventory_summary.json, exactly as the Glue job writes them to the inventory bucket.
The rehearsal and the cross-engine tests run the job this way.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from glue import inventory_spark  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inventory", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--run_id", required=True)
    p.add_argument("--partition_size", type=int, required=True)
    p.add_argument("--max_archive_size", type=int, required=True)
    p.add_argument("--destination_prefix", default="")
    p.add_argument("--partition_rows_per_file", type=int, default=inventory_spark.parts.DEFAULT_ROWS_PER_FILE)
    p.add_argument("--naming_override_key", default="")
    p.add_argument("--kept_keys_key", default="")
    p.add_argument("--cores", type=int, default=2, help="local[cores]: executor threads in the driver's JVM")
    p.add_argument("--executors", type=int, default=0,
                   help="N > 0: N separate executor JVMs of one core each (local-cluster), the driver's JVM alone holds the driver")
    p.add_argument("--executor_memory_mb", type=int, default=2048)
    a = p.parse_args(argv)
    if not os.path.isfile(a.inventory):
        print(f"--inventory {a.inventory}: no such file", file=sys.stderr)
        return 2
    for name, value in (("--naming_override_key", a.naming_override_key), ("--kept_keys_key", a.kept_keys_key)):
        if value and not os.path.isfile(value):
            print(f"{name} {value}: no such file", file=sys.stderr)
            return 2
    if a.executors < 0 or a.executor_memory_mb < 512:
        print(f"--executors {a.executors} --executor_memory_mb {a.executor_memory_mb}: expected executors >= 0 and memory >= 512", file=sys.stderr)
        return 2
    spark = inventory_spark.spark_session("inventory-local", a.cores, executors=a.executors, executor_memory_mb=a.executor_memory_mb)
    spark.sparkContext.setLogLevel("ERROR")
    with open(a.inventory, "r", encoding="utf-8", errors="replace", newline="") as f:
        head = f.read(inventory_spark.HEAD_CHARS)
    options = inventory_spark.Options(a.run_id, a.destination_prefix, a.partition_size, a.max_archive_size, a.partition_rows_per_file)
    summary = inventory_spark.run_inventory(spark, os.path.abspath(a.inventory), head, options,
                                            inventory_spark.LocalStore(a.output), a.naming_override_key or None, a.kept_keys_key or None)
    inventory_spark.LocalStore(a.output).put(f"{a.run_id}/inventory_summary.json", json.dumps(summary).encode("utf-8"))
    print(json.dumps({k: v for k, v in summary.items() if k != "partitionFiles"}))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
