"""One line of a Glacier CSV vault inventory -> validated archive, error message, or nothing.

Plain Python 3 (standard library only). Twin of the per-line part of parseInventoryCsv in
src/core/inventory.ts; both run test/fixtures/inventory/csv-lines-conformance.json. The dialect
(see the TypeScript module comment and AWS's Get Job Output documentation):

- Glacier writes ``ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash``, one archive a
  line (descriptions are printable ASCII, so never hold a line break);
- any field may be wrapped in double quotes; a field holding a comma or a ``"`` always is, and each
  ``"`` inside it is written ``\\"``. A backslash is NOT doubled, so a generic CSV reader with ``\\``
  as escape character corrupts descriptions (``"C:\\dir, x"``, a description ending with ``\\``);
- only the description can hold commas or quotes, so the four other fields are taken by commas
  from both ends of the line and the description is what lies between; inside a quoted field every
  ``"`` must be escaped as ``\\"`` and ``\\"`` is the only escape (every other backslash is literal).

Validation and its messages are the TypeScript ones: ArchiveId non-empty and free of whitespace and
control characters; CreationDate an extended or basic ISO-8601 UTC timestamp with a real calendar
date (archive_naming.parse_utc_timestamp, twin of utc-timestamp.ts); Size a non-negative integer
of at most 2^53 - 1 (JavaScript's safe integers); SHA256TreeHash 64 hex digits, returned lowercase.

What needs the whole file stays with the caller (the Spark job):
- row numbers: 1-based line numbers, the header and blank lines included (``zipWithIndex() + 1``);
- a repeated ArchiveId (reported by TypeScript on its second occurrence);
- the first line: TypeScript reads the header (columns in any order), or reads a header-less first
  line as data when it is a valid archive and reports ``missing header`` otherwise. A line-by-line
  reader cannot know which line is first, so here a header is recognised on any line, a header
  whose column order differs from the ``layout`` in use is reported as an error (rather than
  reading every following row in the wrong columns), and a leading UTF-8 BOM is dropped from any
  line (TypeScript drops it from the first line only);
- an empty file (TypeScript: one ``empty inventory: no header line`` error with row 0).
"""

import json
import re
from typing import Optional, Sequence, Tuple, Union

try:  # run as part of the `glue` package (tests) or as a flat module next to the Glue script
    from glue import archive_naming as _naming
except ImportError:  # pragma: no cover - Glue: modules are shipped flat via --extra-py-files
    import archive_naming as _naming  # type: ignore

INVENTORY_COLUMNS = ("ArchiveId", "ArchiveDescription", "CreationDate", "Size", "SHA256TreeHash")
#: positions[i] is where INVENTORY_COLUMNS[i] sits in a line.
GLACIER_LAYOUT = (0, 1, 2, 3, 4)
DEFAULT_MAX_LINE = 65_536
MAX_SAFE_INTEGER = 2 ** 53 - 1

#: (archive_id, description, creation_date, size, tree_hash)
Archive = Tuple[str, str, str, int, str]

_TREE_HASH = re.compile(r"[0-9a-fA-F]{64}")
_DIGITS = re.compile(r"[0-9]+")
_NEGATIVE = re.compile(r"-[0-9]")
_UPPER_HEX = re.compile(r"[A-F]")
_BAD_ID_CHARACTER = re.compile(
    "[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]")
# What JavaScript's String.prototype.trim removes (WhiteSpace and LineTerminator); str.strip differs.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000\ufeff"
_UNESCAPED_QUOTE = 'unescaped quote inside the quoted ArchiveDescription (Glacier writes \\"), or too many columns'


def _js_length(text: str) -> int:
    """Length in UTF-16 code units, like JavaScript's String.length."""
    return len(text) + sum(1 for ch in text if ch > "\uffff")


def _js_stringify(text: str) -> str:
    """JSON.stringify of a string: like json.dumps without ASCII escaping, lone surrogates as \\udxxx."""
    out = json.dumps(text, ensure_ascii=False)
    if not re.search("[\ud800-\udfff]", out):
        return out
    chars = list(out)
    for i, ch in enumerate(chars):
        if "\ud800" <= ch <= "\udbff" and i + 1 < len(chars) and "\udc00" <= chars[i + 1] <= "\udfff":
            continue  # a pair: JavaScript keeps it
        if "\udc00" <= ch <= "\udfff" and i > 0 and "\ud800" <= out[i - 1] <= "\udbff":
            continue
        if "\ud800" <= ch <= "\udfff":
            chars[i] = "\\u%04x" % ord(ch)
    return "".join(chars)


def _unquote_simple(cell: str) -> str:
    return cell[1:-1] if len(cell) >= 2 and cell.startswith('"') and cell.endswith('"') else cell


def header_layout(line: str) -> Optional[Tuple[int, ...]]:
    """Column positions when ``line`` is a header (names in any order and ASCII case, quoted or not)."""
    names = [_unquote_simple(c.strip(_JS_SPACE)).lower() for c in line.split(",")]
    if len(names) != len(INVENTORY_COLUMNS):
        return None
    lowered = [c.lower() for c in INVENTORY_COLUMNS]
    if any(name not in names for name in lowered):
        return None
    return tuple(names.index(name) for name in lowered)


def _open_quote(line: str) -> bool:
    """Quotes not preceded by a backslash: an odd count means a quoted field was left open."""
    count = sum(1 for i, ch in enumerate(line) if ch == '"' and (i == 0 or line[i - 1] != "\\"))
    return count % 2 == 1


def _column_count_error(line: str) -> str:
    if _open_quote(line):
        return "unterminated quoted field (is the file truncated?)"
    return f"expected {len(INVENTORY_COLUMNS)} columns, found {len(line.split(','))}"


class _Error(str):
    """An error message (a str subclass so it cannot be mistaken for a decoded description)."""


class RowError(str):
    """Why a line is a bad row (a str: the message), with ``archive_id``: the row's ArchiveId when
    the line could be split and its ArchiveId is valid (TypeScript's ``InventoryRowError.archiveId``),
    otherwise ``""``. The errors file's ArchiveId column."""

    archive_id: str

    def __new__(cls, message: str, archive_id: str = "") -> "RowError":
        error = super().__new__(cls, message)
        error.archive_id = archive_id
        return error


def _description_of(cell: str, line: str) -> Union[str, _Error]:
    if not cell.startswith('"'):
        if "," in cell:
            return _Error(_column_count_error(line))
        return _Error("unexpected quote in unquoted ArchiveDescription") if '"' in cell else cell
    if len(cell) < 2 or not cell.endswith('"'):
        return _Error(_column_count_error(line) if _open_quote(line) else "text after the closing quote of ArchiveDescription")
    inner = cell[1:-1]
    i = inner.find('"')
    while i >= 0:
        if i == 0 or inner[i - 1] != "\\":
            return _Error(_UNESCAPED_QUOTE)
        i = inner.find('"', i + 1)
    # Each `"` was written `\"`: drop the one backslash right before it; other backslashes stay.
    return inner.replace('\\"', '"')


def _split_line(line: str, layout: Sequence[int]) -> Union[list, _Error]:
    """The five cells in INVENTORY_COLUMNS order, or why the line cannot be split."""
    desc_at = layout[1]
    cells = [""] * len(INVENTORY_COLUMNS)
    start = 0
    for p in range(desc_at):
        comma = line.find(",", start)
        if comma < 0:
            return _Error(_column_count_error(line))
        cells[p] = line[start:comma]
        start = comma + 1
    end = len(line)
    for p in range(len(INVENTORY_COLUMNS) - 1, desc_at, -1):
        comma = line.rfind(",", start, end)
        if comma < 0:
            return _Error(_column_count_error(line))
        cells[p] = line[comma + 1:end]
        end = comma
    description = _description_of(line[start:end], line)
    if isinstance(description, _Error):
        return description
    cells[desc_at] = description
    by_column = [cells[p] for p in layout]
    for c in range(len(by_column)):
        if c == 1:
            continue
        value = _unquote_simple(by_column[c])
        if '"' in value:
            return _Error(f"unexpected quote in {INVENTORY_COLUMNS[c]}")
        by_column[c] = value
    return by_column


def _validate(archive_id: str, description: str, creation_date: str, size: str, tree_hash: str) -> Union[Archive, RowError]:
    if archive_id == "":
        return RowError("empty ArchiveId")
    if _BAD_ID_CHARACTER.search(archive_id):
        return RowError("ArchiveId contains whitespace or control characters")
    if _naming.parse_utc_timestamp(creation_date) is None:
        return RowError(f"invalid CreationDate {_js_stringify(creation_date)}: "
                        "expected an ISO-8601 UTC time such as 2012-05-15T17:19:46.700Z", archive_id)
    # int() refuses more than 4,300 digits (Python 3.11), so a long run of digits is sized first.
    size_bytes = -1
    if _DIGITS.fullmatch(size):
        significant = size.lstrip("0") or "0"
        size_bytes = int(significant) if len(significant) <= 16 else MAX_SAFE_INTEGER + 1
    if size_bytes < 0 or size_bytes > MAX_SAFE_INTEGER:
        why = "negative" if _NEGATIVE.match(size) else "expected a whole number of bytes"
        return RowError(f"invalid Size {_js_stringify(size)}: {why}", archive_id)
    if not _TREE_HASH.fullmatch(tree_hash):
        return RowError(f"invalid SHA256TreeHash {_js_stringify(tree_hash)}: expected 64 hex digits", archive_id)
    lower = tree_hash.lower() if _UPPER_HEX.search(tree_hash) else tree_hash
    return (archive_id, description, creation_date, size_bytes, lower)


def parse_inventory_csv_line(line: str, layout: Sequence[int] = GLACIER_LAYOUT,
                             max_line_length: int = DEFAULT_MAX_LINE, later_line: bool = False) -> Union[None, RowError, Archive]:
    """Parses one line of a Glacier CSV inventory.

    Returns None when the line gives no record (the header, or a blank line), a RowError (a str, the
    message, with .archive_id) for a line that cannot be read, or (archive_id, description, creation_date, size, tree_hash)
    with size an int and tree_hash lowercase. ``line`` may still end with ``\\r`` (CRLF files);
    ``layout`` is header_layout() of the file's header when it is not in Glacier's order.
    ``later_line``: the caller knows this is not the file's first line (the Spark job does, from
    row numbers); then, exactly like TypeScript, a BOM is not removed and a header-like line is
    read as data.
    """
    if len(line) > max_line_length or (2 * len(line) > max_line_length and _js_length(line) > max_line_length):
        return RowError(f"line longer than {max_line_length} characters")
    if line.endswith("\r"):
        line = line[:-1]
    if line.startswith("\ufeff") and not later_line:
        line = line[1:]
    if line == "":
        return None
    header = None if later_line else header_layout(line)
    if header is not None:
        if tuple(header) == tuple(layout):
            return None
        return RowError("header lists the columns in another order than the one being read "
                        f"({','.join(INVENTORY_COLUMNS[layout.index(p)] for p in range(len(layout)))})")
    cells = _split_line(line, layout)
    if isinstance(cells, _Error):
        return RowError(cells)
    return _validate(*cells)
