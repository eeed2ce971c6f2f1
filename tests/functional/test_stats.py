#!/usr/bin/env python3
"""query-stats, query-stats-schemas, HMP "info stats" and qlite-stat.

The guest is a bzImage-shaped kernel of a few bytes (test_kvm.make_kernel)
that writes port 0x80 in a loop forever, so its vCPU runs real code (and
translated code, in 64-bit mode) and its counters keep growing.  Nothing
waits a fixed time: every check that needs a counter to move polls until
it has, under a deadline.

QLITE_STAT names build/qlite-stat (meson sets it).  The KVM tests skip
where /dev/kvm is unusable; the one that compares with the real QEMU also
where qemu-system-x86_64 is missing.
"""
import json
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_kvm import make_kernel  # noqa: E402
from test_qmp_client import (SRC_ROOT, TIMEOUT, Emulator,  # noqa: E402
                             QMPClient)

SPIN_OUT = b'\xe6\x80\xeb\xfc'      # L: out 0x80, al; jmp L
STAT_TYPES = {'cumulative', 'instant', 'peak', 'linear-histogram',
              'log2-histogram'}
STAT_UNITS = {'bytes', 'seconds', 'cycles', 'boolean'}
SCHEMA_KEYS = {'name', 'type', 'unit', 'base', 'exponent', 'bucket-size'}
VCPU0 = '/machine/unattached/device[0]'


def qlite_stat():
    return os.environ.get('QLITE_STAT') or os.path.join(
        SRC_ROOT, 'build', 'qlite-stat')


def kvm_unusable():
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR))
    except OSError as e:
        return '/dev/kvm: %s' % e.strerror
    return None


def wait_until(fn, what, timeout=TIMEOUT):
    """Poll fn() until it returns a true value; fail after @timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for ' + what)
        time.sleep(0.01)


def by_name(result):
    return {s['name']: s['value'] for s in result['stats']}


class GuestCase(unittest.TestCase):
    """A running guest with one QMP connection (self.qmp)."""
    accel = 'tcg'
    emulator = None

    def start(self, machine=('-machine', 'pc')):
        self.tmp = tempfile.mkdtemp(prefix='qlite-stats-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        kernel = os.path.join(self.tmp, 'bzImage')
        make_kernel(kernel, SPIN_OUT)
        extra = ['-accel', self.accel, '-m', '64M', '-serial', 'none',
                 '-monitor', 'none']
        if machine[-1] != 'none':
            extra += ['-kernel', kernel]
        self.vm = Emulator(machine=machine, extra=extra,
                           emulator=self.emulator)
        self.addCleanup(self.vm.close)
        self.qmp = self.vm.connect()

    def wait_running(self):
        """Until the guest's loop has written its port once (tcg)."""
        wait_until(lambda: any(
            by_name(r).get('io_writes') for r in self.stats(
                'vcpu', providers=[{'provider': 'tcg',
                                    'names': ['io_writes']}])),
            'the guest to run')

    def stats(self, target, **args):
        args['target'] = target
        return self.qmp.ok('query-stats', args)

    def error(self, name, args):
        reply = self.qmp.cmd(name, args)
        self.assertIn('error', reply, reply)
        self.assertEqual(reply['error']['class'], 'GenericError')
        return reply['error']['desc']

    def schema_map(self):
        """{(provider, target): {name: StatsSchemaValue}}"""
        return {(s['provider'], s['target']):
                {v['name']: v for v in s['stats']}
                for s in self.qmp.ok('query-stats-schemas')}

    def check_values(self, results, target):
        """Every returned stat is in the schema and its value fits it."""
        schema = self.schema_map()
        for res in results:
            self.assertEqual(set(res) - {'qom-path'}, {'provider', 'stats'})
            self.assertEqual('qom-path' in res, target == 'vcpu')
            names = schema[(res['provider'], target)]
            for st in res['stats']:
                self.assertEqual(set(st), {'name', 'value'})
                desc = names[st['name']]
                value = st['value']
                if desc['type'].endswith('histogram'):
                    self.assertIsInstance(value, list)
                    self.assertTrue(all(isinstance(v, int) for v in value))
                elif desc.get('unit') == 'boolean':
                    self.assertIsInstance(value, bool)
                else:
                    self.assertIsInstance(value, int)
                    self.assertNotIsInstance(value, bool)
                    self.assertGreaterEqual(value, 0)


class TcgStatsTest(GuestCase):
    def setUp(self):
        self.start()
        self.wait_running()

    def vcpu_tcg(self, names=None):
        req = {'provider': 'tcg'}
        if names is not None:
            req['names'] = names
        res = self.stats('vcpu', providers=[req])
        self.assertEqual(len(res), 1, res)
        self.assertEqual(res[0]['qom-path'], VCPU0)
        return by_name(res[0])

    def test_schema_shape(self):
        schemas = self.qmp.ok('query-stats-schemas')
        self.assertEqual({(s['provider'], s['target']) for s in schemas},
                         {('tcg', 'vm'), ('tcg', 'vcpu')})
        for s in schemas:
            self.assertEqual(set(s), {'provider', 'target', 'stats'})
            for v in s['stats']:
                self.assertLessEqual(set(v), SCHEMA_KEYS, v)
                self.assertIn(v['type'], STAT_TYPES)
                self.assertIsInstance(v['exponent'], int)
                if 'unit' in v:
                    self.assertIn(v['unit'], STAT_UNITS)
        names = self.schema_map()[('tcg', 'vcpu')]
        for n in ('blocks_translated', 'blocks_chained', 'io_writes',
                  'tlb_fills', 'halt_exits', 'irq_injections', 'exits_kick'):
            self.assertIn(n, names)
        self.assertIn('tb_flushes', self.schema_map()[('tcg', 'vm')])

    def test_schemas_filter_by_provider(self):
        only = self.qmp.ok('query-stats-schemas', {'provider': 'tcg'})
        self.assertEqual({s['provider'] for s in only}, {'tcg'})
        self.assertEqual(self.qmp.ok('query-stats-schemas',
                                     {'provider': 'kvm'}), [])

    def test_values_fit_schema(self):
        for target in ('vm', 'vcpu'):
            res = self.stats(target)
            self.assertTrue(res)
            self.check_values(res, target)

    def test_counters_grow(self):
        first = self.vcpu_tcg()
        blocks = lambda s: (s['blocks_interpreted'] + s['blocks_translated']
                            + s['blocks_chained'])
        self.assertGreater(blocks(first), 0)
        self.assertGreater(first['io_writes'], 0)
        self.assertGreater(first['translations'], 0)
        self.assertGreater(first['tlb_fills'], 0)
        later = wait_until(
            lambda: (lambda s: s if s['io_writes'] > first['io_writes'] and
                     blocks(s) > blocks(first) else None)(self.vcpu_tcg()),
            'the counters to grow')
        for name, value in first.items():
            self.assertGreaterEqual(later[name], value, name)

    def test_names_filter(self):
        self.assertEqual(set(self.vcpu_tcg(['io_writes'])), {'io_writes'})
        self.assertEqual(set(self.vcpu_tcg(['io_writes', 'tlb_fills'])),
                         {'io_writes', 'tlb_fills'})
        # Two requests for one provider: the union of their names.
        res = self.stats('vcpu', providers=[
            {'provider': 'tcg', 'names': ['io_writes']},
            {'provider': 'tcg', 'names': ['decodes']}])
        self.assertEqual(set(by_name(res[0])), {'io_writes', 'decodes'})
        # No such name: nothing, not an empty entry.
        self.assertEqual(self.stats('vcpu', providers=[
            {'provider': 'tcg', 'names': ['no_such_stat']}]), [])
        vm = self.stats('vm', providers=[{'provider': 'tcg',
                                          'names': ['tb_flushes']}])
        self.assertEqual(len(vm), 1)
        self.assertNotIn('qom-path', vm[0])
        self.assertEqual(set(by_name(vm[0])), {'tb_flushes'})

    def test_provider_and_vcpu_filters(self):
        # Under tcg there is no kvm provider: nothing, not an error.
        self.assertEqual(self.stats('vm', providers=[{'provider': 'kvm'}]),
                         [])
        self.assertEqual(len(self.stats('vcpu', vcpus=[VCPU0])), 1)
        self.assertEqual(self.stats('vcpu', vcpus=['/machine/nope']), [])
        self.assertEqual(self.stats('vcpu', vcpus=[]), [])

    def test_bad_filters(self):
        self.assertIn("'vcpus' is unexpected",
                      self.error('query-stats',
                                 {'target': 'vm', 'vcpus': [VCPU0]}))
        self.assertIn("'target'", self.error('query-stats',
                                             {'target': 'cpu'}))
        self.assertIn("'target' is missing",
                      self.error('query-stats', {}))
        self.assertIn('provider', self.error(
            'query-stats', {'target': 'vm', 'providers': [{'provider':
                                                           'xen'}]}))
        self.assertIn('names', self.error(
            'query-stats', {'target': 'vm', 'providers': [
                {'provider': 'tcg', 'names': 'io_writes'}]}))
        self.assertIn('providers', self.error(
            'query-stats', {'target': 'vm', 'providers': [{}]}))
        self.error('query-stats', {'target': 'vm', 'bogus': 1})
        self.error('query-stats-schemas', {'provider': 'xen'})

    def test_introspection(self):
        schema = self.qmp.ok('query-qmp-schema')
        commands = {e['name']: e for e in schema
                    if e['meta-type'] == 'command'}
        self.assertIn('query-stats', commands)
        self.assertIn('query-stats-schemas', commands)
        enums = [e['values'] for e in schema if e['meta-type'] == 'enum']
        self.assertIn(['vm', 'vcpu'], enums)
        self.assertIn(['kvm', 'tcg'], enums)
        self.assertIn(['cumulative', 'instant', 'peak', 'linear-histogram',
                       'log2-histogram'], enums)

    def hmp(self, line):
        return self.qmp.ok('human-monitor-command', {'command-line': line})

    def test_hmp_info_stats(self):
        out = self.hmp('info stats vcpu')
        self.assertIn('provider: tcg', out)
        self.assertRegex(out, r'io_writes \(cumulative\): [1-9]')
        out = self.hmp('info stats vcpu io_writes,decodes tcg')
        self.assertEqual(out.count('(cumulative)'), 2, out)
        self.assertIn('tb_flushes', self.hmp('info stats vm'))
        self.assertEqual(self.hmp('info stats vm * kvm'), '')
        self.assertIn('vm or vcpu', self.hmp('info stats'))
        self.assertIn('vm or vcpu', self.hmp('info stats cpu'))
        self.assertIn("unknown provider 'xen'",
                      self.hmp('info stats vm * xen'))
        self.assertIn('too many', self.hmp('info stats vm a b c'))


@unittest.skipIf(kvm_unusable(), 'KVM is not usable here (%s)'
                 % kvm_unusable())
class KvmStatsTest(GuestCase):
    accel = 'kvm'

    def setUp(self):
        self.start()

    def test_kvm_stats(self):
        schema = self.schema_map()
        if ('kvm', 'vm') not in schema:
            # No KVM_GET_STATS_FD in this kernel: no stats, no error.
            print('SKIP: this KVM has no binary statistics')
            self.assertEqual(self.stats('vm'), [])
            return
        self.assertIn(('kvm', 'vcpu'), schema)
        self.assertNotIn(('tcg', 'vcpu'), schema)
        for target in ('vm', 'vcpu'):
            res = self.stats(target)
            self.assertEqual({r['provider'] for r in res}, {'kvm'})
            self.check_values(res, target)
        exits = lambda: by_name(self.stats(
            'vcpu', providers=[{'provider': 'kvm', 'names': ['exits']}])[0])
        first = exits()['exits']
        wait_until(lambda: exits()['exits'] > first, 'kvm exits to grow')
        hist = [v for v in schema[('kvm', 'vcpu')].values()
                if v['type'].endswith('histogram')]
        for v in hist:
            self.assertIn('base', v)    # KVM's are in 10^-9 s

    @unittest.skipIf(not shutil.which('qemu-system-x86_64'),
                     'qemu-system-x86_64 is not installed')
    def test_same_shape_as_qemu(self):
        ours = self.schema_map()
        if ('kvm', 'vm') not in ours:
            self.skipTest('this KVM has no binary statistics')
        qemu = GuestCase('run')
        qemu.emulator = 'qemu-system-x86_64'
        qemu.accel = 'kvm'
        try:
            qemu.start(machine=('-machine', 'none'))
            theirs = qemu.schema_map()
            res = qemu.stats('vm')
        finally:
            qemu.doCleanups()
        # The same kernel: the same VM statistics, described alike.
        self.assertEqual(theirs[('kvm', 'vm')], ours[('kvm', 'vm')])
        ours_res = self.stats('vm')
        self.assertEqual([set(r) for r in res], [set(r) for r in ours_res])
        self.assertEqual({s['name'] for s in res[0]['stats']},
                         {s['name'] for s in ours_res[0]['stats']})


class FakeServer:
    """A Unix socket peer for qlite-stat: @script(conn) talks to it."""

    def __init__(self, tmp, script):
        self.path = os.path.join(tmp, 'fake.sock')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.script = script
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            f = conn.makefile('rwb')
            try:
                self.script(f)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def fake_qmp_error(f):
    f.write(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
    f.flush()
    f.readline()
    f.write(b'{"return": {}}\r\n')
    f.flush()
    f.readline()
    f.write(b'{"error": {"class": "CommandNotFound", '
            b'"desc": "The command query-stats has not been found"}}\r\n')
    f.flush()
    f.readline()


def fake_not_qmp(f):
    f.write(b'SSH-2.0-OpenSSH_9.2\r\n')
    f.flush()
    f.readline()


def fake_silent(f):
    f.readline()


class QliteStatTest(GuestCase):
    def setUp(self):
        # The socket is qlite-stat's once the guest runs (one client at a
        # time).
        self.start()
        self.wait_running()
        self.qmp.close()

    def run_stat(self, *args, timeout=TIMEOUT):
        return subprocess.run([qlite_stat()] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=timeout,
                              universal_newlines=True)

    def once_totals(self):
        r = self.run_stat('--once', '-d', '0.2', self.vm.sockets[0])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, '')
        rows = {}
        for line in r.stdout.splitlines()[3:]:
            if line.strip():
                name, total, rate = line.split()
                rows[name] = (int(total), float(rate))
        return rows

    def test_once_twice(self):
        first = self.once_totals()
        self.assertGreater(first['io_writes'][0], 0)
        self.assertGreater(first['io_writes'][1], 0)    # a rate
        second = self.once_totals()
        self.assertGreater(second['io_writes'][0], first['io_writes'][0])
        self.assertGreater(second['blocks_chained'][0],
                           first['blocks_chained'][0])

    def test_json(self):
        r = self.run_stat('--json', '--once', '-d', '0.1', '-c', '-f', '^io_',
                          'unix:' + self.vm.sockets[0])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 1, r.stdout)
        sample = json.loads(lines[0])
        self.assertGreater(sample['interval'], 0)
        self.assertEqual(set(sample['stats']), {'io_writes(0)',
                                                'io_reads(0)'})
        self.assertGreater(sample['stats']['io_writes(0)']['total'], 0)

    def test_provider_filter(self):
        r = self.run_stat('--json', '--once', '-d', '0.05', '-p', 'kvm',
                          self.vm.sockets[0])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)['stats'], {})

    def expect_error(self, args, message, timeout=TIMEOUT):
        r = self.run_stat(*args, timeout=timeout)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(message, r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertTrue(r.stderr.startswith('qlite-stat: '), r.stderr)

    def test_bad_input(self):
        missing = os.path.join(self.tmp, 'missing.sock')
        self.expect_error(['--once', missing], 'cannot connect')
        self.expect_error(['-s', missing, 'extra'], 'one QMP socket')
        self.expect_error([], 'no QMP socket')
        self.expect_error(['-d', '0', missing], 'delay')
        self.expect_error(['-f', '(', missing], '--fields')
        self.expect_error(['--bogus'], 'bogus')

    def fake(self, script, *args):
        srv = FakeServer(self.tmp, script)
        self.addCleanup(srv.close)
        return list(args) + [srv.path]

    def test_qmp_error_reply(self):
        self.expect_error(self.fake(fake_qmp_error, '--once'),
                          'query-stats: The command query-stats has not')

    def test_not_qmp(self):
        self.expect_error(self.fake(fake_not_qmp, '--once'),
                          'not a QMP server')

    def test_silent_peer_times_out(self):
        self.expect_error(self.fake(fake_silent, '--once', '-t', '1'),
                          'no answer', timeout=5)

    def live(self):
        """qlite-stat's live view on a terminal: (process, master fd)."""
        master, slave = pty.openpty()
        proc = subprocess.Popen([qlite_stat(), '-d', '0.1',
                                 self.vm.sockets[0]], stdin=slave,
                                stdout=slave, stderr=slave)
        os.close(slave)
        self.addCleanup(os.close, master)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        seen = b''
        deadline = time.monotonic() + TIMEOUT
        # Two screens: the first draw and one refreshed in place.
        while seen.count(b'\x1b[H\x1b[2J') < 2:
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, seen[-500:])
            if select.select([master], [], [], left)[0]:
                seen += os.read(master, 65536)
        self.assertIn(b'io_writes', seen)
        return proc, master

    def test_live_q_quits(self):
        proc, master = self.live()
        os.write(master, b'q')
        self.assertEqual(proc.wait(TIMEOUT), 0)

    def test_live_ctrl_c_quits(self):
        proc, master = self.live()
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(TIMEOUT), 0)


if __name__ == '__main__':
    unittest.main(verbosity=2)
