"""Archive naming for the Glue job: Glacier archive description -> safe S3 key.

Plain Python 3 (standard library only). This is the twin of src/core/description-formats.ts,
src/core/safe-key.ts, src/core/utc-timestamp.ts and src/core/archive-naming.ts: both must give
byte-for-byte identical keys, and both run every case of test/fixtures/naming-conformance.json.
The rules are documented in those TypeScript modules; in short:

Description formats (after trimming ASCII whitespace; first match wins):
  empty            nothing left
  fastglacier      <m>...</m> (optionally in one pair of "): <p> base64 UTF-8 path, <lm> time
  fastglacier-v1   <ArchiveMetadata>...</ArchiveMetadata>: <Path> base64 UTF-8 path
  cloudberry       {"Path": ..., "UTCDateModified": ...} (keys in any ASCII case, JSON possibly
                   string-encoded up to twice)
  mt2 / mt1        "mt2 " + base64url(UTF-8 JSON {filename, mtime}); mt1 is UTF-8 encoded twice
  plain            the description itself
A description that claims a format but cannot be decoded -> 00error/<ArchiveId>.

Safe key: lone surrogates -> U+FFFD; drop C0/C1 controls, U+202A-U+202E, U+2066-U+2069, U+FEFF,
U+FFFE, U+FFFF; NFC; "\\" -> "/"; drop empty, blank (white space only), "." and ".." segments;
a drive-letter segment ("C:") becomes the folder "C"; empty ->
00undefined/<ArchiveId>; longer than 1024 - len(prefix) UTF-8 bytes -> middle replaced by
"~" + sha256(name)[:16] + "~" (head ceil(a/2), tail floor(a/2) bytes, a = budget - 18, cut back to
character boundaries).

NFC uses unicodedata (Unicode 14.0 in Python 3.11); Node's ICU is newer, so the two runtimes can
differ only on combining marks / decomposable characters assigned after Unicode 14.0. Compute all
keys of one run with one engine.

Duplicates: see assign_unique_keys. In Spark: window by base key ordered by
(kept first, creation_sort_key, ArchiveId) -> row 1 (and any kept row) keeps its key; the others take duplicate_candidate(level 0),
a window by candidate (same order) with a left join on the taken keys picks the winners; repeat
with level + 1 for the rest while any remain.
"""

import base64
import csv
import hashlib
import io
import json
import re
import unicodedata
from typing import Dict, Iterable, List, NamedTuple, Optional

MAX_KEY_BYTES = 1024
MAX_PREFIX_BYTES = 512
TRUNCATION_MARKER_BYTES = 18
MAX_JSON_DEPTH = 64

_ASCII_WS = "\t\n\v\f\r "
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_SURROGATE = re.compile("[\ud800-\udfff]")
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")
_DRIVE_LETTER = re.compile(r"[A-Za-z]:")
# A segment of white space only (the Unicode White_Space characters clean_text keeps).
_BLANK_SEGMENT = re.compile("[\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*")
_EXTENSION = re.compile(r"(?<=[^/])\.[^./ ]{1,16}\Z")
_EXTENDED_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z")
_BASIC_TIME = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")
_JSON_CLAIM = re.compile(r'(?:\{[\t\n\r ]*"|"\{|"\\"\{)')
_MT = re.compile(r"mt([12]) +(.*)", re.DOTALL)
_B64_STD = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64_URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_WS_RUN = re.compile(r"[\t\n\v\f\r ]+")


class UtcTimestamp(NamedTuple):
    iso: str  # YYYY-MM-DDTHH:MM:SSZ
    compact: str  # YYYY-MM-DDTHHMMSSZ (duplicate suffixes)
    sort_key: str  # YYYYMMDDHHMMSS + 9 fraction digits; string order == time order


class DecodedDescription(NamedTuple):
    format: str
    path: str
    last_modified: Optional[str] = None
    error: Optional[str] = None


class ArchiveKey(NamedTuple):
    key: str
    source: str  # override | description | undefined | error
    format: str
    last_modified: Optional[str] = None
    error: Optional[str] = None


class UniqueKey(NamedTuple):
    archive_id: str
    key: str
    renamed: bool


class _DecodeError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Timestamps


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_utc_timestamp(text: str) -> Optional[UtcTimestamp]:
    """Extended (2012-05-15T17:19:46.700Z) or basic (20190121T085242Z) UTC timestamp, or None."""
    m = _EXTENDED_TIME.fullmatch(text) or _BASIC_TIME.fullmatch(text)
    if not m:
        return None
    y, mo, d, h, mi, s = m.group(1, 2, 3, 4, 5, 6)
    fraction = (m.group(7) if m.re is _EXTENDED_TIME else None) or ""
    month, day = int(mo), int(d)
    if month < 1 or month > 12 or day < 1 or day > _days_in_month(int(y), month):
        return None
    if int(h) > 23 or int(mi) > 59 or int(s) > 59:
        return None
    return UtcTimestamp(
        iso=f"{y}-{mo}-{d}T{h}:{mi}:{s}Z",
        compact=f"{y}-{mo}-{d}T{h}{mi}{s}Z",
        sort_key=f"{y}{mo}{d}{h}{mi}{s}{fraction.ljust(9, '0')}",
    )


# ---------------------------------------------------------------------------------------------
# Safe keys


def _utf8(text: str) -> bytes:
    """UTF-8 bytes, lone surrogates as U+FFFD (what Node's Buffer does)."""
    return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(_utf8(text)).hexdigest()


def clean_text(text: str) -> str:
    """Lone surrogates -> U+FFFD, forbidden characters removed, NFC."""
    if _PRINTABLE_ASCII.fullmatch(text):
        return text
    text = _FORBIDDEN.sub("", _SURROGATE.sub("\ufffd", text))
    return unicodedata.normalize("NFC", text)


def sanitize_path(path: str) -> str:
    """The relative path that follows the destination prefix (may be empty)."""
    kept = []
    for s in clean_text(path).replace("\\", "/").split("/"):
        if s in (".", "..") or _BLANK_SEGMENT.fullmatch(s):
            continue
        kept.append(s[0] if _DRIVE_LETTER.fullmatch(s) else s)
    return "/".join(kept)


def fit_name(name: str, budget: int) -> str:
    """name if it fits in budget UTF-8 bytes, else its middle replaced by ~<16 hex>~."""
    data = name.encode("utf-8")
    if len(data) <= budget:
        return name
    available = budget - TRUNCATION_MARKER_BYTES
    if available < 2:
        raise ValueError(f"key budget {budget} is too small")
    tail_max = available // 2
    head_end = available - tail_max
    while head_end > 0 and (data[head_end] & 0xC0) == 0x80:
        head_end -= 1
    tail_start = len(data) - tail_max
    while tail_start < len(data) and (data[tail_start] & 0xC0) == 0x80:
        tail_start += 1
    marker = "~" + hashlib.sha256(data).hexdigest()[:16] + "~"
    return data[:head_end].decode("utf-8") + marker + data[tail_start:].decode("utf-8")


def assert_valid_key_prefix(prefix: str) -> None:
    """Raises ValueError unless prefix can head a key (see safe-key.ts)."""

    def fail(why: str) -> None:
        raise ValueError(f"Invalid key prefix {json.dumps(prefix)}: {why}")

    if not isinstance(prefix, str):
        fail("not a string")
    if prefix == "":
        return
    if len(_utf8(prefix)) > MAX_PREFIX_BYTES:
        fail(f"longer than {MAX_PREFIX_BYTES} UTF-8 bytes")
    if clean_text(prefix) != prefix:
        fail("contains control, bidi or ill-formed characters, or is not NFC")
    if "\\" in prefix:
        fail("contains a backslash")
    segments = prefix.split("/")
    for i, s in enumerate(segments):
        last = i == len(segments) - 1
        if (s == "" and not last) or s in (".", ".."):
            fail('has an empty, "." or ".." segment')
        if s != "" and _BLANK_SEGMENT.fullmatch(s):
            fail("has a segment of white space only")


def _name_budget(prefix: str) -> int:
    return MAX_KEY_BYTES - len(_utf8(prefix))


def _fit_key(name: str, prefix: str) -> str:
    return prefix + fit_name(name, _name_budget(prefix))


def _fallback_name(folder: str, archive_id: str) -> str:
    return sanitize_path(f"{folder}/{archive_id}")


# ---------------------------------------------------------------------------------------------
# Descriptions


def _trim(text: str) -> str:
    return text.strip(_ASCII_WS)


def _decode_utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _DecodeError(f"{what} is not valid UTF-8") from None


def _decode_base64(text: str, url: bool, what: str) -> bytes:
    compact = text if url else _WS_RUN.sub("", text)
    body = compact.rstrip("=")
    padded = len(body) != len(compact)
    alphabet = _B64_URL if url else _B64_STD
    if not alphabet.fullmatch(compact) or len(body) % 4 == 1 or (padded and len(compact) % 4 != 0):
        raise _DecodeError(f"{what} is not valid {'base64url' if url else 'base64'}")
    padding = "=" * (-len(body) % 4)
    return base64.urlsafe_b64decode(body + padding) if url else base64.b64decode(body + padding)


def _last_modified_of(value: object) -> Optional[str]:
    if not isinstance(value, str):
        return None
    ts = parse_utc_timestamp(_trim(value))
    return ts.iso if ts else None


def _json_depth(text: str) -> int:
    depth = deepest = 0
    in_string = False
    i = 0
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "}]":
            depth -= 1
        i += 1
    return deepest


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _parse_json(text: str, what: str) -> object:
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise _DecodeError(f"{what} is nested too deeply")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _DecodeError(f"{what} is not valid JSON") from None


_MISSING = object()


def _get_ignoring_ascii_case(obj: dict, lower_name: str) -> object:
    """Value of the first key equal to lower_name ignoring ASCII case, in key order."""
    for key in obj:
        if key.isascii() and key.lower() == lower_name:
            return obj[key]
    return _MISSING


def _element(xml: str, tag: str) -> Optional[str]:
    m = re.search(f"<{tag}>([^<]*)</{tag}>", xml)
    return m.group(1) if m else None


def _decode_fastglacier(xml: str, v1: bool) -> DecodedDescription:
    fmt = "fastglacier-v1" if v1 else "fastglacier"
    tag = "Path" if v1 else "p"
    encoded = _element(xml, tag)
    if encoded is None:
        raise _DecodeError(f"no <{tag}> element")
    path = _decode_utf8(_decode_base64(encoded, False, f"<{tag}>"), f"<{tag}>")
    last_modified = None if v1 else _last_modified_of(_element(xml, "lm"))
    return DecodedDescription(fmt, path, last_modified)


def _decode_cloudberry(text: str) -> DecodedDescription:
    value = _parse_json(text, "JSON description")
    level = 0
    while level < 2 and isinstance(value, str):
        value = _parse_json(value, "JSON description")
        level += 1
    if not isinstance(value, dict):
        raise _DecodeError("JSON description is not an object")
    path = _get_ignoring_ascii_case(value, "path")
    if path is _MISSING:
        raise _DecodeError("JSON description has no Path")
    if not isinstance(path, str):
        raise _DecodeError("JSON description Path is not a string")
    return DecodedDescription("cloudberry", path, _last_modified_of(_get_ignoring_ascii_case(value, "utcdatemodified")))


def _decode_mt(fmt: str, payload: str) -> DecodedDescription:
    text = _decode_utf8(_decode_base64(payload, True, f"{fmt} payload"), f"{fmt} payload")
    if fmt == "mt1":
        # mt1 UTF-8-encoded the UTF-8 bytes once more as if they were Latin-1: undo that.
        if any(ord(c) > 0xFF for c in text):
            raise _DecodeError("mt1 payload is not double-encoded UTF-8")
        text = _decode_utf8(text.encode("latin-1"), "mt1 payload")
    value = _parse_json(text, f"{fmt} payload")
    if not isinstance(value, dict):
        raise _DecodeError(f"{fmt} payload is not a JSON object")
    filename = value.get("filename")
    if not isinstance(filename, str):
        raise _DecodeError(f"{fmt} payload has no filename")
    return DecodedDescription(fmt, filename, _last_modified_of(value.get("mtime")))


def _unquote(text: str) -> str:
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return _trim(text[1:-1])
    return text


def _attempt(fmt: str, decode) -> DecodedDescription:
    try:
        return decode()
    except _DecodeError as e:
        return DecodedDescription(fmt, "", None, str(e))


def decode_description(description: str) -> DecodedDescription:
    """Recovers (format, path, last_modified, error) from a description. Never raises on a str."""
    text = _trim(description)
    if text == "":
        return DecodedDescription("empty", "")
    xml = _unquote(text)
    if xml.startswith("<m>") and xml.endswith("</m>"):
        return _attempt("fastglacier", lambda: _decode_fastglacier(xml, False))
    if xml.startswith("<ArchiveMetadata>") and xml.endswith("</ArchiveMetadata>"):
        return _attempt("fastglacier-v1", lambda: _decode_fastglacier(xml, True))
    if _JSON_CLAIM.match(text):
        return _attempt("cloudberry", lambda: _decode_cloudberry(text))
    mt = _MT.fullmatch(text)
    if mt:
        fmt = "mt1" if mt.group(1) == "1" else "mt2"
        return _attempt(fmt, lambda: _decode_mt(fmt, mt.group(2)))
    return DecodedDescription("plain", text)


# ---------------------------------------------------------------------------------------------
# Keys


def to_safe_key(path: str, archive_id: str, prefix: str) -> str:
    """prefix + sanitised path fitted into 1,024 bytes, or prefix + 00undefined/<archive_id>."""
    assert_valid_key_prefix(prefix)
    name = sanitize_path(path)
    return _fit_key(name if name != "" else _fallback_name("00undefined", archive_id), prefix)


def key_for_archive(archive_id: str, description: str, prefix: str, override: Optional[str] = None) -> ArchiveKey:
    """Base key of one archive (before duplicates are resolved)."""
    assert_valid_key_prefix(prefix)
    d = decode_description(description)
    override_name = "" if override is None else sanitize_path(_trim(override))
    if override_name != "":
        return ArchiveKey(_fit_key(override_name, prefix), "override", d.format, d.last_modified, d.error)
    if d.error is not None:
        return ArchiveKey(_fit_key(_fallback_name("00error", archive_id), prefix), "error", d.format, d.last_modified, d.error)
    name = sanitize_path(d.path)
    if name == "":
        return ArchiveKey(_fit_key(_fallback_name("00undefined", archive_id), prefix), "undefined", d.format, d.last_modified)
    return ArchiveKey(_fit_key(name, prefix), "description", d.format, d.last_modified)


def insert_before_extension(name: str, tag: str) -> str:
    m = _EXTENSION.search(name)
    return name[: m.start()] + tag + name[m.start() :] if m else name + tag


def duplicate_candidate(base_key: str, archive_id: str, creation_date: str, level: int, prefix: str) -> str:
    """Key tried by a renamed duplicate at `level` (0 first)."""
    created = parse_utc_timestamp(creation_date)
    if created is None:
        raise ValueError(f"Invalid CreationDate {json.dumps(creation_date)} for archive {archive_id}")
    if not base_key.startswith(prefix):
        raise ValueError(f"Key {json.dumps(base_key)} does not start with prefix {json.dumps(prefix)}")
    digest = sha256_hex(archive_id)
    tag = f"{created.compact} {digest[: 8 << level]}" if level < 4 else f"{created.compact} {digest} {level - 2}"
    return _fit_key(insert_before_extension(base_key[len(prefix) :], f" ({tag})"), prefix)


def assign_unique_keys(records: Iterable[dict], prefix: str) -> List[UniqueKey]:
    """Final keys for dicts with archive_id, creation_date and key (base key); input order kept.

    The owner of each base key is the first archive in (CreationDate instant, ArchiveId) order;
    the others are settled level by level: group the unnamed by duplicate_candidate(level); the
    first of each group wins the candidate unless it is taken (all base keys and earlier winners).
    A record with a true "kept" (downloaded by an earlier execution, on Resume) owns its base key
    whatever the order and is never renamed.
    """
    assert_valid_key_prefix(prefix)
    records = list(records)
    entries = []
    ids = set()
    for index, r in enumerate(records):
        created = parse_utc_timestamp(r["creation_date"])
        if created is None:
            raise ValueError(f"Invalid CreationDate {json.dumps(r['creation_date'])} for archive {r['archive_id']}")
        if not r["key"].startswith(prefix):
            raise ValueError(f"Key of archive {r['archive_id']} does not start with the prefix")
        if r["archive_id"] in ids:
            raise ValueError(f"Archive {r['archive_id']} is listed twice")
        ids.add(r["archive_id"])
        entries.append((created.sort_key, r["archive_id"], index, r))

    def group_by(items, key_of):
        groups: Dict[str, list] = {}
        for e in items:
            groups.setdefault(key_of(e), []).append(e)
        for g in groups.values():
            g.sort(key=lambda e: (not e[3].get("kept", False), e[0], e[1]))
        return groups

    keys: List[Optional[str]] = [None] * len(records)
    by_base = group_by(entries, lambda e: e[3]["key"])
    taken = set(by_base)
    pending = []
    for key, group in by_base.items():
        keys[group[0][2]] = key
        for e in group[1:]:
            if e[3].get("kept", False):
                keys[e[2]] = key
            else:
                pending.append(e)
    level = 0
    while pending:
        by_candidate = group_by(
            pending,
            lambda e: duplicate_candidate(e[3]["key"], e[1], e[3]["creation_date"], level, prefix),
        )
        pending = []
        for candidate, group in by_candidate.items():
            first = 0
            if candidate not in taken:
                keys[group[0][2]] = candidate
                taken.add(candidate)
                first = 1
            pending.extend(group[first:])
        level += 1
    return [UniqueKey(r["archive_id"], keys[i], keys[i] != r["key"]) for i, r in enumerate(records)]


def parse_naming_overrides(text: str) -> Dict[str, str]:
    """GlacierArchiveID,FileName CSV (RFC 4180) -> {archive_id: file_name}; see archive-naming.ts."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    id_column = name_column = -1
    overrides: Dict[str, str] = {}
    seen = set()
    for row in reader:
        if not row or row == [""]:
            continue
        if id_column < 0:
            names = [h.strip().lower() for h in row]
            if "glacierarchiveid" not in names or "filename" not in names:
                raise ValueError("Naming override CSV: the header needs GlacierArchiveID and FileName columns")
            id_column, name_column = names.index("glacierarchiveid"), names.index("filename")
            continue
        archive_id = (row[id_column] if id_column < len(row) else "").strip()
        if archive_id == "":
            continue
        if archive_id in seen:
            raise ValueError(f"Naming override CSV line {reader.line_num}: GlacierArchiveID {archive_id} is listed twice")
        seen.add(archive_id)
        name = row[name_column] if name_column < len(row) else ""
        if name.strip() != "":
            overrides[archive_id] = name
    if id_column < 0:
        raise ValueError("Naming override CSV: the header needs GlacierArchiveID and FileName columns")
    return overrides


def parse_kept_keys(text: str) -> Dict[str, str]:
    """ArchiveId -> ObjectKey of <run>/kept_keys/kept_keys.csv (RFC 4180, header ArchiveId,ObjectKey):
    the archives an earlier execution of the run downloaded; they keep these keys (see assign_unique_keys)."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header != ["ArchiveId", "ObjectKey"]:
        raise ValueError(f"Kept keys CSV: the header must be ArchiveId,ObjectKey, got {header!r}")
    return {r[0]: r[1] for r in rows if len(r) == 2 and r[0] != ""}
