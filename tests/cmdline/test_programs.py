#!/usr/bin/env python3
"""The programs land where README.md says: build/qlite-system-x86_64 and
build/qlite-img, at the top of the build directory, and run.

usage: test_programs.py BUILD_DIR
"""
import os
import subprocess
import sys
import unittest

BUILD_DIR = None
PROGRAMS = {'qlite-system-x86_64': 'QEMU emulator version',
            'qlite-img': 'qlite-img version'}


class ProgramsTest(unittest.TestCase):
    def test_at_top_of_build_dir(self):
        for name, banner in PROGRAMS.items():
            path = os.path.join(BUILD_DIR, name)
            with self.subTest(program=name):
                self.assertTrue(os.access(path, os.X_OK),
                                '%s is not an executable' % path)
                r = subprocess.run([path, '--version'], capture_output=True,
                                   text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(banner, r.stdout)


if __name__ == '__main__':
    BUILD_DIR = sys.argv.pop(1)
    unittest.main(verbosity=2)
