"""Sorted-inventory partitioning for the Glue engine: order, partition assignment, CSV rows.

Plain Python 3 (standard library only). Twin of src/core/partitioning.ts: both run
test/fixtures/inventory/partitioning-conformance.json, so the Lambda and Glue engines write the
same partition files byte for byte. Rules, in short (the TypeScript module documents them):

Order       CreationDate instant (23-digit sort key, see archive_naming.parse_utc_timestamp), then
            ArchiveId by code point (Python's own str order).
Partitions  in that order, an archive joins the current partition unless the partition already has
            an archive and its bytes would exceed partition_size; files of at most rows_per_file
            rows; <run>/sorted_inventory/<10-digit partition>/part-<5-digit file>.csv.
Rows        columns PARTITION_COLUMNS, header first, "\\n" line ends, RFC 4180 quoting of fields
            holding , " CR or LF (quotes doubled).
"""

from typing import Iterable, List, NamedTuple, Optional, Tuple

try:  # run as part of the `glue` package (tests) or as a flat module next to the Glue script
    from glue import archive_naming as _naming
except ImportError:  # pragma: no cover - Glue: modules are shipped flat via --extra-py-files
    import archive_naming as _naming  # type: ignore

PARTITION_COLUMNS = (
    "ArchiveId",
    "CreationDate",
    "Size",
    "SHA256TreeHash",
    "ObjectKey",
    "LastModified",
    "ArchiveDescription",
)
DEFAULT_ROWS_PER_FILE = 100_000


class PartitionSlot(NamedTuple):
    partition: int
    file: int
    first_in_file: bool


def creation_sort_key(creation_date: str, archive_id: str = "?") -> str:
    """The CreationDate part of the order; ValueError for a date that is not ISO-8601 UTC."""
    ts = _naming.parse_utc_timestamp(creation_date)
    if ts is None:
        raise ValueError(f"Invalid CreationDate {creation_date!r} for archive {archive_id}")
    return ts.sort_key


def order_key(creation_date: str, archive_id: str) -> Tuple[str, str]:
    """Sort key of an archive: sorted(..., key=lambda a: order_key(a.date, a.id))."""
    return (creation_sort_key(creation_date, archive_id), archive_id)


class PartitionAssigner:
    """Assigns archives, fed in request order, to partitions and files."""

    def __init__(self, partition_size: int, rows_per_file: int = DEFAULT_ROWS_PER_FILE):
        if not isinstance(partition_size, int) or partition_size <= 0:
            raise ValueError(f"partition_size must be a positive whole number, got {partition_size!r}")
        if not isinstance(rows_per_file, int) or rows_per_file <= 0:
            raise ValueError(f"rows_per_file must be a positive whole number, got {rows_per_file!r}")
        self._limit = partition_size
        self._rows_per_file = rows_per_file
        self._partition = 0
        self._file = 0
        self._bytes = 0
        self._rows_in_partition = 0
        self._rows_in_file = 0

    def next(self, size: int) -> PartitionSlot:
        if self._rows_in_partition > 0 and self._bytes + size > self._limit:
            self._partition += 1
            self._file = 0
            self._bytes = 0
            self._rows_in_partition = 0
            self._rows_in_file = 0
        elif self._rows_in_file == self._rows_per_file:
            self._file += 1
            self._rows_in_file = 0
        first = self._rows_in_file == 0
        self._bytes += size
        self._rows_in_partition += 1
        self._rows_in_file += 1
        return PartitionSlot(self._partition, self._file, first)


def assign_partitions(sizes: Iterable[int], partition_size: int, rows_per_file: int = DEFAULT_ROWS_PER_FILE) -> List[PartitionSlot]:
    assigner = PartitionAssigner(partition_size, rows_per_file)
    return [assigner.next(s) for s in sizes]


def partition_name(partition: int) -> str:
    return str(partition).zfill(10)


def partition_file_name(file: int) -> str:
    return f"part-{str(file).zfill(5)}.csv"


def partition_file_key(run_id: str, partition: int, file: int) -> str:
    return f"{run_id}/sorted_inventory/{partition_name(partition)}/{partition_file_name(file)}"


def csv_field(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def partition_csv_header() -> str:
    return ",".join(PARTITION_COLUMNS) + "\n"


def format_partition_row(archive_id: str, creation_date: str, size: int, tree_hash: str, object_key: str,
                         last_modified: Optional[str], description: str) -> str:
    return ",".join((
        csv_field(archive_id),
        csv_field(creation_date),
        str(int(size)),
        csv_field(tree_hash),
        csv_field(object_key),
        csv_field(last_modified or ""),
        csv_field(description),
    )) + "\n"
