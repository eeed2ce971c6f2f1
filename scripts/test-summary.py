#!/usr/bin/env python3
"""Summarise meson's testlog.json: one line per test that did not pass,
then 'N passed, N failed, N skipped'.  Exit 1 if anything failed."""
import json
import sys


def main():
    passed = failed = skipped = 0
    with open(sys.argv[1], encoding='utf-8') as log:
        for line in log:
            test = json.loads(line)
            result = test['result']
            if result in ('OK', 'EXPECTEDFAIL'):
                passed += 1
            elif result == 'SKIP':
                skipped += 1
                print('skipped: %s' % test['name'])
            else:
                failed += 1
                print('FAILED (%s): %s' % (result, test['name']))
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed or passed == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
