"""Glue entry point of the inventory engine: the only file that touches S3, awsglue or job arguments.

Glue 5.0 (Spark 3.5, Python 3.11). Everything else is glue/inventory_spark.py, which the tests and
glue/local_run.py run on local PySpark with file paths. Arguments:
  --run_id, --inventory_bucket, --inventory_key, --destination_prefix ('""' for none),
  --partition_size, --max_archive_size (bytes); optional --partition_rows_per_file and
  --naming_override_key (a key in the inventory bucket; absent or empty: no naming override) and
  --kept_keys_key (<run>/kept_keys/kept_keys.csv: archives already downloaded keep their keys).
Writes <run>/sorted_inventory/..., <run>/skipped/skipped.csv, <run>/inventory_errors/errors.csv
(from executors) and <run>/inventory_summary.json; deletes partition files of an earlier attempt
that this run did not write. FinishGlueInventory then records the results like the Lambda engine.
"""

import json
import sys

import boto3
from awsglue.utils import getResolvedOptions  # type: ignore
from pyspark.sql import SparkSession  # type: ignore

import inventory_spark  # type: ignore

_CLIENT = None


def _s3():
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = boto3.client("s3")
    return _CLIENT


class S3Store:
    """Output files in the inventory bucket (pickled to executors; one client per Python worker)."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        content_type = "application/json" if key.endswith(".json") else "text/csv; charset=utf-8"
        _s3().put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)


def optional_arg(name: str) -> str:
    return getResolvedOptions(sys.argv, [name])[name] if f"--{name}" in sys.argv else ""


def main() -> None:
    args = getResolvedOptions(sys.argv, ["run_id", "inventory_key", "inventory_bucket", "destination_prefix", "partition_size", "max_archive_size"])
    run, bucket = args["run_id"], args["inventory_bucket"]
    rows_per_file = optional_arg("partition_rows_per_file")
    override_key = optional_arg("naming_override_key")
    kept_keys_key = optional_arg("kept_keys_key")
    options = inventory_spark.Options(
        run_id=run,
        prefix="" if args["destination_prefix"] in ('""', "") else args["destination_prefix"],
        partition_size=int(args["partition_size"]),
        max_archive_size=int(args["max_archive_size"]),
        rows_per_file=int(rows_per_file) if rows_per_file else inventory_spark.parts.DEFAULT_ROWS_PER_FILE,
    )
    head_bytes = _s3().get_object(Bucket=bucket, Key=args["inventory_key"], Range=f"bytes=0-{inventory_spark.HEAD_CHARS - 1}")["Body"].read()
    head = head_bytes.decode("utf-8", "replace")
    spark = SparkSession.builder.getOrCreate()
    store = S3Store(bucket)
    summary = inventory_spark.run_inventory(spark, f"s3://{bucket}/{args['inventory_key']}", head, options, store,
                                            f"s3://{bucket}/{override_key}" if override_key else None,
                                            f"s3://{bucket}/{kept_keys_key}" if kept_keys_key else None)
    keep = set(summary["partitionFiles"])
    pages = _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{run}/sorted_inventory/")
    stale = [o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"] not in keep]
    for i in range(0, len(stale), 1000):
        _s3().delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[i:i + 1000]], "Quiet": True})
    store.put(f"{run}/inventory_summary.json", json.dumps(summary).encode("utf-8"))


if __name__ == "__main__":
    main()
