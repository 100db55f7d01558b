"""The Spark engine against the Lambda engine on the shared cross-engine cases, byte for byte.

Run by `npx projen test:spark` after test/cross-engine/lambda-engine-outputs.ts has written the
cases and the Lambda engine's outputs to .spark-tmp/cross-engine (CROSS_ENGINE_DIR). Every file
the Lambda engine wrote (partition files, skipped, errors) must exist with the same bytes, no other
file may exist, and the summaries must be equal apart from `engine`. One SparkSession serves
every Spark test (spark_test_support.session()).
"""

import json
import os
import shutil
import unittest

from glue import inventory_spark
from glue.spark_test_support import session

CASES_DIR = os.environ.get("CROSS_ENGINE_DIR", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".spark-tmp", "cross-engine"))


def files_under(root: str) -> dict:
    out = {}
    for base, _dirs, names in os.walk(root):
        for n in names:
            p = os.path.join(base, n)
            out[os.path.relpath(p, root)] = p
    return out


class CrossEngineTest(unittest.TestCase):
    def test_cases(self):
        manifest_path = os.path.join(CASES_DIR, "cases.json")
        if not os.path.isfile(manifest_path):
            self.fail(f"{manifest_path} is missing: run `npx tsx test/cross-engine/lambda-engine-outputs.ts {CASES_DIR}` first")
        with open(manifest_path, encoding="utf-8") as f:
            cases = json.load(f)
        self.assertGreaterEqual(len(cases), 8)
        spark = session()
        for c in cases:
            with self.subTest(c["name"]):
                out = os.path.join(CASES_DIR, c["name"], "spark")
                shutil.rmtree(out, ignore_errors=True)
                with open(c["inventory"], "r", encoding="utf-8", errors="replace", newline="") as f:
                    head = f.read(inventory_spark.HEAD_CHARS)
                options = inventory_spark.Options(c["runId"], c["prefix"], c["partitionSize"], c["maxArchiveSize"], c["rowsPerFile"])
                summary = inventory_spark.run_inventory(spark, c["inventory"], head, options, inventory_spark.LocalStore(out),
                                                        c["overrides"] or None, c.get("keptKeys") or None)
                lambda_files = {k: v for k, v in files_under(c["lambda"]).items() if not k.endswith("inventory_summary.json")}
                spark_files = files_under(out)
                self.assertEqual(sorted(spark_files), sorted(lambda_files))
                for key, path in lambda_files.items():
                    with open(path, "rb") as a, open(spark_files[key], "rb") as b:
                        self.assertEqual(b.read().decode("utf-8"), a.read().decode("utf-8"), key)
                expected = dict(c["summary"], engine="glue")
                self.assertEqual(summary, expected)


if __name__ == "__main__":
    unittest.main()
