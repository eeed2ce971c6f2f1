#!/usr/bin/env python3
"""Each QMP command with a good and a bad argument.  Most run on
-machine none; the device and QOM commands on '-machine pc -accel qtest',
a board with devices and no CPU.  With QLITE_BINARY set to a real
qemu-system-x86_64 the tests that share QEMU's behaviour run against it.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_qmp_client import Emulator, is_real_qemu  # noqa: E402

QLITE_ONLY = unittest.skipIf(is_real_qemu(), 'qlite-specific behaviour')

# The commands issue 6 asks for; query-commands must list them all.
COMMANDS = [
    'qmp_capabilities', 'query-version', 'query-commands',
    'query-qmp-schema', 'query-status', 'stop', 'cont', 'system_reset',
    'system_powerdown', 'quit', 'query-name', 'query-uuid', 'query-kvm',
    'query-cpus-fast', 'query-machines', 'query-target', 'query-chardev',
    'query-pci', 'qom-list', 'qom-get', 'qom-set', 'qom-list-types',
    'qom-list-properties', 'device-list-properties', 'device_add',
    'device_del', 'human-monitor-command',
]
UUID = '12345678-9abc-def0-1234-56789abcdef0'
# A board with devices: qlite's without a CPU; QEMU's qtest accelerator
# needs a -qtest socket, so the reference run uses TCG.
PC = ('-machine', 'pc', '-accel', 'tcg' if is_real_qemu() else 'qtest')


class CommandTest(unittest.TestCase):
    machine = ('-machine', 'none')
    extra = ('-name', 'guest1', '-uuid', UUID)

    def setUp(self):
        self.vm = Emulator(machine=self.machine, extra=self.extra)
        self.addCleanup(self.vm.close)
        self.c = self.vm.connect()

    def tearDown(self):
        if self.vm.proc.returncode is None:
            self.assertTrue(self.vm.alive(), self.vm.log())

    def assertError(self, reply, cls, desc=None):
        self.assertIn('error', reply, reply)
        self.assertEqual(reply['error']['class'], cls, reply)
        if desc is not None:
            self.assertEqual(reply['error']['desc'], desc, reply)

    def assertUnexpected(self, name, args=None):
        args = dict(args or {}, bogus=1)
        self.assertError(self.c.cmd(name, args), 'GenericError',
                         "Parameter 'bogus' is unexpected")


class GeneralCommandTest(CommandTest):
    def test_query_version(self):
        v = self.c.ok('query-version')
        self.assertEqual((v['qemu']['major'], v['qemu']['minor']), (7, 2))
        if not is_real_qemu():
            self.assertEqual(v['qemu']['micro'], 0)
            self.assertTrue(v['package'].startswith('qlite '))
        self.assertUnexpected('query-version')

    def test_query_commands(self):
        names = [c['name'] for c in self.c.ok('query-commands')]
        for name in COMMANDS:
            self.assertIn(name, names)
        self.assertEqual(len(names), len(set(names)))
        self.assertUnexpected('query-commands')

    @QLITE_ONLY     # removed from QEMU in 4.0; kept for old clients
    def test_query_events(self):
        names = {e['name'] for e in self.c.ok('query-events')}
        self.assertTrue({'STOP', 'RESUME', 'RESET', 'SHUTDOWN', 'POWERDOWN',
                         'DEVICE_DELETED'} <= names)
        self.assertUnexpected('query-events')

    def test_query_qmp_schema(self):
        schema = self.c.ok('query-qmp-schema')
        by_name = {e['name']: e for e in schema}
        self.assertEqual(len(by_name), len(schema), 'names are unique')
        commands = {e['name'] for e in schema if e['meta-type'] == 'command'}
        listed = {c['name'] for c in self.c.ok('query-commands')}
        self.assertEqual(commands, listed)
        for e in schema:
            for key in ('arg-type', 'ret-type', 'element-type'):
                if key in e:
                    self.assertIn(e[key], by_name, e)
            for m in e.get('members', []):
                if 'type' in m:
                    self.assertIn(m['type'], by_name, e)
        status = by_name[by_name['query-status']['ret-type']]
        self.assertEqual(sorted(m['name'] for m in status['members']),
                         ['running', 'singlestep', 'status'])
        qom_get = by_name[by_name['qom-get']['arg-type']]
        self.assertEqual([m['name'] for m in qom_get['members']],
                         ['path', 'property'])
        self.assertEqual(by_name['qom-get']['ret-type'], 'any')
        shutdown = by_name[by_name['SHUTDOWN']['arg-type']]
        self.assertEqual([m['name'] for m in shutdown['members']],
                         ['guest', 'reason'])
        self.assertEqual(by_name['str']['json-type'], 'string')
        self.assertUnexpected('query-qmp-schema')

    def test_query_name(self):
        self.assertEqual(self.c.ok('query-name'), {'name': 'guest1'})
        self.assertUnexpected('query-name')

    def test_query_uuid(self):
        self.assertEqual(self.c.ok('query-uuid'), {'UUID': UUID})
        self.assertUnexpected('query-uuid')

    def test_query_kvm(self):
        kvm = self.c.ok('query-kvm')
        self.assertIsInstance(kvm['enabled'], bool)
        self.assertIsInstance(kvm['present'], bool)
        self.assertUnexpected('query-kvm')

    def test_query_cpus_fast(self):
        self.assertEqual(self.c.ok('query-cpus-fast'), [])
        self.assertUnexpected('query-cpus-fast')

    def test_query_machines(self):
        machines = {m['name']: m for m in self.c.ok('query-machines')}
        pc = machines['pc-i440fx-7.2']
        self.assertEqual(pc.get('alias'), 'pc')
        self.assertTrue(pc.get('is-default'))
        self.assertIn('none', machines)
        for m in machines.values():
            self.assertIsInstance(m['cpu-max'], int)
            self.assertIsInstance(m['deprecated'], bool)
        self.assertUnexpected('query-machines')

    def test_query_target(self):
        self.assertEqual(self.c.ok('query-target'), {'arch': 'x86_64'})
        self.assertUnexpected('query-target')

    def test_query_chardev(self):
        chardevs = self.c.ok('query-chardev')
        self.assertTrue(chardevs)
        for chr in chardevs:
            self.assertIsInstance(chr['label'], str)
            self.assertIsInstance(chr['filename'], str)
            self.assertIsInstance(chr['frontend-open'], bool)
        self.assertIn('compat_monitor0', [c['label'] for c in chardevs])
        self.assertUnexpected('query-chardev')

    def test_query_pci_without_pci(self):
        self.assertEqual(self.c.ok('query-pci'), [])
        self.assertUnexpected('query-pci')

    def test_human_monitor_command(self):
        hmc = 'human-monitor-command'
        self.assertEqual(self.c.ok(hmc, {'command-line': 'info status'}),
                         'VM status: running\r\n')
        self.assertEqual(self.c.ok(hmc, {'command-line': 'info name'}),
                         'guest1\r\n')
        self.assertEqual(self.c.ok(hmc, {'command-line': 'nope'}),
                         "unknown command: 'nope'\r\n")
        self.assertEqual(self.c.ok(hmc, {'command-line': 'info nope'}),
                         "unknown command: 'info nope'\r\n")
        self.assertEqual(self.c.ok(hmc, {'command-line': ''}), '')
        self.assertEqual(self.c.ok(hmc, {'command-line': 'info registers'}),
                         'No CPU available\r\n')
        self.assertEqual(self.c.ok(hmc, {'command-line': 'cont x'}),
                         'cont|c: extraneous characters at the end of line'
                         '\r\nTry "help cont" for more information\r\n')
        self.c.ok(hmc, {'command-line': 'stop'})
        self.c.event('STOP')
        self.assertEqual(self.c.ok(hmc, {'command-line': 'info status'}),
                         'VM status: paused\r\n')
        self.c.ok(hmc, {'command-line': 'c'})
        self.c.event('RESUME')
        self.assertError(self.c.cmd(hmc), 'GenericError',
                         "Parameter 'command-line' is missing")
        self.assertError(self.c.cmd(hmc, {'command-line': 5}),
                         'GenericError', "Invalid parameter type for "
                         "'command-line', expected: string")

    @QLITE_ONLY
    def test_hmp_help_and_version(self):
        hmc = 'human-monitor-command'
        out = self.c.ok(hmc, {'command-line': 'help'})
        for name in ['cont|c', 'info', 'quit|q', 'stop', 'system_reset',
                     'system_powerdown', 'help']:
            self.assertIn(name, out)
        out = self.c.ok(hmc, {'command-line': 'help info'})
        for name in ['status', 'registers', 'pci', 'qtree', 'mtree',
                     'block', 'version', 'name']:
            self.assertIn('info ' + name, out)
        self.assertEqual(self.c.ok(hmc, {'command-line': 'info version'}),
                         '7.2.0 (qlite 0.1.0)\r\n')
        # No drives on this command line: QEMU prints nothing either.
        self.assertEqual(self.c.ok(hmc, {'command-line': 'info block'}), '')
        self.assertError(self.c.cmd(hmc, {'command-line': 'info status',
                                          'cpu-index': 3}),
                         'GenericError', 'Invalid CPU index')


class QomTest(CommandTest):
    machine = PC
    extra = ('-device', 'isa-serial,id=ser1,chardev=none0',
             '-chardev', 'null,id=none0')

    def test_qom_list(self):
        names = [p['name'] for p in self.c.ok('qom-list', {'path': '/'})]
        self.assertIn('machine', names)
        props = {p['name']: p['type']
                 for p in self.c.ok('qom-list',
                                    {'path': '/machine/peripheral'})}
        self.assertEqual(props['ser1'], 'child<isa-serial>')
        self.assertError(self.c.cmd('qom-list', {'path': '/nope'}),
                         'DeviceNotFound', "Device '/nope' not found")
        self.assertUnexpected('qom-list', {'path': '/'})

    def test_qom_get(self):
        get = 'qom-get'
        self.assertEqual(self.c.ok(get, {'path': '/machine/peripheral/ser1',
                                         'property': 'type'}), 'isa-serial')
        if not is_real_qemu():
            self.assertEqual(self.c.ok(get, {'path': 'ser1',
                                             'property': 'iobase'}), 0x2f8)
        self.assertError(self.c.cmd(get, {'path': '/machine/peripheral/ser1',
                                          'property': 'nope'}),
                         'GenericError',
                         "Property 'isa-serial.nope' not found")
        self.assertError(self.c.cmd(get, {'path': '/nope',
                                          'property': 'type'}),
                         'DeviceNotFound')
        self.assertError(self.c.cmd(get, {'path': '/'}), 'GenericError',
                         "Parameter 'property' is missing")

    def test_qom_set(self):
        path = '/machine/peripheral/ser1'
        r = self.c.cmd('qom-set', {'path': path, 'property': 'nope',
                                   'value': 1})
        self.assertError(r, 'GenericError',
                         "Property 'isa-serial.nope' not found")
        r = self.c.cmd('qom-set', {'path': path})
        self.assertError(r, 'GenericError', "Parameter 'property' is missing")
        r = self.c.cmd('qom-set', {'path': '/nope', 'property': 'x',
                                   'value': 1})
        self.assertError(r, 'DeviceNotFound')

    @QLITE_ONLY
    def test_qom_set_types(self):
        path = '/machine/peripheral/ser1'
        r = self.c.cmd('qom-set', {'path': path, 'property': 'iobase',
                                   'value': 'x'})
        self.assertError(r, 'GenericError', "Invalid parameter type for "
                         "'iobase', expected: integer")

    def test_qom_list_types(self):
        types = {t['name']: t for t in self.c.ok('qom-list-types')}
        for name in ['tcg-accel', 'kvm-accel', 'pc-i440fx-7.2-machine',
                     'isa-serial']:
            self.assertIn(name, types.keys())
        self.assertEqual(types['tcg-accel']['parent'], 'accel')
        self.assertEqual(types['accel']['parent'], 'object')
        accels = {t['name'] for t in self.c.ok('qom-list-types',
                                               {'implements': 'accel'})}
        self.assertTrue({'tcg-accel', 'kvm-accel'} <= accels, accels)
        if not is_real_qemu():      # QEMU lists it only with -qtest
            self.assertIn('qtest-accel', accels)
        self.assertNotIn('isa-serial', accels)
        machines = self.c.ok('qom-list-types', {'implements': 'machine',
                                                'abstract': True})
        abstract = [t['name'] for t in machines if t.get('abstract')]
        self.assertIn('machine', abstract)
        self.assertEqual(self.c.ok('qom-list-types',
                                   {'implements': 'no-such-type'}), [])
        self.assertUnexpected('qom-list-types')

    def test_qom_list_properties(self):
        props = {p['name']: p for p in self.c.ok(
            'qom-list-properties', {'typename': 'isa-serial'})}
        self.assertIn('chardev', props)
        self.assertIn('iobase', props)
        self.assertError(self.c.cmd('qom-list-properties',
                                    {'typename': 'nope'}),
                         'DeviceNotFound', "Class 'nope' not found")
        self.assertUnexpected('qom-list-properties', {'typename': 'x'})

    def test_device_list_properties(self):
        props = {p['name']: p for p in self.c.ok(
            'device-list-properties', {'typename': 'isa-serial'})}
        self.assertEqual(props['chardev']['type'], 'str')
        self.assertIn('default-value', props['index'])
        self.assertError(self.c.cmd('device-list-properties',
                                    {'typename': 'nope'}),
                         'DeviceNotFound', "Device 'nope' not found")
        self.assertError(self.c.cmd('device-list-properties',
                                    {'typename': 'device'}),
                         'GenericError', "Parameter 'typename' expects a "
                         "non-abstract device type")
        self.assertError(self.c.cmd('device-list-properties',
                                    {'typename': 1}), 'GenericError')

    def test_device_add_errors(self):
        self.assertError(self.c.cmd('device_add'), 'GenericError',
                         "Parameter 'driver' is missing")
        self.assertError(self.c.cmd('device_add', {'driver': 'nope'}),
                         'GenericError',
                         "'nope' is not a valid device model name")
        if not is_real_qemu():      # QEMU does not type-check device_add
            self.assertError(self.c.cmd('device_add', {'driver': 1}),
                             'GenericError', "Invalid parameter type for "
                             "'driver', expected: string")
        # The machine is running: isa-serial cannot be hot-plugged.
        r = self.c.cmd('device_add', {'driver': 'isa-serial', 'id': 'hp'})
        self.assertError(r, 'GenericError')
        names = [p['name'] for p in self.c.ok(
            'qom-list', {'path': '/machine/peripheral'})]
        self.assertNotIn('hp', names)

    def test_device_del_errors(self):
        self.assertError(self.c.cmd('device_del', {'id': 'nope'}),
                         'DeviceNotFound', "Device 'nope' not found")
        self.assertError(self.c.cmd('device_del'), 'GenericError',
                         "Parameter 'id' is missing")
        r = self.c.cmd('device_del', {'id': 'ser1'})
        self.assertError(r, 'GenericError')
        self.assertIn('return', self.c.cmd('qom-get', {
            'path': '/machine/peripheral/ser1', 'property': 'type'}))

    def test_query_pci(self):
        buses = self.c.ok('query-pci')
        self.assertEqual([b['bus'] for b in buses], [0])
        devs = {(d['slot'], d['function']): d for d in buses[0]['devices']}
        host = devs[(0, 0)]
        self.assertEqual((host['id']['vendor'], host['id']['device']),
                         (0x8086, 0x1237))
        self.assertEqual(host['class_info'],
                         {'class': 0x0600, 'desc': 'Host bridge'})
        isa = devs[(1, 0)]
        self.assertEqual(isa['class_info']['desc'], 'ISA bridge')
        for d in devs.values():
            self.assertIsInstance(d['regions'], list)
            self.assertIsInstance(d['qdev_id'], str)
        self.assertUnexpected('query-pci')
        out = self.c.ok('human-monitor-command',
                        {'command-line': 'info pci'})
        self.assertIn('  Bus  0, device   0, function 0:\r\n'
                      '    Host bridge: PCI device 8086:1237\r\n', out)

    @QLITE_ONLY
    def test_info_qtree_and_mtree(self):
        hmc = 'human-monitor-command'
        qtree = self.c.ok(hmc, {'command-line': 'info qtree'})
        self.assertIn('dev: isa-serial, id "ser1"', qtree)
        self.assertIn('iobase = 760 (0x2f8)', qtree)
        mtree = self.c.ok(hmc, {'command-line': 'info mtree'})
        self.assertTrue(mtree)


class PrelaunchDeviceTest(CommandTest):
    machine = PC
    extra = ('-S', '-chardev', 'null,id=none0')

    @QLITE_ONLY     # QEMU's isa-serial needs an ISA bus name here
    def test_device_add_before_start(self):
        r = self.c.cmd('device_add', {'driver': 'isa-serial', 'id': 'late',
                                      'chardev': 'none0', 'index': 1})
        self.assertEqual(r, {'return': {}})
        self.assertEqual(self.c.ok('qom-get', {
            'path': '/machine/peripheral/late', 'property': 'iobase'}),
            0x2f8)
        r = self.c.cmd('device_add', {'driver': 'isa-serial', 'id': 'late'})
        self.assertError(r, 'GenericError', "Duplicate device ID 'late'")
        r = self.c.cmd('device_add', {'driver': 'isa-serial', 'id': 'x2',
                                      'index': [1]})
        self.assertError(r, 'GenericError', "Invalid parameter type for "
                         "'index', expected: string")
        self.c.ok('cont')
        self.c.event('RESUME')


if __name__ == '__main__':
    unittest.main()
