"""The Glue inventory engine as a distributed Spark computation (no S3, no awsglue here).

Writes what the Lambda engine writes (src/handlers/inventory-retrieval/inventory-engine.ts), with
the same names and bytes: <run>/sorted_inventory/<partition>/part-<n>.csv, <run>/skipped/skipped.csv,
<run>/inventory_errors/errors.csv, and returns the summary. The per-record rules are the plain
Python modules (inventory_csv, inventory_json, archive_naming, partitioning), tested without Spark.

Where each step runs (the driver holds no per-archive data, only per-chunk and per-partition
numbers: chunk sizes, partition starts, file names):
- parse, validate and name every row: executors (flatMap / mapPartitions);
- a repeated ArchiveId: a window by ArchiveId ordered by row; later rows become error rows;
- duplicate keys: the level-by-level rule of src/core/archive-naming.ts with DataFrame windows
  (window by base key ordered by (kept first, CreationDate sort key, ArchiveId): row 1 and any kept
  archive keep it, a kept archive's base key being the key it was downloaded to; then per level
  a candidate column, an anti-join with the taken keys and a window by candidate);
- order and partitions: a range-partitioned sort; each chunk's row count and bytes go to the
  driver, which derives every row's running byte offset. The partition rule (an archive opens a new
  partition when the current one is not empty and would exceed the size) is sequential, so the
  driver walks the chunks with the state (start offset of the open partition): a chunk whose last
  running sum stays within that partition's budget cannot hold a boundary and is skipped without
  reading it; a chunk that can is scanned by one small job on that chunk only. So there are at most
  min(chunks, partitions) such jobs, and only partition starts come back;
- files: rows are shuffled by file number and each file is written whole by one executor task
  through the `store` (LocalStore here; S3 in inventory_job.py).
"""

import bisect
import json
import os
import sys
from typing import Dict, List, NamedTuple, Optional

from pyspark.sql import DataFrame, SparkSession, Window  # type: ignore
from pyspark.sql import functions as F  # type: ignore
from pyspark.sql import types as T  # type: ignore

try:  # run as part of the `glue` package (tests) or as flat modules next to the Glue script
    from glue import archive_naming as naming
    from glue import inventory_csv, inventory_json
    from glue import partitioning as parts
except ImportError:  # pragma: no cover - Glue: modules are shipped flat via --extra-py-files
    import archive_naming as naming  # type: ignore
    import inventory_csv  # type: ignore
    import inventory_json  # type: ignore
    import partitioning as parts  # type: ignore

MAX_RAW = 2048
ERROR_HEADER = "Row,ArchiveId,Message,Raw\n"  # INVENTORY_ERROR_COLUMNS in src/contract/messages.ts
SKIPPED_HEADER = parts.partition_csv_header().rstrip("\n") + ",Reason\n"
HEAD_CHARS = 65_536


class Options(NamedTuple):
    run_id: str
    prefix: str
    partition_size: int
    max_archive_size: int
    rows_per_file: int = parts.DEFAULT_ROWS_PER_FILE
    max_line_length: int = inventory_csv.DEFAULT_MAX_LINE


class LocalStore:
    """Output files under a local directory (the local runner and the tests)."""

    def __init__(self, root: str):
        self.root = root

    def put(self, key: str, body: bytes) -> None:
        path = os.path.join(self.root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)


def js_clip(text: str, units: int = MAX_RAW) -> str:
    """text.slice(0, units) of JavaScript (UTF-16 code units), as it comes out in UTF-8: a surrogate
    pair cut in half leaves a lone high surrogate, which Node writes as U+FFFD."""
    if len(text) <= units // 2 or (len(text) <= units and all(c <= "\uffff" for c in text)):
        return text
    out, used = [], 0
    for c in text:
        width = 2 if c > "\uffff" else 1
        if used + width > units:
            if used < units:
                out.append("\ufffd")
            break
        out.append(c)
        used += width
    return "".join(out)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode("utf-8") \
        if any("\ud800" <= c <= "\udfff" for c in text) else text.encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Reading: one record per archive or bad row, on executors.

ARCHIVE = "a"
ERROR = "e"

RECORD_SCHEMA = T.StructType([
    T.StructField("kind", T.StringType(), False),
    T.StructField("row", T.LongType(), False),
    T.StructField("archive_id", T.StringType(), False),
    T.StructField("description", T.StringType(), False),
    T.StructField("creation_date", T.StringType(), False),
    T.StructField("size", T.LongType(), False),
    T.StructField("tree_hash", T.StringType(), False),
    T.StructField("message", T.StringType(), False),
    T.StructField("raw", T.StringType(), False),
])


def _archive(row: int, rec: tuple, raw: str) -> tuple:
    archive_id, description, creation_date, size, tree_hash = rec
    return (ARCHIVE, row, archive_id, description, creation_date, size, tree_hash, "", raw)


def _error(row: int, archive_id: str, message: str, raw: str) -> tuple:
    return (ERROR, row, archive_id, "", "", 0, "", message, js_clip(raw))


def detect_format(head: str) -> Optional[str]:
    """detectInventoryFormat of src/core/inventory.ts: 'json', 'csv' or None."""
    text = head[1:] if head.startswith("\ufeff") else head
    text = text.lstrip(inventory_csv._JS_SPACE)
    if text.startswith("{"):
        return "json"
    return "csv" if "," in text.split("\n", 1)[0] else None


def _line_state(line: str, row: int, max_line: int):
    """(kind, text): 'long' (too long), 'blank', or 'line' with \\r (and on row 1 a BOM) removed."""
    if len(line) > max_line or (2 * len(line) > max_line and inventory_csv._js_length(line) > max_line):
        return "long", line
    text = line[:-1] if line.endswith("\r") else line
    if row == 1 and text.startswith("\ufeff"):
        text = text[1:]
    return ("blank" if text == "" else "line"), text


def _csv_records(lines_with_index, first_row: int, layout, max_line: int):
    missing_header = "missing header: expected " + ",".join(inventory_csv.INVENTORY_COLUMNS)
    for line, index in lines_with_index:
        row = index + 1
        state, text = _line_state(line, row, max_line)
        if state == "long":
            yield _error(row, "", f"line longer than {max_line} characters", line)
            continue
        if state == "blank":
            continue
        if row == first_row and layout is not None:
            continue  # the header
        rec = inventory_csv.parse_inventory_csv_line(text, layout or inventory_csv.GLACIER_LAYOUT, max_line, later_line=True)
        if isinstance(rec, inventory_csv.RowError):
            yield _error(row, "" if row == first_row else rec.archive_id, missing_header if row == first_row else str(rec), text)
        elif rec is not None:
            yield _archive(row, rec, text)


def _json_records(document: str):
    try:
        value = json.loads(document[1:] if document.startswith("\ufeff") else document)
    except ValueError as e:
        yield _error(1, "", f"malformed or truncated JSON after row 0: {e}", "")
        return
    items = value.get("ArchiveList") if isinstance(value, dict) else None
    if not isinstance(items, list):
        yield _error(0, "", "not a Glacier JSON inventory: no ArchiveList", "")
        return
    for i, element in enumerate(items):
        rec = inventory_json.validate_json_element(element)
        raw = inventory_json.raw_of(element)
        if isinstance(rec, inventory_csv.RowError):
            yield _error(i + 1, rec.archive_id, str(rec), raw)
        else:
            yield _archive(i + 1, rec, raw)


def read_records(spark: SparkSession, path: str, head: str, options: Options) -> DataFrame:
    """Every archive and bad row of the inventory at `path` (CSV or JSON, told from `head`)."""
    sc = spark.sparkContext
    fmt = detect_format(head)
    if fmt is None and head.strip(inventory_csv._JS_SPACE) != "":
        first = head.split("\n", 1)[0]
        return spark.createDataFrame([_error(0, "", "unknown inventory format: expected Glacier CSV or JSON", first)], RECORD_SCHEMA)
    if fmt == "json":
        return spark.createDataFrame(sc.wholeTextFiles(path).flatMap(lambda pair: _json_records(pair[1])), RECORD_SCHEMA)
    max_line = options.max_line_length
    # Glacier's line end is \n (\r\n is taken apart per line); Hadoop's default would also split on \r.
    lines = spark.read.option("lineSep", "\n").text(path).rdd.map(lambda r: r[0]).zipWithIndex()
    try:
        first = lines.filter(lambda p: _line_state(p[0], p[1] + 1, max_line)[0] == "line").map(lambda p: p[1]).min()
    except ValueError:  # no line with content
        first = None
    if first is None:
        return spark.createDataFrame([_error(0, "", "empty inventory: no header line", "")], RECORD_SCHEMA)
    # Only the first line comes to the driver: it tells the column layout.
    first_line = _line_state(lines.filter(lambda p: p[1] == first).first()[0], first + 1, max_line)[1]
    layout = inventory_csv.header_layout(first_line)
    first_row = first + 1
    records = lines.mapPartitions(lambda it: _csv_records(it, first_row, layout, max_line))
    return spark.createDataFrame(records, RECORD_SCHEMA)


def _read_pairs(spark: SparkSession, path: Optional[str], value_column: str, parse) -> Optional[DataFrame]:
    """(archive_id, value_column) rows of a small CSV parsed whole by `parse` (text -> dict), one executor task."""
    if not path:
        return None
    schema = T.StructType([T.StructField("archive_id", T.StringType(), False), T.StructField(value_column, T.StringType(), False)])
    pairs = spark.sparkContext.wholeTextFiles(path).flatMap(lambda p: parse(p[1]).items())
    return spark.createDataFrame(pairs, schema)


def read_overrides(spark: SparkSession, path: Optional[str]) -> Optional[DataFrame]:
    """(archive_id, override) rows of the naming override CSV."""
    return _read_pairs(spark, path, "override", naming.parse_naming_overrides)


def read_kept_keys(spark: SparkSession, path: Optional[str]) -> Optional[DataFrame]:
    """(archive_id, kept_key) rows of <run>/kept_keys/kept_keys.csv (Resume: archives already downloaded)."""
    return _read_pairs(spark, path, "kept_key", naming.parse_kept_keys)


# ---------------------------------------------------------------------------------------------
# Naming and duplicates.

NAMED_SCHEMA = T.StructType([
    T.StructField("row", T.LongType(), False),
    T.StructField("archive_id", T.StringType(), False),
    T.StructField("description", T.StringType(), False),
    T.StructField("creation_date", T.StringType(), False),
    T.StructField("size", T.LongType(), False),
    T.StructField("tree_hash", T.StringType(), False),
    T.StructField("base_key", T.StringType(), False),
    T.StructField("last_modified", T.StringType(), False),
    T.StructField("overridden", T.BooleanType(), False),
    T.StructField("sort_key", T.StringType(), False),
])


def _name_rows(rows, prefix: str):
    for r in rows:
        k = naming.key_for_archive(r.archive_id, r.description, prefix, r.override)
        yield (r.row, r.archive_id, r.description, r.creation_date, r.size, r.tree_hash, k.key, k.last_modified or "",
               k.source == "override", parts.creation_sort_key(r.creation_date, r.archive_id))


def unique_keys(spark: SparkSession, kept: DataFrame, prefix: str) -> DataFrame:
    """kept + `key` (final) and `renamed`: the level-by-level rule, with windows and joins."""
    order = [F.col("sort_key"), F.col("archive_id")]
    # A kept archive (downloaded by an earlier execution) owns its base key whatever the order.
    base_order = [F.col("is_kept").desc(), *order]
    ranked = kept.withColumn("_rn", F.row_number().over(Window.partitionBy("base_key").orderBy(*base_order)))
    owners = ranked.filter("_rn = 1 OR is_kept").select("archive_id", F.col("base_key").alias("key"))
    taken = kept.select(F.col("base_key").alias("key")).distinct()
    pending = ranked.filter("_rn > 1 AND NOT is_kept").select("archive_id", "creation_date", "sort_key", "base_key")
    settled = []
    level = 0
    candidate_of = F.udf(lambda key, archive_id, created, lvl: naming.duplicate_candidate(key, archive_id, created, lvl, prefix), T.StringType())
    while True:
        pending = pending.localCheckpoint()
        if pending.isEmpty():
            break
        tried = pending.withColumn("key", candidate_of("base_key", "archive_id", "creation_date", F.lit(level)))
        free = tried.join(taken, "key", "left_anti")
        winners = free.withColumn("_rn", F.row_number().over(Window.partitionBy("key").orderBy(*order))) \
            .filter("_rn = 1").select("archive_id", "key").localCheckpoint()
        settled.append(winners)
        taken = taken.union(winners.select("key"))
        pending = pending.join(winners.select("archive_id"), "archive_id", "left_anti")
        level += 1
    final = owners
    for w in settled:
        final = final.unionByName(w)
    return kept.join(final, "archive_id").withColumn("renamed", F.col("key") != F.col("base_key"))


# ---------------------------------------------------------------------------------------------
# Partitions.


def _chunk_totals(index, rows):
    count = total = 0
    for r in rows:
        count += 1
        total += r[1]
    yield (index, count, total)


def _scan_chunk(rows, row_start: int, byte_start: int, open_start_row: int, open_start_byte: int, limit: int):
    """Greedy partition boundaries inside one chunk, given the open partition: [(row, start byte)]."""
    starts = []
    offset, index = byte_start, row_start
    start_row, start_byte = open_start_row, open_start_byte
    for r in rows:
        size = r[1]
        if index > start_row and offset + size - start_byte > limit:
            start_row, start_byte = index, offset
            starts.append((index, offset))
        offset += size
        index += 1
    return starts


def partition_starts(sorted_rdd, limit: int) -> List[tuple]:
    """First row index and byte offset of every partition, [(0, 0), ...], for rows (order, size)."""
    sc = sorted_rdd.context
    totals = sorted(sorted_rdd.mapPartitionsWithIndex(_chunk_totals).collect())
    starts = [(0, 0)]
    row_start = byte_start = 0
    for index, count, total in totals:
        if count > 0 and byte_start + total - starts[-1][1] > limit:
            open_row, open_byte = starts[-1]
            found = sc.runJob(sorted_rdd, lambda rows, a=row_start, b=byte_start, c=open_row, d=open_byte:
                              _scan_chunk(rows, a, b, c, d, limit), partitions=[index])
            starts.extend(found)
        row_start += count
        byte_start += total
    return starts


# ---------------------------------------------------------------------------------------------
# Writing (executors).


def _write_files(rows, store, run_id: str, file_keys):
    """rows: ((file_seq, order), line) sorted by key; writes each file whole."""
    current, lines = None, []
    for (seq, _order), line in rows:
        if seq != current:
            if current is not None:
                store.put(file_keys[current], _utf8("".join(lines)))
            current, lines = seq, [parts.partition_csv_header()]
        lines.append(line)
    if current is not None:
        store.put(file_keys[current], _utf8("".join(lines)))
    return iter(())


def _write_one(rows, store, key: str, header: str):
    store.put(key, _utf8(header + "".join(line for _k, line in rows)))
    return iter(())


def _row_line(r) -> str:
    return parts.format_partition_row(r.archive_id, r.creation_date, r.size, r.tree_hash, r.key, r.last_modified, r.description)


# ---------------------------------------------------------------------------------------------
# The whole stage.


def run_inventory(spark: SparkSession, inventory_path: str, head: str, options: Options, store,
                  overrides_path: Optional[str] = None, kept_keys_path: Optional[str] = None) -> Dict[str, object]:
    """Processes one inventory; writes partition, skipped and error files through `store`; returns the summary."""
    naming.assert_valid_key_prefix(options.prefix)
    run, prefix = options.run_id, options.prefix
    records = read_records(spark, inventory_path, head, options).localCheckpoint(eager=False)

    valid = records.filter(F.col("kind") == ARCHIVE)
    first_seen = Window.partitionBy("archive_id").orderBy("row")
    valid = valid.withColumn("_seen", F.row_number().over(first_seen)).localCheckpoint(eager=False)
    repeated = valid.filter("_seen > 1").select(
        "row", "archive_id", F.concat(F.lit("duplicate ArchiveId "), F.col("archive_id"), F.lit(" (listed on an earlier row)")).alias("message"), "raw")
    errors = records.filter(F.col("kind") == ERROR).select("row", "archive_id", "message", "raw").unionByName(repeated)

    archives = valid.filter("_seen = 1").drop("_seen", "kind", "message", "raw")
    overrides = read_overrides(spark, overrides_path)
    with_override = archives.join(overrides, "archive_id", "left") if overrides is not None \
        else archives.withColumn("override", F.lit(None).cast(T.StringType()))
    named = spark.createDataFrame(with_override.rdd.mapPartitions(lambda rows: _name_rows(rows, prefix)), NAMED_SCHEMA)
    kept_keys = read_kept_keys(spark, kept_keys_path)
    if kept_keys is not None:
        named = named.join(kept_keys, "archive_id", "left") \
            .withColumn("is_kept", F.col("kept_key").isNotNull()) \
            .withColumn("base_key", F.coalesce(F.col("kept_key"), F.col("base_key"))).drop("kept_key")
    else:
        named = named.withColumn("is_kept", F.lit(False))
    named = named.localCheckpoint(eager=False)

    kept = named.filter(F.col("size") <= options.max_archive_size)
    skipped = named.filter(F.col("size") > options.max_archive_size)
    keyed = unique_keys(spark, kept, prefix).localCheckpoint(eager=False)

    # Order, then partitions from the running byte offsets.
    ordered = keyed.rdd.map(lambda r: ((r.sort_key, r.archive_id), r)).sortByKey().cache()
    sized = ordered.map(lambda kv: (kv[0], kv[1].size)).cache()
    starts = partition_starts(sized, options.partition_size)
    sized.unpersist()
    total_rows = keyed.count()
    start_rows = [s[0] for s in starts] if total_rows > 0 else []
    rows_per_file = options.rows_per_file
    file_offsets, file_keys = [], []
    for p, start in enumerate(start_rows):
        end = start_rows[p + 1] if p + 1 < len(start_rows) else total_rows
        file_offsets.append(len(file_keys))
        for f in range(-(-(end - start) // rows_per_file)):
            file_keys.append(parts.partition_file_key(run, p, f))

    def place(indexed):
        (_key, r), index = indexed
        p = bisect.bisect_right(start_rows, index) - 1
        seq = file_offsets[p] + (index - start_rows[p]) // rows_per_file
        return ((seq, index), _row_line(r))

    if file_keys:
        n = min(len(file_keys), max(1, spark.sparkContext.defaultParallelism * 2))
        ordered.zipWithIndex().map(place) \
            .repartitionAndSortWithinPartitions(n, partitionFunc=lambda k: k[0] % n) \
            .foreachPartition(lambda rows: _write_files(rows, store, run, file_keys))

    max_size = options.max_archive_size

    def skipped_line(r) -> tuple:
        reason = f"size {r.size} bytes is above the limit of {max_size} bytes"
        return ((r.sort_key, r.archive_id),
                parts.format_partition_row(r.archive_id, r.creation_date, r.size, r.tree_hash, r.base_key, r.last_modified,
                                           r.description).rstrip("\n") + "," + parts.csv_field(reason) + "\n")

    def error_line(r) -> tuple:
        return (r.row, f"{r.row},{parts.csv_field(r.archive_id)},{parts.csv_field(r.message)},{parts.csv_field(r.raw)}\n")

    skipped_key, errors_key = f"{run}/skipped/skipped.csv", f"{run}/inventory_errors/errors.csv"
    skipped.rdd.map(skipped_line).sortByKey(numPartitions=1) \
        .foreachPartition(lambda rows: _write_one(rows, store, skipped_key, SKIPPED_HEADER))
    errors.rdd.map(error_line).sortByKey(numPartitions=1) \
        .foreachPartition(lambda rows: _write_one(rows, store, errors_key, ERROR_HEADER))

    totals = named.agg(
        F.count(F.lit(1)).alias("n"), F.sum("size").alias("bytes"),
        F.sum(F.when(F.col("overridden"), 1).otherwise(0)).alias("overridden"),
        F.sum(F.when(F.col("size") > max_size, 1).otherwise(0)).alias("skipped"),
        F.sum(F.when(F.col("size") > max_size, F.col("size")).otherwise(0)).alias("skipped_bytes")).first()
    renamed = keyed.filter(F.col("renamed")).count()
    total_bytes, skipped_bytes = totals["bytes"] or 0, totals["skipped_bytes"] or 0
    return {
        "runId": run,
        "engine": "glue",
        "totalCount": totals["n"],
        "totalBytes": total_bytes,
        "transferCount": total_rows,
        "transferBytes": total_bytes - skipped_bytes,
        "skippedCount": totals["skipped"] or 0,
        "skippedBytes": skipped_bytes,
        "errorCount": errors.count(),
        "renamedCount": renamed,
        "overriddenCount": totals["overridden"] or 0,
        "partitionCount": len(start_rows),
        "partitionFiles": file_keys,
    }


def spark_session(app: str = "inventory", cores: int = 2, shuffle_partitions: Optional[int] = None,
                  executors: int = 0, executor_memory_mb: int = 2048) -> SparkSession:
    """A local SparkSession sized for this machine (tests, local runs, benchmarks).

    executors=0 runs the executor threads inside the driver's JVM (local[cores]); executors=N
    starts N executor JVMs of one core and executor_memory_mb each (local-cluster), so that the
    driver's JVM holds what a Glue driver holds and the per-archive work is measured apart.
    """
    if executors < 0 or executor_memory_mb < 512:
        raise ValueError(f"executors must be >= 0 (got {executors}) and executor_memory_mb >= 512 (got {executor_memory_mb})")
    # Python workers import these modules as the `glue` package, like the tests do.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    master = f"local-cluster[{executors},1,{executor_memory_mb}]" if executors else f"local[{cores}]"
    parallelism = executors or cores
    return (SparkSession.builder.master(master).appName(app)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions or max(2, parallelism * 2)))
            .config("spark.default.parallelism", str(shuffle_partitions or max(2, parallelism * 2)))
            .config("spark.executor.memory", f"{executor_memory_mb}m")
            .config("spark.sql.adaptive.enabled", "false")
            .config("spark.python.worker.reuse", "true")
            .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "1g"))
            .getOrCreate())
