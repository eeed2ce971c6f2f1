#!/usr/bin/env python3
"""Replay the qcow2 fuzz seeds (made by gen-qcow2-seeds.py with the real
qemu-img) through qlite-img info and check in every build: good images
open and check clean, the regression inputs fail with one clear error,
and nothing dies of a signal."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
QLITE_IMG = os.environ.get('QLITE_IMG', 'build/qlite-img')


class Qcow2Seeds(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        subprocess.run([sys.executable, os.path.join(HERE,
                        'gen-qcow2-seeds.py'), cls.tmp.name], check=True)
        cls.images = sorted(os.listdir(cls.tmp.name))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def qlite_img(self, *args):
        res = subprocess.run([QLITE_IMG, *args], capture_output=True,
                             text=True, timeout=60)
        self.assertGreaterEqual(res.returncode, 0,
                                'killed by signal: %s' % res.stderr)
        return res

    def test_good_seeds_open_and_check_clean(self):
        good = [i for i in self.images if not i.startswith('regress-')]
        self.assertGreaterEqual(len(good), 7)
        for name in good:
            path = os.path.join(self.tmp.name, name)
            self.assertEqual(self.qlite_img('info', path).returncode, 0)
            res = self.qlite_img('check', path)
            self.assertEqual(res.returncode, 0, name + res.stdout)

    def test_refcount_order_regression(self):
        path = os.path.join(self.tmp.name,
                            'regress-refcount-order-negative.qcow2')
        res = self.qlite_img('info', path)
        self.assertEqual(res.returncode, 1)
        self.assertIn('refcount_order 4294967295 is too large', res.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
