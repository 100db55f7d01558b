"""Tests of glue/partitioning.py against the shared conformance fixture (and Python-only edges).

Run from the repository root: python3 -m unittest discover -s glue -p "test_*.py" -t .
"""

import csv
import io
import json
import os
import unittest

from glue import partitioning as p

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(REPO, "test", "fixtures", "inventory", "partitioning-conformance.json"), encoding="utf-8") as f:
    FIXTURE = json.load(f)


def _fix_surrogates(text: str) -> str:
    """json.load keeps astral characters written as surrogate pairs in escapes as one code point."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16")


class ConformanceTest(unittest.TestCase):
    def test_order(self):
        for c in FIXTURE["order"]:
            with self.subTest(c["name"]):
                archives = [dict(a, archiveId=_fix_surrogates(a["archiveId"])) for a in c["archives"]]
                ordered = sorted(archives, key=lambda a: p.order_key(a["creationDate"], a["archiveId"]))
                self.assertEqual([a["archiveId"] for a in ordered], [_fix_surrogates(e) for e in c["expected"]])

    def test_partitions(self):
        for c in FIXTURE["partitions"]:
            with self.subTest(c["name"]):
                slots = p.assign_partitions(c["sizes"], c["partitionSize"], c["rowsPerFile"])
                self.assertEqual([[s.partition, s.file, s.first_in_file] for s in slots], c["expected"])

    def test_rows(self):
        for c in FIXTURE["rows"]:
            with self.subTest(c["name"]):
                r = c["row"]
                line = p.format_partition_row(r["archiveId"], r["creationDate"], r["size"], r["treeHash"],
                                              r["objectKey"], r["lastModified"], r["description"])
                self.assertEqual(line, c["expected"])

    def test_keys(self):
        for c in FIXTURE["keys"]:
            self.assertEqual(p.partition_file_key(c["runId"], c["partition"], c["file"]), c["expected"])


class PartitioningTest(unittest.TestCase):
    def test_header_matches_contract(self):
        self.assertEqual(p.partition_csv_header(),
                         "ArchiveId,CreationDate,Size,SHA256TreeHash,ObjectKey,LastModified,ArchiveDescription\n")

    def test_invalid_inputs(self):
        with self.assertRaises(ValueError):
            p.creation_sort_key("2020-02-30T00:00:00Z", "x")
        with self.assertRaises(ValueError):
            p.PartitionAssigner(0)
        with self.assertRaises(ValueError):
            p.PartitionAssigner(10, 0)

    def test_rfc4180_round_trip(self):
        values = ["a,b", 'say "hi"', "multi\nline", "plain", ""]
        line = ",".join(p.csv_field(v) for v in values)
        self.assertEqual(next(csv.reader(io.StringIO(line))), values)

    def test_partition_bounds_random(self):
        state = [42]

        def rnd():
            state[0] = (state[0] * 1103515245 + 12345) % 2 ** 31
            return state[0] / 2 ** 31

        sizes = [int(rnd() * 1000) for _ in range(5000)]
        slots = p.assign_partitions(sizes, 10_000, 97)
        totals, counts = {}, {}
        for s, size in zip(slots, sizes):
            totals[s.partition] = totals.get(s.partition, 0) + size
            counts[(s.partition, s.file)] = counts.get((s.partition, s.file), 0) + 1
        self.assertTrue(all(t <= 10_000 for t in totals.values()))
        self.assertTrue(all(c <= 97 for c in counts.values()))


if __name__ == "__main__":
    unittest.main()
