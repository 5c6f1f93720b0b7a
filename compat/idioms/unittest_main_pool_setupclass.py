# Idiom program, written for netpool (not a copy of public code).
# What it does: a pool made in setUpClass, tests run by unittest.main() (which turns warnings on: a ResourceWarning of the workers showed), one test failing on purpose (exit status 1).
# Idiom as seen in: unittest/logging/multiprocessing tutorials and Q&A answers (issue 8, round 3);
#   written anew, no code copied.
# Changes: none needed.
import unittest
import multiprocessing

def double(x):
    return 2 * x

def boom(x):
    raise ValueError(f"bad {x}")

class PoolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pool = multiprocessing.Pool(2)

    @classmethod
    def tearDownClass(cls):
        cls.pool.close()
        cls.pool.join()

    def test_map(self):
        self.assertEqual(self.pool.map(double, [1, 2, 3]), [2, 4, 6])

    def test_error(self):
        with self.assertRaises(ValueError) as cm:
            self.pool.apply(boom, (3,))
        self.assertIn("bad 3", str(cm.exception))

    def test_with_pool(self):
        with multiprocessing.Pool(1) as p:
            self.assertEqual(p.apply(double, (21,)), 42)

    def test_fails_on_purpose(self):
        self.assertEqual(self.pool.map(double, [1]), [3])

if __name__ == "__main__":
    unittest.main()
