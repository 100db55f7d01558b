"""Glue engine of InventoryRetrieval (PySpark shell; the rules live in archive_naming.py and partitioning.py).

Writes exactly what the Lambda engine writes (src/handlers/inventory-retrieval/inventory-engine.ts):
<run>/sorted_inventory/<partition>/part-<n>.csv, <run>/skipped/skipped.csv,
<run>/inventory_errors/errors.csv and <run>/inventory_summary.json. The state machine's
FinishGlueInventory step then records skipped items and totals like the Lambda engine does.

Spark does the heavy, parallel part (parse + name every row, sort by (sort_key, ArchiveId));
duplicate resolution and partition assignment run on the driver over the compact sorted keys
(assign_unique_keys / PartitionAssigner), so both engines share one implementation of the rules.
NOTE: not exercised locally (no Spark in CI); the per-record functions are unit-tested.
"""

import json
import sys

import boto3
from awsglue.utils import getResolvedOptions  # type: ignore
from pyspark.sql import SparkSession  # type: ignore

import archive_naming as naming  # type: ignore
import inventory_csv  # type: ignore
import partitioning as parts  # type: ignore

ARGS = getResolvedOptions(sys.argv, ["run_id", "inventory_key", "inventory_bucket", "destination_prefix", "partition_size", "max_archive_size"])
RUN = ARGS["run_id"]
BUCKET = ARGS["inventory_bucket"]
PREFIX = "" if ARGS["destination_prefix"] in ('""', "") else ARGS["destination_prefix"]
PARTITION_SIZE = int(ARGS["partition_size"])
MAX_SIZE = int(ARGS["max_archive_size"])
# Optional, like PARTITION_ROWS_PER_FILE of the Lambda engine.
ROWS_PER_FILE = (int(getResolvedOptions(sys.argv, ["partition_rows_per_file"])["partition_rows_per_file"])
                 if "--partition_rows_per_file" in sys.argv else parts.DEFAULT_ROWS_PER_FILE)
s3 = boto3.client("s3")


def read_overrides():
    try:
        body = s3.get_object(Bucket=BUCKET, Key=f"{RUN}/naming_override/naming_override.csv")["Body"].read().decode("utf-8-sig")
    except s3.exceptions.NoSuchKey:
        return {}
    return naming.parse_naming_overrides(body)


def parse_inventory_csv_line(line):
    """None for the header, an error message (str), or (id, description, date, size, hash)."""
    return inventory_csv.parse_inventory_csv_line(line)


def put(key, text):
    s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode("utf-8"), ContentType="text/csv; charset=utf-8")


def main():
    spark = SparkSession.builder.getOrCreate()
    overrides = spark.sparkContext.broadcast(read_overrides())
    lines = spark.sparkContext.textFile(f"s3://{BUCKET}/{ARGS['inventory_key']}").zipWithIndex()

    def parse(pair):
        line, index = pair
        row = index + 1
        # Glacier's CSV dialect (backslash-escaped quotes), the twin of src/core/inventory.ts.
        rec = parse_inventory_csv_line(line)
        if rec is None:
            return ("header", row, line)
        if isinstance(rec, str):
            return ("error", row, rec, line[:2048], rec.archive_id)
        archive_id, description, creation_date, size, tree_hash = rec
        k = naming.key_for_archive(archive_id, description, PREFIX, overrides.value.get(archive_id))
        return ("archive", parts.creation_sort_key(creation_date, archive_id), archive_id, description, creation_date, size, tree_hash, k.key,
                k.last_modified or "", k.source == "override")

    records = lines.map(parse).cache()
    errors = records.filter(lambda r: r[0] == "error").sortBy(lambda r: r[1]).collect()
    archives = records.filter(lambda r: r[0] == "archive").sortBy(lambda r: (r[1], r[2])).collect()

    skipped = [a for a in archives if a[5] > MAX_SIZE]
    kept = [a for a in archives if a[5] <= MAX_SIZE]
    unique = naming.assign_unique_keys([{"archive_id": a[2], "creation_date": a[4], "key": a[7]} for a in kept], PREFIX)
    assigner = parts.PartitionAssigner(PARTITION_SIZE, ROWS_PER_FILE)
    files, current, key = [], [], None
    for a, u in zip(kept, unique):
        slot = assigner.next(a[5])
        if slot.first_in_file:
            if key:
                put(key, "".join(current))
            key = parts.partition_file_key(RUN, slot.partition, slot.file)
            files.append(key)
            current = [parts.partition_csv_header()]
        current.append(parts.format_partition_row(a[2], a[4], a[5], a[6], u.key, a[8], a[3]))
    if key:
        put(key, "".join(current))
    # Stale files of an earlier attempt.
    listed = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{RUN}/sorted_inventory/")
    stale = [o["Key"] for page in listed for o in page.get("Contents", []) if o["Key"] not in set(files)]
    for i in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in stale[i:i + 1000]], "Quiet": True})

    header = parts.partition_csv_header().rstrip("\n") + ",Reason\n"
    reason = lambda a: f"size {a[5]} bytes is above the limit of {MAX_SIZE} bytes"  # noqa: E731
    put(f"{RUN}/skipped/skipped.csv", header + "".join(
        parts.format_partition_row(a[2], a[4], a[5], a[6], a[7], a[8], a[3]).rstrip("\n") + "," + parts.csv_field(reason(a)) + "\n" for a in skipped))
    put(f"{RUN}/inventory_errors/errors.csv", "Row,ArchiveId,Message,Raw\n" + "".join(
        f"{e[1]},{parts.csv_field(e[4])},{parts.csv_field(e[2])},{parts.csv_field(e[3])}\n" for e in errors))
    summary = {
        "runId": RUN, "engine": "glue",
        "totalCount": len(archives), "totalBytes": sum(a[5] for a in archives),
        "transferCount": len(kept), "transferBytes": sum(a[5] for a in kept),
        "skippedCount": len(skipped), "skippedBytes": sum(a[5] for a in skipped),
        "errorCount": len(errors), "renamedCount": sum(1 for u in unique if u.renamed),
        # Like the Lambda engine: overrides that produced a usable name.
        "overriddenCount": sum(1 for a in archives if a[9]),
        "partitionCount": (assigner._partition + 1) if kept else 0, "partitionFiles": files,
    }
    s3.put_object(Bucket=BUCKET, Key=f"{RUN}/inventory_summary.json", Body=json.dumps(summary).encode(), ContentType="application/json")


if __name__ == "__main__":
    main()
