"""One element of a Glacier JSON inventory's ArchiveList -> validated archive or RowError.

Plain Python 3 (standard library only). Twin of RowValidator.check in src/core/inventory.ts for
JSON elements: same checks in the same order, same messages. ``raw`` (the errors file's Raw) is
the element as JSON.stringify writes it; the repeated-ArchiveId check needs the whole file and
stays with the caller (the Spark job).

Known differences from TypeScript, both on inputs Glacier never writes: a number written with a
fraction or exponent (``10.0``, ``1e3``) appears in Raw and messages as Python writes it (``10.0``)
rather than as JavaScript does (``10``); a JSON document is parsed whole, so a malformed or
truncated file gives one error row and no archives (TypeScript streams the elements parsed before
the error and then reports it).
"""

import json
import re
from typing import Union

try:  # run as part of the `glue` package (tests) or as a flat module next to the Glue script
    from glue import archive_naming as _naming
    from glue.inventory_csv import MAX_SAFE_INTEGER, RowError, Archive, _BAD_ID_CHARACTER, _js_stringify
except ImportError:  # pragma: no cover - Glue: modules are shipped flat via --extra-py-files
    import archive_naming as _naming  # type: ignore
    from inventory_csv import MAX_SAFE_INTEGER, RowError, Archive, _BAD_ID_CHARACTER, _js_stringify  # type: ignore

_TREE_HASH = re.compile(r"[0-9a-fA-F]{64}")
_DIGITS = re.compile(r"[0-9]+")
_NEGATIVE = re.compile(r"-[0-9]")
_MISSING = object()


def js_json(value: object) -> str:
    """JSON.stringify of a parsed JSON value (``undefined`` for a missing one)."""
    if value is _MISSING:
        return "undefined"
    if isinstance(value, str):
        return _js_stringify(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(js_json(v) for v in value) + "]"
    return "{" + ",".join(_js_stringify(k) + ":" + js_json(v) for k, v in value.items()) + "}"


def raw_of(element: object) -> str:
    """The errors file's Raw before clipping: a string element as it is, anything else as JSON."""
    return element if isinstance(element, str) else js_json(element)


def validate_json_element(element: object) -> Union[Archive, RowError]:
    """(archive_id, description, creation_date, size, tree_hash) or a RowError, as TypeScript says."""
    if not isinstance(element, dict):
        return RowError("ArchiveList element is not an object")
    archive_id = element.get("ArchiveId", _MISSING)
    description = element.get("ArchiveDescription", None)
    creation_date = element.get("CreationDate", _MISSING)
    size = element.get("Size", _MISSING)
    tree_hash = element.get("SHA256TreeHash", _MISSING)
    if not isinstance(archive_id, str) or archive_id == "":
        return RowError("empty ArchiveId")
    if _BAD_ID_CHARACTER.search(archive_id):
        return RowError("ArchiveId contains whitespace or control characters")
    if description is None:
        description = ""
    if not isinstance(description, str):
        return RowError("ArchiveDescription is not a string", archive_id)
    if not isinstance(creation_date, str) or _naming.parse_utc_timestamp(creation_date) is None:
        return RowError(f"invalid CreationDate {js_json(creation_date)}: "
                        "expected an ISO-8601 UTC time such as 2012-05-15T17:19:46.700Z", archive_id)
    size_bytes = -1
    if isinstance(size, bool):
        size_bytes = -1
    elif isinstance(size, int):
        size_bytes = size
    elif isinstance(size, float) and size.is_integer():
        size_bytes = int(size)
    elif isinstance(size, str) and _DIGITS.fullmatch(size):
        significant = size.lstrip("0") or "0"
        size_bytes = int(significant) if len(significant) <= 16 else MAX_SAFE_INTEGER + 1
    if size_bytes < 0 or size_bytes > MAX_SAFE_INTEGER:
        negative = (isinstance(size, (int, float)) and not isinstance(size, bool) and size < 0) or \
            (isinstance(size, str) and _NEGATIVE.match(size) is not None)
        why = "negative" if negative else "expected a whole number of bytes"
        return RowError(f"invalid Size {js_json(size)}: {why}", archive_id)
    if not isinstance(tree_hash, str) or not _TREE_HASH.fullmatch(tree_hash):
        return RowError(f"invalid SHA256TreeHash {js_json(tree_hash)}: expected 64 hex digits", archive_id)
    return (archive_id, description, creation_date, size_bytes, tree_hash.lower())
