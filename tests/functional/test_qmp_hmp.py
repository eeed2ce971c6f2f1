#!/usr/bin/env python3
"""The human monitor (HMP) on -monitor stdio, on a socket (-mon), and in
the -nographic mux; QMP and HMP through socat; the transports (-qmp tcp:,
-chardev socket + -mon mode=control, the old server,nowait spelling).
With QLITE_BINARY set to a real qemu-system-x86_64 the tests that share
QEMU's behaviour run against it.
"""
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_qmp_client import (TIMEOUT, Emulator, QMPClient,  # noqa: E402
                             binary, connect_unix, is_real_qemu)

QLITE_ONLY = unittest.skipIf(is_real_qemu(), 'qlite-specific behaviour')
PROMPT = b'(qemu) '
PC = ('-machine', 'pc', '-accel', 'tcg' if is_real_qemu() else 'qtest')


class HmpPipe:
    """Reads the monitor's output from a file descriptor up to a marker."""

    def __init__(self, read_fd, write):
        self.fd = read_fd
        self.write = write
        self.buf = b''

    def read_until(self, marker=PROMPT, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('no %r in %r' % (marker, self.buf))
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                data = os.read(self.fd, 65536)
                if not data:
                    raise AssertionError('EOF before %r in %r'
                                         % (marker, self.buf))
                self.buf += data
        head, _, self.buf = self.buf.partition(marker)
        return head

    def drain(self, quiet=0.5):
        """Drop output until none arrives for @quiet seconds."""
        while select.select([self.fd], [], [], quiet)[0]:
            if not os.read(self.fd, 65536):
                break
        self.buf = b''

    def command(self, line):
        """Send @line; return its output (echo removed) as text."""
        self.write((line + '\r').encode())
        out = self.read_until().decode('utf-8', 'replace')
        # The echo line (QEMU may redraw it with escapes) is dropped.
        _, _, rest = out.partition('\r\n')
        return rest


class HmpStdioTest(unittest.TestCase):
    machine = ('-machine', 'none')

    def setUp(self):
        self.vm = Emulator(machine=self.machine,
                           extra=['-monitor', 'stdio', '-name', 'hmp1'],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(self.vm.close)
        proc = self.vm.proc

        def write(data):
            proc.stdin.write(data)
            proc.stdin.flush()
        self.hmp = HmpPipe(proc.stdout.fileno(), write)
        self.banner = self.hmp.read_until()
        self.qmp = self.vm.connect()

    def test_banner(self):
        self.assertIn(b'monitor', self.banner)
        self.assertIn(b"type 'help' for more information", self.banner)

    def test_info_status_and_stop_cont(self):
        self.assertEqual(self.hmp.command('info status'),
                         'VM status: running\r\n')
        self.assertEqual(self.hmp.command('stop'), '')
        self.qmp.event('STOP')
        self.assertEqual(self.hmp.command('info status'),
                         'VM status: paused\r\n')
        self.assertEqual(self.hmp.command('c'), '')
        self.qmp.event('RESUME')

    def test_errors(self):
        self.assertEqual(self.hmp.command('nope'),
                         "unknown command: 'nope'\r\n")
        self.assertEqual(self.hmp.command('info nope'),
                         "unknown command: 'info nope'\r\n")
        self.assertEqual(self.hmp.command('stop now'),
                         'stop|s: extraneous characters at the end of line'
                         '\r\nTry "help stop" for more information\r\n')
        self.assertEqual(self.hmp.command(''), '')

    def test_help(self):
        out = self.hmp.command('help')
        for name in ['cont|c', 'info', 'quit|q', 'stop|s', 'system_reset',
                     'system_powerdown', 'help|?']:
            self.assertIn(name, out)
        out = self.hmp.command('help info')
        for name in ['status', 'registers', 'pci', 'qtree', 'mtree',
                     'block', 'version', 'name']:
            self.assertIn('info ' + name, out)

    def test_info_commands(self):
        self.assertEqual(self.hmp.command('info name'), 'hmp1\r\n')
        self.assertIn('7.2.', self.hmp.command('info version'))
        regs = self.hmp.command('info registers')
        if self.machine == ('-machine', 'none'):
            self.assertEqual(regs, 'No CPU available\r\n')
        else:
            self.assertTrue(regs)
        self.assertIsInstance(self.hmp.command('info mtree'), str)
        self.assertIsInstance(self.hmp.command('info pci'), str)
        self.assertIsInstance(self.hmp.command('info block'), str)

    def test_reset_and_powerdown(self):
        self.hmp.command('system_reset')
        self.assertEqual(self.qmp.event('RESET')['data']['reason'],
                         'host-qmp-system-reset')
        self.hmp.command('system_powerdown')
        self.qmp.event('POWERDOWN')

    def test_quit(self):
        self.hmp.write(b'quit\r')
        self.assertEqual(self.qmp.event('SHUTDOWN')['data']['reason'],
                         'host-qmp-quit')
        self.assertEqual(self.vm.wait(), 0)

    @QLITE_ONLY
    def test_line_editing(self):
        # Backspace, an arrow key (ignored), CRLF ending one line.
        self.hmp.write(b'info stat\x7f\x7fatus\x1b[A\r\n')
        out = self.hmp.read_until().decode()
        self.assertIn('VM status: running', out)
        self.assertIn('\b \b', out)
        self.hmp.write(b'info name\r\n')
        self.assertIn('hmp1', self.hmp.read_until().decode())


class HmpQtreeTest(HmpStdioTest):
    machine = PC + ('-device', 'isa-serial,id=ser7,index=1')

    def test_info_qtree(self):
        out = self.hmp.command('info qtree')
        self.assertIn('dev: isa-serial, id "ser7"', out)

    def test_info_mtree_lists_regions(self):
        self.assertIn('address-space', self.hmp.command('info mtree'))


@QLITE_ONLY     # QEMU's firmware floods the console and races the switch
class MuxTest(unittest.TestCase):
    """-nographic: serial console and monitor share stdio; Ctrl-a c."""

    def test_switch_to_monitor(self):
        vm = Emulator(machine=PC, extra=['-nographic'],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(vm.close)
        proc = vm.proc

        def write(data):
            proc.stdin.write(data)
            proc.stdin.flush()
        hmp = HmpPipe(proc.stdout.fileno(), write)
        qmp = vm.connect()
        qmp.ok('query-status')
        hmp.drain()
        # C-a c cycles the focus; the monitor is at most two switches away
        # (which front end starts with the focus is the mux's business).
        for _ in range(2):
            write(b'\x01c')
            try:
                hmp.read_until(timeout=3)
                break
            except AssertionError:
                continue
        else:
            self.fail('no monitor prompt after C-a c: %r' % hmp.buf[-300:])
        self.assertEqual(hmp.command('info status'), 'VM status: running\r\n')
        write(b'\x01x')             # C-a x quits
        self.assertEqual(vm.wait(), 0)


class SocketMonitorTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='qlite-mon-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start(self, args):
        self.vm = Emulator(qmp=0, extra=args)
        self.addCleanup(self.vm.close)

    def sock_path(self, name):
        return os.path.join(self.dir, name)

    def test_hmp_on_socket_reconnect(self):
        path = self.sock_path('hmp.sock')
        self.start(['-chardev', 'socket,id=hm,path=%s,server=on,wait=off'
                    % path, '-mon', 'chardev=hm'])
        self.vm._wait_for(path)
        for _ in range(2):
            s = connect_unix(path)
            hmp = HmpPipe(s.fileno(), s.sendall)
            self.assertIn(b'monitor', hmp.read_until())
            self.assertEqual(hmp.command('info status'),
                             'VM status: running\r\n')
            s.close()
            time.sleep(0.1)

    def test_qmp_on_mon_control(self):
        path = self.sock_path('qmp.sock')
        self.start(['-chardev', 'socket,id=q0,path=%s,server=on,wait=off'
                    % path, '-mon', 'chardev=q0,mode=control'])
        self.vm._wait_for(path)
        c = QMPClient(path=path)
        self.assertIn('return', c.cmd('query-status'))
        c.close()

    def test_qmp_old_spelling(self):
        path = self.sock_path('old.sock')
        self.start(['-qmp', 'unix:%s,server,nowait' % path])
        self.vm._wait_for(path)
        c = QMPClient(path=path)
        self.assertIn('return', c.cmd('query-status'))
        c.close()

    def test_qmp_tcp(self):
        probe = socket.socket()
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
        probe.close()
        self.start(['-qmp', 'tcp:127.0.0.1:%d,server=on,wait=off' % port])
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                sock = socket.create_connection(('127.0.0.1', port), 1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        c = QMPClient(sock=sock)
        self.assertEqual(c.ok('query-target'), {'arch': 'x86_64'})
        c.close()

    def test_qmp_stdio(self):
        proc = subprocess.run(
            [binary(), '-machine', 'none', '-display', 'none',
             '-qmp', 'stdio'],
            input=b'{"execute": "qmp_capabilities"}\n'
                  b'{"execute": "query-status", "id": 1}\n'
                  b'{"execute": "quit"}\n',
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        self.assertIn('QMP', lines[0])
        self.assertEqual(lines[2]['id'], 1)
        self.assertEqual(proc.returncode, 0)


@unittest.skipIf(not shutil.which('socat'), 'socat is not installed')
class SocatTest(unittest.TestCase):
    def setUp(self):
        self.vm = Emulator(qmp=1)
        self.addCleanup(self.vm.close)

    def socat(self, path, data, wait=1.0):
        proc = subprocess.run(['socat', '-t%s' % wait, '-',
                               'UNIX-CONNECT:%s' % path],
                              input=data, stdout=subprocess.PIPE,
                              timeout=TIMEOUT)
        return proc.stdout

    def test_qmp_through_socat(self):
        out = self.socat(self.vm.sockets[0],
                         b'{"execute": "qmp_capabilities"}\n'
                         b'{"execute": "query-status", "id": "s"}\n'
                         b'{"execute": "no-such"}\n'
                         b'{"execute": "stop"}\n')
        msgs = [json.loads(line) for line in out.splitlines()]
        self.assertIn('QMP', msgs[0])
        self.assertEqual(msgs[1], {'return': {}})
        self.assertEqual(msgs[2]['id'], 's')
        self.assertTrue(msgs[2]['return']['running'])
        self.assertEqual(msgs[3]['error']['class'], 'CommandNotFound')
        self.assertIn({'return': {}}, msgs[4:])
        self.assertIn('STOP', [m.get('event') for m in msgs[4:]])
        # Every line ends in CRLF, as QEMU sends it.
        self.assertTrue(all(line.endswith(b'\r')
                            for line in out.split(b'\n')[:-1]))

    def test_hmp_through_socat(self):
        vm = Emulator(qmp=0, extra=[
            '-monitor', 'unix:%s/hmp.sock,server=on,wait=off'
            % self.vm.dir])
        self.addCleanup(vm.close)
        path = os.path.join(self.vm.dir, 'hmp.sock')
        vm._wait_for(path)
        out = self.socat(path, b'info status\r\ninfo version\r\n')
        self.assertIn(b'VM status: running', out)
        self.assertIn(b'7.2.', out)


if __name__ == '__main__':
    unittest.main()
