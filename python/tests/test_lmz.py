"""Tests of the Python binding over the built liblmz (run by ctest:
python_binding_test sets $LMZ_LIBRARY, $LMZ_CLI and $LMZ_MODELS_DIR)."""

import os
import random
import subprocess
import tempfile
import unittest

import lmz


def text(size, seed):
    rng = random.Random(seed)
    words = "the of and to in a is that for it as was with archive model window".split()
    out = []
    while sum(map(len, out)) < size:
        out.append(rng.choice(words) + (". " if rng.random() < 0.1 else " "))
    return "".join(out)[:size].encode()


class BindingTest(unittest.TestCase):
    def test_round_trip_and_levels(self):
        data = text(50_000, 1)
        for level in (None, 1, 4, 6):
            archive = lmz.compress(data, level=level, model=None if level else "order2")
            self.assertEqual(lmz.decompress(archive), data)
        self.assertEqual(lmz.decompress(lmz.compress(b"")), b"")
        self.assertTrue(lmz.version().count(".") == 2)

    def test_the_program_reads_what_the_binding_writes(self):
        data = text(30_000, 2)
        archive = lmz.compress(data, model="order2")
        out = subprocess.run([os.environ["LMZ_CLI"], "-dc"], input=archive, capture_output=True,
                             check=True)
        self.assertEqual(out.stdout, data)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x")
            with open(path, "wb") as f:
                f.write(data)
            subprocess.run([os.environ["LMZ_CLI"], "--model", "order2", "--local", path],
                           check=True)
            with open(path + ".lmz", "rb") as f:
                self.assertEqual(lmz.decompress(f.read()), data)
            with lmz.Archive(path + ".lmz") as a:
                self.assertEqual(a.raw_size, len(data))
                self.assertEqual(a.read(1000, 500), data[1000:1500])
                self.assertEqual(a.read(len(data) - 10, 100), data[-10:])
                members = a.members()
                self.assertEqual(len(members), 1)
                self.assertEqual(members[0]["model_name"], "order2")
                self.assertEqual(len(members[0]["model_hash"]), 32)

    def test_random_access_on_bytes(self):
        data = text(200_000, 3)
        archive = lmz.Context(model="order2", threads=1).compress(data)
        a = lmz.Archive(archive)
        for offset in (0, 16383, 16384, 123_456):
            self.assertEqual(a.read(offset, 1000), data[offset:offset + 1000])

    def test_errors_are_exceptions_with_codes(self):
        with self.assertRaises(lmz.LmzError) as e:
            lmz.decompress(b"not an archive")
        self.assertEqual(e.exception.status, lmz.ERROR_CORRUPT)
        self.assertIn("not an lmz archive", str(e.exception))
        archive = lmz.compress(text(20_000, 4), model="order2")
        with self.assertRaises(lmz.LmzError) as e:
            lmz.decompress(archive[: len(archive) // 2])
        self.assertEqual(e.exception.status, lmz.ERROR_CORRUPT)
        with self.assertRaises(lmz.LmzError) as e:
            lmz.Context(level=42)
        self.assertEqual(e.exception.status, lmz.ERROR_USAGE)
        with self.assertRaises(lmz.LmzError) as e:
            lmz.compress(b"x", model="no-such-model")
        self.assertEqual(e.exception.status, lmz.ERROR_USAGE)
        with self.assertRaises(lmz.LmzError) as e:
            lmz.Archive("/nonexistent/file.lmz")
        self.assertEqual(e.exception.status, lmz.ERROR_IO)


if __name__ == "__main__":
    unittest.main()
