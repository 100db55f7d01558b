"""Tests of glue/inventory_csv.py: every shared conformance case, plus the exact error messages.

Run from the repository root: python3 -m unittest discover -s glue -p "test_*.py" -t .
"""

import json
import os
import random
import unittest

from glue import inventory_csv as inv

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(REPO, "test", "fixtures", "inventory", "csv-lines-conformance.json"), encoding="utf-8") as f:
    FIXTURE = json.load(f)

HEADER = "ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash"
ID = "DMTmICA2n5Tdqq5BV2z7og-A20xnpAPKt3UXwWxdWsn_D6auTUrW6kwy5Qyj9xd1MCE1mBYvMQ63LWaT8yTMzMaCxB_9VBWrW4Jw4zsvg5kehAPDVKcppUD1X7b24JukOr4mMAq-oA"
DATE = "2012-05-15T17:19:46.700Z"
HASH = "0123456789abcdef" * 4


def row(description_field, date=DATE, size="42", tree_hash=HASH, archive_id=ID):
    return f"{archive_id},{description_field},{date},{size},{tree_hash}"


def glacier_field(description):
    """Glacier's own encoding of a description: quoted when it holds , or ", each " -> \\", backslashes as is."""
    return '"' + description.replace('"', '\\"') + '"' if ("," in description or '"' in description) else description


class ConformanceTest(unittest.TestCase):
    def test_fixture_is_substantial(self):
        cases = FIXTURE["cases"]
        self.assertEqual(FIXTURE["header"], HEADER)
        self.assertGreaterEqual(len(cases), 80)
        kinds = {"none" if c["expected"] is None else "error" if c["expected"].get("error") else "archive" for c in cases}
        self.assertEqual(kinds, {"none", "error", "archive"})

    def test_every_case(self):
        for c in FIXTURE["cases"]:
            with self.subTest(c["name"]):
                got = inv.parse_inventory_csv_line(c["line"], later_line=not c.get("firstLine"))
                expected = c["expected"]
                if expected is None:
                    self.assertIsNone(got)
                elif expected.get("error"):
                    self.assertIsInstance(got, inv.RowError, f"expected an error, got {got!r}")
                    if not c.get("firstLine"):  # TypeScript reports a bad first line as a missing header
                        self.assertEqual(got.archive_id, expected["archiveId"])
                else:
                    self.assertEqual(got, (expected["archiveId"], expected["description"], expected["creationDate"],
                                           expected["size"], expected["treeHash"]))
                    self.assertIs(type(got[3]), int)


class DialectTest(unittest.TestCase):
    def test_backslash_escaped_quotes(self):
        self.assertEqual(inv.parse_inventory_csv_line(row('"my archive description,1\\"2"'))[1], 'my archive description,1"2')
        self.assertEqual(inv.parse_inventory_csv_line(row('"my archive description,1\\\\"2"'))[1], 'my archive description,1\\"2')

    def test_description_ending_with_backslash(self):
        self.assertEqual(inv.parse_inventory_csv_line(row('"a, b\\"'))[1], "a, b\\")
        self.assertEqual(inv.parse_inventory_csv_line(row("a\\"))[1], "a\\")

    def test_commas_and_windows_paths(self):
        self.assertEqual(inv.parse_inventory_csv_line(row('"C:\\dir, x\\y.txt"'))[1], "C:\\dir, x\\y.txt")
        self.assertEqual(inv.parse_inventory_csv_line(row("C:\\dir\\y.txt"))[1], "C:\\dir\\y.txt")
        self.assertEqual(inv.parse_inventory_csv_line(row('",a,,b,"'))[1], ",a,,b,")

    def test_unicode(self):
        self.assertEqual(inv.parse_inventory_csv_line(row('"日本, 😀"')), (ID, "日本, 😀", DATE, 42, HASH))

    def test_crlf_bom_header_blank(self):
        self.assertEqual(inv.parse_inventory_csv_line(row("x") + "\r"), (ID, "x", DATE, 42, HASH))
        self.assertEqual(inv.parse_inventory_csv_line("\ufeff" + row("x") + "\r"), (ID, "x", DATE, 42, HASH))
        self.assertIsNone(inv.parse_inventory_csv_line("\ufeff" + HEADER + "\r"))
        self.assertIsNone(inv.parse_inventory_csv_line('"ARCHIVEID","archivedescription",CreationDate,Size,sha256treehash'))
        self.assertIsNone(inv.parse_inventory_csv_line(""))
        self.assertIsNone(inv.parse_inventory_csv_line("\r"))

    def test_upper_case_hash_is_lowered(self):
        self.assertEqual(inv.parse_inventory_csv_line(row("x", tree_hash=HASH.upper()))[4], HASH)

    def test_round_trip_of_glacier_encoding(self):
        rnd = random.Random(7)
        alphabet = ['a', ',', '"', '\\', ' ', 'Z', '{', '}', 'é']
        for _ in range(3000):
            description = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
            with self.subTest(description=description):
                self.assertEqual(inv.parse_inventory_csv_line(row(glacier_field(description))), (ID, description, DATE, 42, HASH))

    def test_header_layout(self):
        self.assertEqual(inv.header_layout(HEADER), inv.GLACIER_LAYOUT)
        self.assertEqual(inv.header_layout('"SHA256TREEHASH",size,ArchiveDescription,CreationDate,archiveid'), (4, 2, 3, 1, 0))
        self.assertIsNone(inv.header_layout("Id,Name"))
        self.assertIsNone(inv.header_layout(HEADER + ",Extra"))

    def test_other_layout(self):
        layout = inv.header_layout("SHA256TreeHash,Size,ArchiveDescription,CreationDate,ArchiveId")
        line = f'{HASH.upper()},7,"a, b",{DATE},X1'
        self.assertEqual(inv.parse_inventory_csv_line(line, layout), ("X1", "a, b", DATE, 7, HASH))
        self.assertIsNone(inv.parse_inventory_csv_line("sha256treehash,size,archivedescription,creationdate,archiveid", layout))
        # With Glacier's layout, a reordered header is loud instead of silently shifting every column.
        self.assertRegex(inv.parse_inventory_csv_line("SHA256TreeHash,Size,ArchiveDescription,CreationDate,ArchiveId"),
                         r"^header lists the columns in another order than the one being read \(" + HEADER + r"\)$")

    def test_line_length_is_counted_in_utf16_units(self):
        small = 100
        self.assertEqual(inv.parse_inventory_csv_line("x" * 101, max_line_length=small), "line longer than 100 characters")
        # 50 astral characters are 100 UTF-16 units (JavaScript's String.length): not too long; 51 are.
        ok = row("😀" * 10)
        self.assertNotIsInstance(inv.parse_inventory_csv_line(ok, max_line_length=len(ok) + 10), str)
        self.assertEqual(inv.parse_inventory_csv_line(ok, max_line_length=len(ok) + 9), f"line longer than {len(ok) + 9} characters")
        self.assertEqual(inv.parse_inventory_csv_line("y" * 65_537), "line longer than 65536 characters")
        self.assertIsInstance(inv.parse_inventory_csv_line(row("y" * (65_536 - len(row("")) - 1)) + "\r"), tuple)


class ErrorMessageTest(unittest.TestCase):
    """The exact messages of src/core/inventory.ts (test/core/inventory.test.ts)."""

    CASES = [
        ("too few columns", f"a,x,{DATE},42", "expected 5 columns, found 4"),
        ("one column", "just text", "expected 5 columns, found 1"),
        ("too many columns", row("x,y"), "expected 5 columns, found 6"),
        ("unescaped quote", row('"say "hi""'),
         'unescaped quote inside the quoted ArchiveDescription (Glacier writes \\"), or too many columns'),
        ("an extra quoted column", row('"x","y"'),
         'unescaped quote inside the quoted ArchiveDescription (Glacier writes \\"), or too many columns'),
        ("text after the closing quote", row('"x"y'), "text after the closing quote of ArchiveDescription"),
        ("quote in an unquoted description", row('say"hi'), "unexpected quote in unquoted ArchiveDescription"),
        ("quote in another column", row("x", size='"4"2'), "unexpected quote in Size"),
        ("quote in the ArchiveId", row("x", archive_id='a"b'), "unexpected quote in ArchiveId"),
        ("truncated quoted description", 'b,"cut here, in the middle', "unterminated quoted field (is the file truncated?)"),
        ("empty ArchiveId", row("x", archive_id=""), "empty ArchiveId"),
        ("quoted empty ArchiveId", row("x", archive_id='""'), "empty ArchiveId"),
        ("ArchiveId with a space", row("x", archive_id="a b"), "ArchiveId contains whitespace or control characters"),
        ("ArchiveId with a BOM inside", row("x", archive_id="a\ufeffb"), "ArchiveId contains whitespace or control characters"),
        ("negative Size", row("x", size="-5"), 'invalid Size "-5": negative'),
        ("non-integer Size", row("x", size="1.5"), 'invalid Size "1.5": expected a whole number of bytes'),
        ("non-numeric Size", row("x", size="abc"), 'invalid Size "abc": expected a whole number of bytes'),
        ("empty Size", row("x", size=""), 'invalid Size "": expected a whole number of bytes'),
        ("Size 2^53 + 1", row("x", size="9007199254740993"), 'invalid Size "9007199254740993": expected a whole number of bytes'),
        ("Size of Arabic-Indic digits", row("x", size="\u0664\u0662"), 'invalid Size "\u0664\u0662": expected a whole number of bytes'),
        ("Size with a tab", row("x", size="4\t2"), 'invalid Size "4\\t2": expected a whole number of bytes'),
        ("tree hash too short", row("x", tree_hash=HASH[1:]), f'invalid SHA256TreeHash "{HASH[1:]}": expected 64 hex digits'),
        ("tree hash not hex", row("x", tree_hash="g" * 64), f'invalid SHA256TreeHash "{"g" * 64}": expected 64 hex digits'),
        ("CreationDate not ISO-8601", row("x", date="15/05/2012"),
         'invalid CreationDate "15/05/2012": expected an ISO-8601 UTC time such as 2012-05-15T17:19:46.700Z'),
        ("CreationDate not a real day", row("x", date="2013-02-29T00:00:00Z"),
         'invalid CreationDate "2013-02-29T00:00:00Z": expected an ISO-8601 UTC time such as 2012-05-15T17:19:46.700Z'),
        ("CreationDate without zone", row("x", date="2013-02-28T00:00:00"),
         'invalid CreationDate "2013-02-28T00:00:00": expected an ISO-8601 UTC time such as 2012-05-15T17:19:46.700Z'),
    ]

    def test_messages(self):
        for name, line, message in self.CASES:
            with self.subTest(name):
                self.assertEqual(inv.parse_inventory_csv_line(line), message)
                self.assertEqual(inv.parse_inventory_csv_line(line + "\r"), message)

    def test_checks_run_in_the_typescript_order(self):
        # Every field wrong: the ArchiveId is reported first, then CreationDate, Size, tree hash.
        self.assertEqual(inv.parse_inventory_csv_line(row("x", DATE.lower(), "-1", "z", "")), "empty ArchiveId")
        self.assertTrue(inv.parse_inventory_csv_line(row("x", "bad", "-1", "z")).startswith("invalid CreationDate"))
        self.assertTrue(inv.parse_inventory_csv_line(row("x", DATE, "-1", "z")).startswith("invalid Size"))

    def test_huge_size_does_not_raise(self):
        self.assertEqual(inv.parse_inventory_csv_line(row("x", size="9" * 5000)),
                         f'invalid Size "{"9" * 5000}": expected a whole number of bytes')
        self.assertEqual(inv.parse_inventory_csv_line(row("x", size="0" * 5000 + "42")), (ID, "x", DATE, 42, HASH))

    def test_js_stringify_of_lone_surrogates(self):
        self.assertEqual(inv._js_stringify("a\ud800b"), '"a\\ud800b"')
        self.assertEqual(inv._js_stringify('q"\\\n\x01\x7f'), '"q\\"\\\\\\n\\u0001\x7f"')


if __name__ == "__main__":
    unittest.main()
