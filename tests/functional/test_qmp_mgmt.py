#!/usr/bin/env python3
"""The QMP commands a management layer asks (issue 14): CPU models,
command-line options, migration capabilities, CPU slots and their QOM
objects, set-action, and the answers for devices qlite does not have.
With QLITE_BINARY set to a real qemu-system-x86_64 the shared behaviour
is checked against it.
"""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine  # noqa: E402
from test_qmp_client import Emulator, QMPClient, is_real_qemu  # noqa: E402

QLITE_ONLY = unittest.skipIf(is_real_qemu(), 'qlite-specific behaviour')


class MgmtTest(unittest.TestCase):
    extra = ('-S', '-smp', '2', '-cpu', 'Skylake-Server', '-nodefaults',
             '-accel', 'tcg')

    def setUp(self):
        self.vm = Emulator(machine=('-machine', 'pc'), extra=self.extra)
        self.addCleanup(self.vm.close)
        self.c = self.vm.connect()

    def assertError(self, reply, cls):
        self.assertIn('error', reply, reply)
        self.assertEqual(reply['error']['class'], cls, reply)

    def test_cpu_definitions(self):
        defs = {d['name']: d for d in self.c.ok('query-cpu-definitions')}
        for name in ('qemu64', 'Skylake-Server', 'max'):
            self.assertIn(name, defs)
            self.assertEqual(defs[name]['typename'], name + '-x86_64-cpu')
            self.assertIsInstance(defs[name]['static'], bool)
        # Skylake-Server lists AVX-512; TCG (both emulators) lacks it.
        self.assertIn('avx512f', defs['Skylake-Server']
                      ['unavailable-features'])
        self.assertEqual(defs['max']['unavailable-features'], [])
        types = {t['name'] for t in self.c.ok('qom-list-types')}
        self.assertIn('Skylake-Server-x86_64-cpu', types)

    def test_cpus_are_qom_objects(self):
        cpus = self.c.ok('query-cpus-fast')
        slots = self.c.ok('query-hotpluggable-cpus')
        self.assertEqual(len(cpus), 2)
        self.assertEqual(len(slots), 2)
        by_path = {s['qom-path']: s for s in slots}
        for cpu in cpus:
            path = cpu['qom-path']
            slot = by_path[path]
            self.assertEqual(slot['props'], cpu['props'])
            self.assertEqual(slot['type'], 'Skylake-Server-x86_64-cpu')
            self.assertEqual(slot['vcpus-count'], 1)
            self.assertEqual(self.c.ok('qom-get', {'path': path,
                                                   'property': 'type'}),
                             'Skylake-Server-x86_64-cpu')
            self.assertEqual(self.c.ok('qom-get', {
                'path': path, 'property': 'apic-id'}), cpu['cpu-index'])
            names = {p['name'] for p in self.c.ok('qom-list',
                                                  {'path': path})}
            self.assertIn('apic-id', names)
        # A real thread of this process runs the vCPUs.
        tid = cpus[0]['thread-id']
        self.assertTrue(os.path.exists('/proc/%d/task/%d' %
                                       (self.vm.proc.pid, tid)), tid)

    def test_command_line_options(self):
        opts = {o['option']: o for o in
                self.c.ok('query-command-line-options')}
        params = {p['name'] for p in opts['sandbox']['parameters']}
        self.assertLessEqual({'enable', 'obsolete', 'elevateprivileges',
                              'spawn', 'resourcecontrol'}, params)
        one = self.c.ok('query-command-line-options', {'option': 'sandbox'})
        self.assertEqual([o['option'] for o in one], ['sandbox'])
        self.assertError(self.c.cmd('query-command-line-options',
                                    {'option': 'no-such-option'}),
                         'GenericError')

    def test_migrate_capabilities(self):
        caps = {c['capability']: c['state'] for c in
                self.c.ok('query-migrate-capabilities')}
        self.assertIs(caps['events'], False)
        self.c.ok('migrate-set-capabilities', {'capabilities': [
            {'capability': 'events', 'state': True}]})
        caps = {c['capability']: c['state'] for c in
                self.c.ok('query-migrate-capabilities')}
        self.assertIs(caps['events'], True)
        self.assertError(self.c.cmd('migrate-set-capabilities', {
            'capabilities': [{'capability': 'no-such', 'state': True}]}),
            'GenericError')

    def test_no_balloon(self):
        self.assertError(self.c.cmd('query-balloon'), 'DeviceNotActive')
        self.assertError(self.c.cmd('balloon', {'value': 1 << 28}),
                         'DeviceNotActive')

    def test_no_tpm(self):
        self.assertEqual(self.c.ok('query-tpm'), [])
        self.assertIsInstance(self.c.ok('query-tpm-models'), list)

    def test_set_action_bad(self):
        self.assertError(self.c.cmd('set-action', {'reboot': 'explode'}),
                         'GenericError')


class SetActionTest(unittest.TestCase):
    """set-action: what a guest's reboot does (as -no-reboot)."""

    def guest_reset(self, action):
        """Reset from the guest side (port 0xcf9) after set-action."""
        path = os.path.join(tempfile.mkdtemp(prefix='qlite-mgmt-'), 'q.sock')
        m = QtestMachine(args=('-qmp', 'unix:%s,server=on,wait=off' % path))
        m.start()
        self.addCleanup(m.close)
        c = QMPClient(path=path)
        self.addCleanup(c.close)
        c.ok('set-action', {'reboot': action})
        m.send_only('outb 0xcf9 0x6')
        return m, c

    @QLITE_ONLY
    def test_reboot_shutdown(self):
        m, c = self.guest_reset('shutdown')
        ev = c.event('SHUTDOWN')
        self.assertEqual(ev['data'], {'guest': True,
                                      'reason': 'guest-reset'})
        self.assertEqual(m.wait_exit(), 0)

    @QLITE_ONLY
    def test_reboot_reset(self):
        m, c = self.guest_reset('reset')
        ev = c.event('RESET')
        self.assertEqual(ev['data'], {'guest': True,
                                      'reason': 'guest-reset'})
        self.assertIsNone(m.proc.poll())

    def test_panic_watchdog_refused(self):
        vm = Emulator(extra=('-S',))
        self.addCleanup(vm.close)
        c = vm.connect()
        if not is_real_qemu():
            # qlite has neither device, so neither action can happen.
            self.assertIn('error', c.cmd('set-action', {'panic': 'pause'}))
            self.assertIn('error', c.cmd('set-action',
                                         {'watchdog': 'pause'}))
        self.assertIn('error', c.cmd('set-action', {'shutdown': 'explode'}))


if __name__ == '__main__':
    unittest.main(verbosity=2)
