#!/usr/bin/env python3
"""QMP protocol tests (docs/interop/qmp-spec.rst in QEMU): greeting,
negotiation, id echo, errors for bad input, framing, flow control, several
monitors, events.  Each test starts an emulator with -machine none and QMP
on unix sockets.  With QLITE_BINARY set to a real qemu-system-x86_64 the
tests that share QEMU's behaviour run against it (the reference).
"""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_qmp_client import Emulator, is_real_qemu  # noqa: E402

QLITE_ONLY = unittest.skipIf(is_real_qemu(), 'qlite-specific behaviour')


class QMPTestCase(unittest.TestCase):
    qmp_sockets = 1
    extra = ()

    def setUp(self):
        self.vm = Emulator(extra=self.extra, qmp=self.qmp_sockets)
        self.addCleanup(self.vm.close)

    def tearDown(self):
        # Whatever a test sent, the emulator must still be running.
        if self.vm.proc.returncode is None and not self.vm.alive():
            self.fail('emulator died: %s' % self.vm.log())

    def assertError(self, reply, cls, desc=None):
        self.assertIn('error', reply, reply)
        self.assertEqual(reply['error']['class'], cls, reply)
        if desc is not None:
            self.assertEqual(reply['error']['desc'], desc, reply)

    def assertStillWorks(self, client, errors_before=0):
        """A command still gets its reply.  Error replies queued before it
        are skipped; with errors_before (qlite only) there must be exactly
        that many."""
        client.send({'execute': 'query-status', 'id': 'alive'})
        seen = 0
        while True:
            r = client.recv()
            if r.get('id') == 'alive':
                break
            self.assertIn('error', r)
            seen += 1
        self.assertIn('return', r)
        if errors_before and not is_real_qemu():
            self.assertEqual(seen, errors_before)


class GreetingTest(QMPTestCase):
    def test_greeting(self):
        c = self.vm.connect(negotiate=False)
        g = c.greeting['QMP']
        self.assertEqual(g['version']['qemu']['major'], 7)
        self.assertEqual(g['version']['qemu']['minor'], 2)
        self.assertIsInstance(g['version']['qemu']['micro'], int)
        self.assertIsInstance(g['capabilities'], list)

    @QLITE_ONLY
    def test_greeting_package(self):
        c = self.vm.connect(negotiate=False)
        self.assertTrue(c.greeting['QMP']['version']['package']
                        .startswith('qlite '))
        self.assertEqual(c.greeting['QMP']['capabilities'], [])

    def test_lines_end_in_crlf(self):
        c = self.vm.connect()
        self.assertTrue(c.stream.raw.startswith(b'{"QMP"'))
        self.assertIn(b'}\r\n{"return": {}}', c.stream.raw)

    def test_commands_before_negotiation(self):
        c = self.vm.connect(negotiate=False)
        want = "Expecting capabilities negotiation with 'qmp_capabilities'"
        self.assertError(c.cmd('query-status'), 'CommandNotFound', want)
        self.assertError(c.cmd('no-such-command'), 'CommandNotFound', want)
        self.assertEqual(c.cmd('qmp_capabilities'), {'return': {}})
        self.assertIn('return', c.cmd('query-status'))

    def test_negotiate_twice(self):
        c = self.vm.connect()
        self.assertError(c.cmd('qmp_capabilities'), 'CommandNotFound',
                         'Capabilities negotiation is already complete, '
                         'command ignored')

    def test_capabilities_bad_argument(self):
        c = self.vm.connect(negotiate=False)
        self.assertError(c.cmd('qmp_capabilities', {'enable': 'oob'}),
                         'GenericError', "Invalid parameter type for "
                         "'enable', expected: array")
        self.assertError(c.cmd('qmp_capabilities', {'bogus': 1}),
                         'GenericError', "Parameter 'bogus' is unexpected")
        self.assertError(c.cmd('query-status'), 'CommandNotFound')

    @QLITE_ONLY
    def test_capability_not_offered(self):
        c = self.vm.connect(negotiate=False)
        r = c.cmd('qmp_capabilities', {'enable': ['oob']})
        self.assertError(r, 'GenericError', "Capability 'oob' not available")
        r = c.cmd('qmp_capabilities', {'enable': ['nope']})
        self.assertError(r, 'GenericError')


class IdTest(QMPTestCase):
    def test_id_echoed_verbatim(self):
        c = self.vm.connect()
        for ident in [1, -7, 1.5, 'abc', '', [1, {'a': 2}], {'x': None},
                      None, True, False, {'deep': [[[]]]}]:
            r = c.cmd('query-version', id=ident)
            self.assertIn('return', r)
            self.assertEqual(r['id'], ident)

    def test_id_on_errors(self):
        c = self.vm.connect()
        self.assertEqual(c.cmd('nope', id=42)['id'], 42)
        r = c.cmd('query-status', {'x': 1}, id=[1])
        self.assertError(r, 'GenericError', "Parameter 'x' is unexpected")
        self.assertEqual(r['id'], [1])
        c.send({'id': 'noexec'})
        r = c.recv()
        self.assertError(r, 'GenericError',
                         "QMP input lacks member 'execute'")
        self.assertEqual(r['id'], 'noexec')

    def test_no_id_no_echo(self):
        c = self.vm.connect()
        self.assertNotIn('id', c.cmd('query-version'))


class BadInputTest(QMPTestCase):
    def test_invalid_json(self):
        c = self.vm.connect()
        c.send_raw('foo\n')
        self.assertError(c.recv(), 'GenericError',
                         "JSON parse error, invalid keyword 'foo'")
        for bad in ['{"execute": }', '{"execute": "query-status" "x"}',
                    '{"execute": "query-status",}', '}', ']', '@']:
            c.send_raw(bad + '\n')
            r = c.recv()
            self.assertError(r, 'GenericError')
            self.assertTrue(r['error']['desc'].startswith('JSON parse error'),
                            (bad, r))
            self.assertNotIn('id', r)
        self.assertStillWorks(c)

    def test_duplicate_key(self):
        c = self.vm.connect()
        c.send_raw('{"execute": "query-status", "id": 1, "id": 2}\n')
        self.assertError(c.recv(), 'GenericError',
                         'JSON parse error, duplicate key')

    def test_single_quotes(self):
        c = self.vm.connect()
        c.send_raw("{'execute': 'query-name', 'id': 'it''s'}\n".replace(
            "''", "\\'"))
        r = c.recv()
        self.assertIn('return', r)
        self.assertEqual(r['id'], "it's")

    def test_non_object(self):
        c = self.vm.connect()
        for bad in ['[1, 2]', '123', '"str"', 'null', 'true', '[]']:
            c.send_raw(bad + '\n')
            self.assertError(c.recv(), 'GenericError',
                             'QMP input must be a JSON object')
        self.assertStillWorks(c)

    def test_bad_members(self):
        c = self.vm.connect()
        cases = [
            ({'execute': 1}, "QMP input member 'execute' must be a string"),
            ({'execute': 'query-status', 'arguments': []},
             "QMP input member 'arguments' must be an object"),
            ({'execute': 'query-status', 'arguments': None},
             "QMP input member 'arguments' must be an object"),
            ({'execute': 'query-status', 'foo': 1},
             "QMP input member 'foo' is unexpected"),
            ({'arguments': {}}, "QMP input lacks member 'execute'"),
        ]
        for req, desc in cases:
            c.send(req)
            self.assertError(c.recv(), 'GenericError', desc)

    def test_unknown_command(self):
        c = self.vm.connect()
        self.assertError(c.cmd('no-such-command'), 'CommandNotFound',
                         'The command no-such-command has not been found')

    def test_argument_errors(self):
        c = self.vm.connect()
        self.assertError(c.cmd('query-status', {'x': 1}), 'GenericError',
                         "Parameter 'x' is unexpected")
        self.assertError(c.cmd('qom-list'), 'GenericError',
                         "Parameter 'path' is missing")
        self.assertError(c.cmd('qom-list', {}), 'GenericError',
                         "Parameter 'path' is missing")
        self.assertError(c.cmd('qom-list', {'path': 1}), 'GenericError',
                         "Invalid parameter type for 'path', expected: "
                         "string")
        self.assertError(c.cmd('qom-list-types', {'abstract': 'yes'}),
                         'GenericError', "Invalid parameter type for "
                         "'abstract', expected: boolean")
        self.assertError(c.cmd('human-monitor-command',
                               {'command-line': 'info status',
                                'cpu-index': 'x'}),
                         'GenericError', "Invalid parameter type for "
                         "'cpu-index', expected: integer")

    def test_nul_and_bad_utf8(self):
        c = self.vm.connect()
        c.send_raw(b'{"execute": "query-status", "id": "\xff\xfe"}\n')
        c.send_raw(b'{"execute": "qom-list", "arguments": '
                   b'{"path": "a\\u0000b"}}\n')
        self.assertStillWorks(c, errors_before=2)

    def test_garbage_bytes(self):
        c = self.vm.connect()
        garbage = bytes(b for b in range(256)
                        if b not in b'"\'{}[]' and not chr(b).isalnum())
        c.send_raw(garbage + b'\n')
        # One error per stray byte; drain them all, then it still works.
        c.send({'execute': 'query-status', 'id': 'after'})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = c.recv()
            if r.get('id') == 'after':
                break
            self.assertError(r, 'GenericError')
        else:
            self.fail('no reply after garbage')

    @QLITE_ONLY     # QEMU's limit is 64 MiB and its parser slow on this
    def test_oversized_message(self):
        c = self.vm.connect()
        big = ('{"execute": "query-status", "arguments": {"x": "%s"}}\n'
               % ('A' * (2 * 1024 * 1024)))
        c.send_raw(big)
        self.assertError(c.recv(), 'GenericError',
                         'JSON token size limit exceeded')
        self.assertStillWorks(c)

    def test_deep_nesting(self):
        c = self.vm.connect()
        c.send_raw('[' * 3000 + ']' * 3000 + '\n')
        self.assertStillWorks(c, errors_before=1)


class FramingTest(QMPTestCase):
    def test_many_in_one_write(self):
        c = self.vm.connect()
        c.send_raw(''.join(json.dumps({'execute': 'query-version', 'id': i})
                           for i in range(20)))
        for i in range(20):
            self.assertEqual(c.recv()['id'], i)

    def test_no_newlines_needed(self):
        c = self.vm.connect()
        c.send_raw('{"execute":"query-name","id":1}{"execute":"query-name",'
                   '"id":2}')
        self.assertEqual(c.recv()['id'], 1)
        self.assertEqual(c.recv()['id'], 2)

    def test_split_across_reads(self):
        c = self.vm.connect()
        msg = json.dumps({'execute': 'query-status', 'id': 'split',
                          'arguments': {}}) + '\n'
        for ch in msg:
            c.send_raw(ch)
            time.sleep(0.002)
        self.assertEqual(c.recv()['id'], 'split')

    def test_multiline_message(self):
        c = self.vm.connect()
        c.send_raw('{\n  "execute":\n "query-status",\n "id": "ml"\n}\n')
        self.assertEqual(c.recv()['id'], 'ml')

    def test_braces_inside_strings(self):
        c = self.vm.connect()
        c.send({'execute': 'qom-list', 'arguments': {'path': '{[}]"\\'},
                'id': 'q'})
        r = c.recv()
        self.assertError(r, 'DeviceNotFound')
        self.assertEqual(r['id'], 'q')


class ConnectionTest(QMPTestCase):
    qmp_sockets = 2

    def test_two_monitors(self):
        a = self.vm.connect(0)
        b = self.vm.connect(1)
        self.assertIn('return', a.cmd('query-status'))
        self.assertIn('return', b.cmd('query-status'))
        a.ok('stop')
        a.event('STOP')
        b.event('STOP')
        self.assertFalse(b.ok('query-status')['running'])
        b.ok('cont')
        a.event('RESUME')
        b.event('RESUME')

    def test_events_only_after_negotiation(self):
        a = self.vm.connect(0, negotiate=False)
        b = self.vm.connect(1)
        b.ok('stop')
        b.event('STOP')
        # a was not negotiated: its next message is the reply, no event.
        self.assertEqual(a.cmd('qmp_capabilities'), {'return': {}})
        b.ok('cont')
        self.assertEqual(a.event('RESUME')['event'], 'RESUME')

    def test_disconnect_mid_message(self):
        a = self.vm.connect(0)
        a.send_raw('{"execute": "query-sta')
        a.close()
        time.sleep(0.2)
        # A fresh session: greeting again, negotiation needed again.
        again = self.vm.connect(0, negotiate=False)
        self.assertIn('QMP', again.greeting)
        self.assertError(again.cmd('query-status'), 'CommandNotFound')
        again.ok('qmp_capabilities')
        self.assertStillWorks(again)

    def test_reconnect_many_times(self):
        for _ in range(20):
            sock = self.vm.raw_socket(0)
            sock.sendall(b'{"execute": "qmp_capabilities"}{"execu')
            sock.close()
        c = self.vm.connect(0)
        self.assertStillWorks(c)

    def test_client_that_stops_reading(self):
        stuck = self.vm.raw_socket(0)
        stuck.setblocking(False)
        req = (json.dumps({'execute': 'query-qmp-schema'}) + '\n').encode()
        stuck.send(b'{"execute": "qmp_capabilities"}\n')
        sent, deadline = 0, time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                stuck.send(req)
                sent += 1
            except BlockingIOError:
                time.sleep(0.01)
        # The emulator stopped reading the stuck client; the other monitor
        # still answers promptly.
        other = self.vm.connect(1)
        for _ in range(5):
            start = time.monotonic()
            self.assertStillWorks(other)
            self.assertLess(time.monotonic() - start, 1.0)
        other.ok('stop')       # events to the stuck client do not block
        other.event('STOP')
        other.ok('cont')
        stuck.close()
        time.sleep(0.2)
        again = self.vm.connect(0)
        self.assertStillWorks(again)
        self.assertGreater(sent, 10)


class EventTest(QMPTestCase):
    def check_timestamp(self, ev):
        ts = ev['timestamp']
        self.assertLess(abs(ts['seconds'] - time.time()), 60)
        self.assertTrue(0 <= ts['microseconds'] < 1000000)

    def test_stop_resume(self):
        c = self.vm.connect()
        self.assertEqual(c.ok('stop'), {})
        ev = c.event('STOP')
        self.check_timestamp(ev)
        self.assertNotIn('data', ev)
        st = c.ok('query-status')
        self.assertEqual((st['running'], st['status']), (False, 'paused'))
        c.ok('cont')
        c.event('RESUME')
        st = c.ok('query-status')
        self.assertEqual((st['running'], st['status']), (True, 'running'))

    def test_reset(self):
        c = self.vm.connect()
        c.ok('system_reset')
        ev = c.event('RESET')
        self.check_timestamp(ev)
        self.assertEqual(ev['data'], {'guest': False,
                                      'reason': 'host-qmp-system-reset'})

    def test_powerdown(self):
        c = self.vm.connect()
        c.ok('system_powerdown')
        self.check_timestamp(c.event('POWERDOWN'))

    def test_quit(self):
        c = self.vm.connect()
        self.assertEqual(c.cmd('quit', id='bye'), {'return': {}, 'id': 'bye'})
        ev = c.event('SHUTDOWN')
        self.assertEqual(ev['data'], {'guest': False,
                                      'reason': 'host-qmp-quit'})
        self.assertEqual(self.vm.wait(), 0)

    def test_bad_arguments_to_state_commands(self):
        c = self.vm.connect()
        for name in ['stop', 'cont', 'system_reset', 'system_powerdown',
                     'quit', 'query-status']:
            self.assertError(c.cmd(name, {'now': True}), 'GenericError',
                             "Parameter 'now' is unexpected")
        self.assertTrue(c.ok('query-status')['running'])
        self.assertEqual(c.events, [])


class StartPausedTest(QMPTestCase):
    extra = ('-S',)

    def test_cont_starts(self):
        c = self.vm.connect()
        st = c.ok('query-status')
        self.assertEqual((st['running'], st['status']),
                         (False, 'prelaunch'))
        c.ok('stop')        # still prelaunch: stop only keeps it stopped
        self.assertEqual(c.ok('query-status')['status'], 'prelaunch')
        c.ok('cont')
        c.event('RESUME')
        self.assertEqual(c.ok('query-status')['status'], 'running')


class PrettyTest(unittest.TestCase):
    def test_pretty(self):
        vm = Emulator(pretty=True)
        self.addCleanup(vm.close)
        c = vm.connect()
        self.assertIn(b'\r\n    "QMP": {', c.stream.raw)
        self.assertEqual(c.ok('query-target'), {'arch': 'x86_64'})


if __name__ == '__main__':
    unittest.main()
