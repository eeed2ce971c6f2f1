"""A small qtest client: start the emulator with no CPU, drive it over the
qtest line protocol, and watch the IRQ lines it reports.

The emulator connects to sockets this module listens on, as QEMU's libqtest
does: -qtest unix:PATH for the protocol and, when asked, -serial unix:PATH
for the first serial port.  Standard library only.

QLITE_BINARY names the emulator (meson sets it); without it, build/ in the
source tree.  Pointing it at a real qemu-system-x86_64 runs the same test
against QEMU, as a check of the test itself.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

SRC_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TIMEOUT = 10.0


def binary():
    path = os.environ.get('QLITE_BINARY')
    if path:
        return path
    return os.path.join(SRC_ROOT, 'build', 'qlite-system-x86_64')


def is_real_qemu(path=None):
    return os.path.basename(path or binary()).startswith('qemu')


class QtestError(Exception):
    pass


class _Listener:
    """A unix socket the emulator connects to as a client."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(TIMEOUT)

    def accept(self, proc):
        deadline = time.monotonic() + TIMEOUT
        self.sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
                conn.settimeout(TIMEOUT)
                return conn
            except socket.timeout:
                if proc.poll() is not None:
                    break
        raise QtestError('the emulator did not connect to %s' % self.path)

    def close(self):
        self.sock.close()


class QtestMachine:
    """One emulator process driven over qtest.

    serial=True gives COM1 a socket: serial_send() feeds its receiver and
    serial_recv() returns what the guest side transmitted.
    """

    def __init__(self, args=(), serial=False, machine='pc', path=None):
        self.binary = path or binary()
        self.args = list(args)
        self.serial = serial
        self.machine = machine
        self.irq_events = []
        self.irq_levels = {}
        self.proc = None
        self.conn = None
        self.serial_conn = None
        self._buf = b''
        self._dir = tempfile.mkdtemp(prefix='qlite-qtest-')
        self.log_path = os.path.join(self._dir, 'stderr.log')

    # ---- life cycle ----

    def command_line(self, qtest_path, serial_path):
        cmd = [self.binary, '-machine', self.machine]
        if not is_real_qemu(self.binary):
            cmd += ['-accel', 'qtest']
        else:
            cmd += ['-S']   # Debian's QEMU lacks the qtest accelerator
        cmd += ['-qtest', 'unix:' + qtest_path, '-display', 'none',
                '-nodefaults']
        if serial_path:
            cmd += ['-serial', 'unix:' + serial_path]
        return cmd + self.args

    def start(self):
        qtest_path = os.path.join(self._dir, 'qtest.sock')
        serial_path = os.path.join(self._dir, 'serial.sock')
        qtest_l = _Listener(qtest_path)
        serial_l = _Listener(serial_path) if self.serial else None
        log = open(self.log_path, 'wb')
        try:
            self.proc = subprocess.Popen(
                self.command_line(qtest_path,
                                  serial_path if self.serial else None),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            if serial_l:
                self.serial_conn = serial_l.accept(self.proc)
            self.conn = qtest_l.accept(self.proc)
        except Exception:
            self.close()
            raise QtestError('start failed: %s' % self.stderr())
        finally:
            log.close()
            qtest_l.close()
            if serial_l:
                serial_l.close()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for conn in (self.conn, self.serial_conn):
            if conn:
                conn.close()
        self.conn = self.serial_conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)

    def stderr(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def wait_exit(self, timeout=TIMEOUT):
        """The exit status once the process ends."""
        return self.proc.wait(timeout=timeout)

    # ---- the protocol ----

    def _readline(self):
        while b'\n' not in self._buf:
            try:
                data = self.conn.recv(65536)
            except socket.timeout:
                raise QtestError('no reply within %ss' % TIMEOUT)
            if not data:
                raise QtestError('connection closed; stderr: %s' %
                                 self.stderr())
            self._buf += data
        line, self._buf = self._buf.split(b'\n', 1)
        return line.decode()

    def cmd(self, line):
        """Send one request; return its reply, queueing IRQ lines."""
        self.conn.sendall(line.encode() + b'\n')
        while True:
            reply = self._readline()
            if reply.startswith('IRQ '):
                self._irq_event(reply[4:])
                continue
            return reply

    def send_only(self, line):
        """Send a request that may end the process (no reply awaited)."""
        self.conn.sendall(line.encode() + b'\n')

    def ok(self, line):
        reply = self.cmd(line)
        if not reply.startswith('OK'):
            raise QtestError('%r failed: %r' % (line, reply))
        return reply[3:]

    def _irq_event(self, event):
        what, line = event.split()
        self.irq_levels[int(line)] = 1 if what == 'raise' else 0
        self.irq_events.append(event)

    def irq_level(self, line):
        """The level of an intercepted line after the last reply."""
        return self.irq_levels.get(line, 0)

    def take_irqs(self):
        """The IRQ events seen since the last call ("raise 4", ...)."""
        events, self.irq_events = self.irq_events, []
        return events

    def outb(self, port, val):
        self.ok('outb 0x%x 0x%x' % (port, val))

    def outw(self, port, val):
        self.ok('outw 0x%x 0x%x' % (port, val))

    def outl(self, port, val):
        self.ok('outl 0x%x 0x%x' % (port, val))

    def inb(self, port):
        return int(self.ok('inb 0x%x' % port), 16)

    def inw(self, port):
        return int(self.ok('inw 0x%x' % port), 16)

    def inl(self, port):
        return int(self.ok('inl 0x%x' % port), 16)

    def readl(self, addr):
        return int(self.ok('readl 0x%x' % addr), 16)

    def writel(self, addr, val):
        self.ok('writel 0x%x 0x%x' % (addr, val))

    def clock_step(self, ns=None):
        return int(self.ok('clock_step' + ('' if ns is None else
                                           ' %d' % ns)))

    def set_irq_in(self, path, line, level, name='unnamed'):
        self.ok('set_irq_in %s %s %d %d' % (path, name, line, level))

    # ---- the serial socket ----

    def serial_send(self, data):
        self.serial_conn.sendall(data)

    def serial_recv(self, count, timeout=TIMEOUT):
        """Exactly @count bytes the UART sent, or what came in time."""
        data = b''
        self.serial_conn.settimeout(timeout)
        try:
            while len(data) < count:
                chunk = self.serial_conn.recv(count - len(data))
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        return data

    def serial_quiet(self, wait=0.2):
        """Whatever arrives within @wait seconds (expected: nothing)."""
        self.serial_conn.settimeout(wait)
        try:
            return self.serial_conn.recv(4096)
        except socket.timeout:
            return b''

    def poll_until(self, fn, timeout=TIMEOUT):
        """Repeat fn() until it is true (input arrives asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if fn():
                return True
            time.sleep(0.01)
        return fn()
