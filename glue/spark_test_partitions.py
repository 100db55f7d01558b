"""partition_starts (distributed, chunk by chunk) = PartitionAssigner (sequential), on many chunks."""

import random
import unittest

from glue import inventory_spark, partitioning
from glue.spark_test_support import session


def sequential_starts(sizes, limit):
    starts, offset = [], 0
    for i, slot in enumerate(partitioning.assign_partitions(sizes, limit, 10 ** 9)):
        if slot.first_in_file:
            starts.append((i, offset))
        offset += sizes[i]
    return starts


class PartitionStartsTest(unittest.TestCase):
    def test_same_boundaries_as_the_sequential_rule(self):
        sc = session().sparkContext
        rng = random.Random(17)
        for limit, chunks, n, big in [(100, 7, 300, 0.05), (1000, 5, 200, 0.0), (10, 9, 120, 0.3), (10 ** 6, 4, 50, 0.0), (50, 3, 0, 0.0)]:
            sizes = [rng.randrange(0, 60) if rng.random() >= big else rng.randrange(200, 3000) for _ in range(n)]
            with self.subTest(limit=limit, chunks=chunks, n=n):
                rdd = sc.parallelize([((i,), s) for i, s in enumerate(sizes)], chunks).cache()
                expected = sequential_starts(sizes, limit) if sizes else []
                got = inventory_spark.partition_starts(rdd, limit)
                self.assertEqual(got if sizes else [], expected)


if __name__ == "__main__":
    unittest.main()
