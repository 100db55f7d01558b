"""Tests of glue/archive_naming.py: every shared conformance case, plus Python-only edges.

Run from the repository root: python3 -m unittest discover -s glue -p "test_*.py" -t .
"""

import base64
import json
import os
import random
import re
import unittest

from glue import archive_naming as naming

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(REPO, "test", "fixtures", "naming-conformance.json"), encoding="utf-8") as f:
    CONFORMANCE = json.load(f)

FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]")


def assert_safe_key(test: unittest.TestCase, key: str, prefix: str) -> None:
    test.assertTrue(key.startswith(prefix))
    test.assertGreater(len(key), len(prefix))
    test.assertLessEqual(len(key.encode("utf-8")), naming.MAX_KEY_BYTES)
    test.assertFalse(key.startswith("/"))
    test.assertNotIn("//", key)
    test.assertFalse(key.endswith("/"))
    test.assertFalse(any(s in (".", "..") for s in key.split("/")))
    test.assertIsNone(FORBIDDEN.search(key))


class ConformanceTest(unittest.TestCase):
    def test_fixture_size(self):
        self.assertGreaterEqual(len(CONFORMANCE["cases"]), 40)

    def test_cases(self):
        for c in CONFORMANCE["cases"]:
            with self.subTest(c["name"]):
                k = naming.key_for_archive(c["archiveId"], c["description"], c["prefix"], c.get("override"))
                self.assertEqual(k.key, c["expected"]["key"])
                self.assertEqual(k.format, c["expected"]["format"])
                self.assertEqual(k.last_modified, c["expected"]["lastModified"])
                if "source" in c["expected"]:
                    self.assertEqual(k.source, c["expected"]["source"])
                assert_safe_key(self, k.key, c["prefix"])

    def test_duplicate_groups(self):
        for g in CONFORMANCE["duplicateGroups"]:
            with self.subTest(g["name"]):
                keyed = [
                    {
                        "archive_id": r["archiveId"],
                        "creation_date": r["creationDate"],
                        "key": naming.key_for_archive(r["archiveId"], r["description"], g["prefix"], r.get("override")).key,
                    }
                    for r in g["records"]
                ]
                for records in (keyed, list(reversed(keyed))):
                    got = {u.archive_id: u.key for u in naming.assign_unique_keys(records, g["prefix"])}
                    self.assertEqual(got, g["expected"])


class DecodeTest(unittest.TestCase):
    def test_error_keeps_claimed_format(self):
        d = naming.decode_description("<ArchiveMetadata><Path>***</Path></ArchiveMetadata>")
        self.assertEqual((d.format, d.path), ("fastglacier-v1", ""))
        self.assertIn("base64", d.error)

    def test_unicode_digits_are_not_time_digits(self):
        # \d in Python matches Arabic-Indic digits; the rules only accept ASCII digits.
        self.assertIsNone(naming.parse_utc_timestamp("\u0662\u0660\u0661\u0669-01-21T08:52:42Z"))
        self.assertIsNone(naming.parse_utc_timestamp("20190121T085242Z\n"))

    def test_deep_json_does_not_hit_the_recursion_limit(self):
        d = naming.decode_description('{"Path":"a","x":' + "[" * 5000 + "]" * 5000 + "}")
        self.assertEqual(d.error, "JSON description is nested too deeply")

    def test_surrogates_become_replacement_characters(self):
        self.assertEqual(naming.to_safe_key("a\udc00b", "ID", ""), "a\ufffdb")
        # Hashing never fails on them either (Node's Buffer also writes U+FFFD).
        self.assertEqual(naming.sha256_hex("\ud800"), naming.sha256_hex("\ufffd"))


class PrefixTest(unittest.TestCase):
    def test_rejected(self):
        for prefix in ("/abs", "a//b", "a/./b", "../x", "a/..", "a\\b", "tab\there", "x" * 513, "e\u0301/", "   /", "a/\u00a0/b/"):
            with self.subTest(prefix=prefix):
                with self.assertRaises(ValueError):
                    naming.to_safe_key("a", "ID", prefix)

    def test_accepted(self):
        for prefix in ("", "restored/", "vault-a-", "a/b/c", "\u65e5\u672c/", "x" * 511 + "/", "my vault/"):
            naming.assert_valid_key_prefix(prefix)


class DuplicateTest(unittest.TestCase):
    FULL = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")

    def test_levels(self):
        got = [naming.duplicate_candidate("r/a.txt", "abc", "2019-01-21T08:52:42.999Z", level, "r/") for level in range(6)]
        self.assertEqual(
            got,
            [
                f"r/a (2019-01-21T085242Z {self.FULL[:8]}).txt",
                f"r/a (2019-01-21T085242Z {self.FULL[:16]}).txt",
                f"r/a (2019-01-21T085242Z {self.FULL[:32]}).txt",
                f"r/a (2019-01-21T085242Z {self.FULL}).txt",
                f"r/a (2019-01-21T085242Z {self.FULL} 2).txt",
                f"r/a (2019-01-21T085242Z {self.FULL} 3).txt",
            ],
        )

    def test_kept_archive_owns_its_key(self):
        records = [
            {"archive_id": "older", "creation_date": "2001-01-01T00:00:00Z", "key": "p/photo.jpg"},
            {"archive_id": "done", "creation_date": "2019-01-21T08:52:42Z", "key": "p/photo.jpg", "kept": True},
        ]
        got = {u.archive_id: u for u in naming.assign_unique_keys(records, "p/")}
        self.assertEqual(got["done"].key, "p/photo.jpg")
        self.assertFalse(got["done"].renamed)
        self.assertEqual(got["older"].key, naming.duplicate_candidate("p/photo.jpg", "older", "2001-01-01T00:00:00Z", 0, "p/"))

    def test_parse_kept_keys(self):
        text = 'ArchiveId,ObjectKey\nA1,"p/a, b.jpg"\nA2,"say ""hi"".txt"\n'
        self.assertEqual(naming.parse_kept_keys(text), {"A1": "p/a, b.jpg", "A2": 'say "hi".txt'})
        with self.assertRaisesRegex(ValueError, "header must be ArchiveId,ObjectKey"):
            naming.parse_kept_keys("GlacierArchiveID,FileName\n")

    def test_errors(self):
        ok = {"archive_id": "x", "creation_date": "2019-01-21T08:52:42Z", "key": "r/a"}
        with self.assertRaisesRegex(ValueError, "listed twice"):
            naming.assign_unique_keys([ok, dict(ok)], "r/")
        with self.assertRaisesRegex(ValueError, "Invalid CreationDate"):
            naming.assign_unique_keys([dict(ok, creation_date="2019-02-30T00:00:00Z")], "r/")

    def test_random_batches_are_unique_and_order_independent(self):
        rng = random.Random(1125)
        names = ["a.jpg", f"a (2019-01-21T085242Z {self.FULL[:8]}).jpg", "b", ".env", "n" * 1100 + ".txt"]
        dates = ["2019-01-21T08:52:42.000Z", "2019-01-21T08:52:42.5Z", "2020-01-01T00:00:00Z"]
        for _ in range(200):
            size = rng.randint(1, 30)
            ids = rng.sample(["abc"] + [f"id{i}" for i in range(60)], size)
            prefix = rng.choice(["", "r/", "vault-"])
            records = [
                {"archive_id": i, "creation_date": rng.choice(dates), "key": naming.to_safe_key(rng.choice(names), i, prefix)}
                for i in ids
            ]
            first = {u.archive_id: u.key for u in naming.assign_unique_keys(records, prefix)}
            self.assertEqual(len(set(first.values())), len(records))
            rng.shuffle(records)
            self.assertEqual({u.archive_id: u.key for u in naming.assign_unique_keys(records, prefix)}, first)
            for key in first.values():
                assert_safe_key(self, key, prefix)


class FuzzTest(unittest.TestCase):
    """A small random sweep (the TypeScript tests run fast-check and compare with this module)."""

    def test_random_descriptions_give_safe_keys(self):
        rng = random.Random(20261125)
        alphabet = [".", "/", "\\", " ", "C:", "..", "a", "\u00e9", "e\u0301", "\u202e", "\x00", "\U0001f600", "\u65e5", "\ud800"]
        for _ in range(1500):
            raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 80)))
            encoded = base64.b64encode(data).decode()
            description = rng.choice(
                [
                    raw,
                    f"<m><v>4</v><p>{encoded}</p></m>",
                    f"<ArchiveMetadata><Path>{encoded}</Path></ArchiveMetadata>",
                    "mt2 " + encoded.replace("+", "-").replace("/", "_").rstrip("="),
                    json.dumps({"Path": raw}),
                ]
            )
            prefix = rng.choice(["", "restored/", "x" * 500 + "/"])
            k = naming.key_for_archive("ID-1", description, prefix)
            assert_safe_key(self, k.key, prefix)
            self.assertEqual(naming.key_for_archive("ID-1", description, prefix), k)


class OverridesTest(unittest.TestCase):
    def test_parse(self):
        text = '\ufeffGlacierArchiveID,FileName\r\nA1,"photos/a, b.jpg"\r\nA2,\r\n,\r\nA3,"say ""hi"".txt"\r\n  A4  ,  \r\n'
        self.assertEqual(naming.parse_naming_overrides(text), {"A1": "photos/a, b.jpg", "A3": 'say "hi".txt'})

    def test_other_column_order(self):
        self.assertEqual(naming.parse_naming_overrides("filename,extra,GLACIERARCHIVEID\nx.txt,1,ID-9\n"), {"ID-9": "x.txt"})

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "GlacierArchiveID and FileName"):
            naming.parse_naming_overrides("ArchiveId,FileName\nA,b\n")
        with self.assertRaisesRegex(ValueError, "GlacierArchiveID and FileName"):
            naming.parse_naming_overrides("")
        with self.assertRaisesRegex(ValueError, "line 4: GlacierArchiveID A is listed twice"):
            naming.parse_naming_overrides("GlacierArchiveID,FileName\nA,b\nB,c\nA,d\n")


if __name__ == "__main__":
    unittest.main()
