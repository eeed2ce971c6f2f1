"""A QMP client and emulator launcher for the QMP tests; standard library
only.  No tests live here (the test_qmp*.py files import it).

QLITE_BINARY names the emulator (meson sets it); without it, build/ in the
source tree.  Pointing it at a real qemu-system-x86_64 runs the tests
against QEMU, as a check of the tests themselves.
"""
import json
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


def is_real_qemu():
    return os.path.basename(binary()).startswith('qemu')


class QMPError(Exception):
    pass


def connect_unix(path):
    """Connect, retrying while the server is between bind and listen."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (ConnectionRefusedError, FileNotFoundError):
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class QMPStream:
    """Splits bytes from a socket or pipe into JSON messages."""

    def __init__(self, recv):
        self.recv = recv
        self.buf = ''
        self.raw = b''
        self.decoder = json.JSONDecoder()

    def next(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            text = self.buf.lstrip()
            if text:
                try:
                    msg, end = self.decoder.raw_decode(text)
                    self.buf = text[end:]
                    return msg
                except json.JSONDecodeError:
                    pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPError('no complete message within %.1fs; have %r'
                               % (timeout, self.buf[:200]))
            data = self.recv(left)
            if not data:
                raise QMPError('connection closed; have %r' % self.buf[:200])
            self.raw += data
            self.buf += data.decode('utf-8', 'replace')


class QMPClient:
    """One QMP connection.  Events that arrive while waiting for a reply
    are kept in self.events."""

    def __init__(self, sock=None, path=None, negotiate=True):
        if sock is None:
            sock = connect_unix(path)
        self.sock = sock
        self.sock.settimeout(TIMEOUT)
        self.stream = QMPStream(self._recv)
        self.events = []
        self.greeting = self.stream.next()
        if negotiate:
            reply = self.cmd('qmp_capabilities')
            if reply != {'return': {}}:
                raise QMPError('negotiation failed: %r' % reply)

    def _recv(self, timeout):
        self.sock.settimeout(max(timeout, 0.01))
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            raise QMPError('timed out; have %r' % self.stream.buf[:200])

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw(json.dumps(obj) + '\n')

    def recv(self, timeout=TIMEOUT):
        """The next message that is not an event."""
        while True:
            msg = self.stream.next(timeout)
            if 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd(self, name, args=None, **kw):
        req = {'execute': name}
        if args is not None:
            req['arguments'] = args
        req.update(kw)
        self.send(req)
        return self.recv()

    def ok(self, name, args=None):
        reply = self.cmd(name, args)
        if 'return' not in reply:
            raise QMPError('%s failed: %r' % (name, reply))
        return reply['return']

    def event(self, name, timeout=TIMEOUT):
        """Wait for event @name (kept ones first) and return it."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if ev['event'] == name:
                    self.events.remove(ev)
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPError('no %s event; got %r' % (name, self.events))
            msg = self.stream.next(left)
            if 'event' not in msg:
                raise QMPError('unexpected reply %r' % msg)
            self.events.append(msg)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Emulator:
    """An emulator process with QMP on unix sockets.

    qmp: how many -qmp sockets (-qmp-pretty with pretty); extra: further
    arguments; emulator: another binary (the real QEMU) than binary().
    The default machine is 'none' (no CPU, no devices).
    """

    def __init__(self, extra=(), qmp=1, machine=('-machine', 'none'),
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 pretty=False, emulator=None):
        self.dir = tempfile.mkdtemp(prefix='qlite-qmp-')
        self.sockets = [os.path.join(self.dir, 'qmp%d.sock' % i)
                        for i in range(qmp)]
        args = [emulator or binary()] + list(machine) + ['-display', 'none']
        for path in self.sockets:
            args += ['-qmp-pretty' if pretty else '-qmp',
                     'unix:%s,server=on,wait=off' % path]
        args += list(extra)
        self.args = args
        self.stderr_path = os.path.join(self.dir, 'stderr')
        self.stderr = open(self.stderr_path, 'w+')
        self.proc = subprocess.Popen(args, stdin=stdin, stdout=stdout,
                                     stderr=self.stderr)
        self.clients = []
        for path in self.sockets:
            self._wait_for(path)

    def _wait_for(self, path):
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(path):
            if self.proc.poll() is not None:
                raise QMPError('emulator exited with %d: %s'
                               % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                raise QMPError('no socket %s' % path)
            time.sleep(0.02)

    def log(self):
        self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def connect(self, index=0, negotiate=True):
        client = QMPClient(path=self.sockets[index], negotiate=negotiate)
        self.clients.append(client)
        return client

    def raw_socket(self, index=0):
        sock = connect_unix(self.sockets[index])
        sock.settimeout(TIMEOUT)
        return sock

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=TIMEOUT):
        return self.proc.wait(timeout)

    def close(self):
        for c in self.clients:
            c.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
