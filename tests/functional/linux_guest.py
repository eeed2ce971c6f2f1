"""The Linux test guest (scripts/build-test-guest.sh) driven over its
serial console: boot it on an emulator (qlite or the real QEMU, so that a
test is known to be right), type shell commands, read what they print and
their exit status.  Commands end with a marker the shell computes, so the
echo of the typed line never matches it.
"""
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_kvm_linux import GUEST_DIR, skip_reason_guest  # noqa: E402,F401
from test_kvm import binary  # noqa: E402

BOOT_TIMEOUT = float(os.environ.get('QLITE_GUEST_TIMEOUT', '400'))


class Console:
    """The guest's serial console on the emulator's stdio, read by a
    thread."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b''
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        while True:
            data = self.proc.stdout.read1(4096)
            if not data:
                return
            with self.lock:
                self.buf += data

    def text(self):
        with self.lock:
            return self.buf.decode(errors='replace')

    def wait_for(self, pattern, timeout, start=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text()[start:])
            if m:
                return m, time.monotonic()
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError('no %r in console output:\n%s' %
                             (pattern, self.text()[-3000:]))

    def type(self, line):
        self.proc.stdin.write(line.encode() + b'\n')
        self.proc.stdin.flush()


def emulators():
    """(name, (binary, accel)) to run a guest test on: qlite on tcg, qlite
    on KVM where KVM can boot the guest, and the real QEMU on tcg when it
    is installed (so the test itself is known to be right)."""
    from test_kvm_linux import skip_reason
    out = [('qlite', (binary(), 'tcg'))]
    why = skip_reason()
    if why:
        print('SKIP (kvm half): %s' % why)
    else:
        out.append(('qlite-kvm', (binary(), 'kvm')))
    qemu = shutil.which('qemu-system-x86_64')
    if qemu:
        out.append(('qemu', (qemu, 'tcg')))
    else:
        print('SKIP (qemu half): qemu-system-x86_64 is not installed')
    return out


class Guest:
    """One boot of the test guest with a shell on the console."""

    def __init__(self, emulator, args, mem='512M', smp=1):
        """@emulator: a binary (run on tcg) or (binary, accel)."""
        binary_path, accel = (emulator if isinstance(emulator, tuple)
                              else (emulator, 'tcg'))
        self.args = [binary_path, '-accel', accel, '-m', mem, '-smp',
                     str(smp),
                     '-nographic', '-no-reboot',
                     '-kernel', os.path.join(GUEST_DIR, 'vmlinuz'),
                     '-initrd', os.path.join(GUEST_DIR, 'initramfs.gz'),
                     '-append', 'console=ttyS0 qlite.scenario=shell'
                     ] + list(args)
        self.proc = None
        self.con = None
        self.seq = 0

    def start(self):
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.con = Console(self.proc)
        self.con.wait_for(r'QLITE-GUEST-READY', BOOT_TIMEOUT)
        # The shell prints its prompt after the marker; a command typed
        # earlier is still read, so only the first needs no wait.
        return self

    def run(self, cmd, timeout=120):
        """Run @cmd in the guest shell; (exit status, output)."""
        self.seq += 1
        n = self.seq
        start = len(self.con.text())
        self.con.type('%s; echo "@@RC-$((%d+0))=$?@@"' % (cmd, n))
        m, _ = self.con.wait_for(r'@@RC-%d=(\d+)@@' % n, timeout, start)
        out = self.con.text()[start:start + m.start()]
        return int(m.group(1)), out

    def check(self, cmd, timeout=120):
        rc, out = self.run(cmd, timeout)
        if rc != 0:
            raise AssertionError('guest command failed (%d): %s\n%s' %
                                 (rc, cmd, out[-2000:]))
        return out

    def poweroff(self, timeout=120):
        self.con.type('sync; poweroff -f')
        self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def kill(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass

    def stderr(self):
        return self.proc.stderr.read().decode(errors='replace') \
            if self.proc.poll() is not None else ''

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (for hostfwd)."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Qmp:
    """A QMP client on a unix socket (-qmp unix:PATH,server=on,wait=off)."""

    def __init__(self, path, timeout=60):
        import json
        import socket
        self.json = json
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile('rb')
        self.events = []
        self._read()                                # the greeting
        self.cmd('qmp_capabilities')

    def _read(self):
        line = self.file.readline()
        if not line:
            raise EOFError('QMP connection closed')
        return self.json.loads(line)

    def cmd(self, name, args=None):
        """The reply ('return' or 'error'); events are kept in .events."""
        msg = {'execute': name}
        if args is not None:
            msg['arguments'] = args
        self.sock.sendall(self.json.dumps(msg).encode() + b'\n')
        while True:
            r = self._read()
            if 'event' in r:
                self.events.append(r)
            else:
                return r

    def close(self):
        self.file.close()
        self.sock.close()
