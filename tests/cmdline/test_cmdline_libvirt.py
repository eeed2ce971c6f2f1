#!/usr/bin/env python3
"""Issue 14: the options libvirt 9.0 puts on qemu-system-x86_64's command
line, each accepted with its effect seen from outside (QMP, /proc, the
files it writes), and each bad form refused with one line and exit 1.
Standard library only; every wait is for a condition."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BINARY = os.environ.get('QLITE_BINARY', 'build/qlite-system-x86_64')
PROG = 'qlite-system-x86_64'
UUID = 'c7a5fdbd-edaf-9455-926a-d65c16db1809'


def run(*args, timeout=20, pass_fds=()):
    return subprocess.run([BINARY, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL,
                          pass_fds=pass_fds)


def wait_for(cond, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.01)


def read_file(path):
    with open(path, 'rb') as f:
        return f.read()


def proc_gone(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except OSError:
        return True


class Qmp:
    """QMP over a connected socket; fds can go with a command."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(20)
        self.file = sock.makefile('rb')
        self.greeting = self._read()
        self.cmd('qmp_capabilities')

    @classmethod
    def connect(cls, path):
        s = socket.socket(socket.AF_UNIX)
        wait_for(lambda: s.connect_ex(path) == 0, 'QMP socket ' + path)
        return cls(s)

    def _read(self):
        line = self.file.readline()
        if not line:
            raise EOFError('QMP closed')
        return json.loads(line)

    def cmd(self, name, args=None, fds=()):
        msg = {'execute': name}
        if args is not None:
            msg['arguments'] = args
        data = json.dumps(msg).encode() + b'\n'
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.sendall(data)
        while True:
            r = self._read()
            if 'event' not in r:
                return r

    def ok(self, name, args=None, fds=()):
        r = self.cmd(name, args, fds)
        if 'return' not in r:
            raise AssertionError('%s: %s' % (name, r))
        return r['return']

    def close(self):
        self.file.close()
        self.sock.close()


class Guest:
    """qlite under -qtest stdio (a line protocol that pokes ports and
    memory), with QMP on a socket the test made and passed as fd=N, as
    libvirt does."""

    def __init__(self, test, args, pass_fds=(), qtest=True):
        self.listener = socket.socket(socket.AF_UNIX)
        self.path = os.path.join(test.tmp.name, 'mon%d.sock' % id(self))
        self.listener.bind(self.path)
        self.listener.listen(1)
        fd = self.listener.fileno()
        cmd = [BINARY, '-S', '-nodefaults', '-display', 'none',
               '-no-user-config', '-chardev',
               'socket,id=charmonitor,fd=%d,server=on,wait=off' % fd,
               '-mon', 'chardev=charmonitor,id=monitor,mode=control', *args]
        if qtest:
            cmd += ['-qtest', 'stdio']
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     pass_fds=(fd, *pass_fds))
        test.addCleanup(self.stop)
        self.qmp = Qmp.connect(self.path)

    def qtest(self, line):
        self.proc.stdin.write(line.encode() + b'\n')
        self.proc.stdin.flush()
        return self.proc.stdout.readline().decode().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()
        self.qmp.close()
        self.listener.close()


class LibvirtStart(unittest.TestCase):
    """The domain start command line libvirt 9.0 builds (libvirt-facts.md
    section 2), option by option."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def file(self, name, data=b''):
        path = os.path.join(self.tmp.name, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def test_monitor_fd_and_serial_fdset(self):
        """-chardev socket,fd=N (listening) carries QMP; the serial port
        writes into the file behind -add-fd set=0 and /dev/fdset/0."""
        log = self.file('serial.log')
        fd = os.open(log, os.O_WRONLY | os.O_APPEND)
        self.addCleanup(os.close, fd)
        key = self.file('master-key.aes', os.urandom(32))
        g = Guest(self, [
            '-name', 'guest=tcgmin,debug-threads=on', '-machine',
            'pc-i440fx-7.2,usb=off,dump-guest-core=off,'
            'memory-backend=pc.ram', '-m', '16',
            '-object', json.dumps({'qom-type': 'secret', 'id': 'masterKey0',
                                   'format': 'raw', 'file': key}),
            '-object', json.dumps({'qom-type': 'memory-backend-ram',
                                   'id': 'pc.ram', 'size': 16 << 20}),
            '-overcommit', 'mem-lock=off', '-uuid', UUID, '-rtc', 'base=utc',
            '-no-shutdown', '-no-acpi', '-boot', 'strict=on',
            '-add-fd', 'set=0,fd=%d,opaque=serial0-source' % fd,
            '-chardev', 'file,id=charserial0,path=/dev/fdset/0,append=on',
            '-device', json.dumps({'driver': 'isa-serial',
                                   'chardev': 'charserial0',
                                   'id': 'serial0', 'index': 0}),
            '-audiodev', '{"id":"audio1","driver":"none"}',
            '-msg', 'timestamp=on'], pass_fds=(fd,))
        q = g.qmp
        self.assertEqual(q.ok('query-uuid'), {'UUID': UUID})
        chardevs = {c['label']: c['filename'] for c in q.ok('query-chardev')}
        self.assertEqual(chardevs['charmonitor'],
                         'unix:%s,server=on' % g.path)
        self.assertEqual(q.ok('query-name'), {'name': 'tcgmin'})
        self.assertEqual(q.ok('query-fdsets'), [
            {'fdset-id': 0, 'fds': [{'fd': fd, 'opaque': 'serial0-source'}]}])
        self.assertEqual(q.ok('qom-get', {'path': '/objects/masterKey0',
                                          'property': 'loaded'}), True)
        self.assertEqual([m['id'] for m in q.ok('query-memdev')], ['pc.ram'])
        self.assertEqual(q.ok('qom-get', {'path': '/objects/pc.ram',
                                          'property': 'size'}), 16 << 20)
        # -no-acpi: no PIIX4 power management function at 00:01.3
        devs = q.ok('query-pci')[0]['devices']
        self.assertNotIn((1, 3), [(d['slot'], d['function']) for d in devs])
        # the backend in use cannot be deleted
        r = q.cmd('object-del', {'id': 'pc.ram'})
        self.assertIn('in use', r['error']['desc'])
        for ch in b'hi\n':
            self.assertEqual(g.qtest('outb 0x3f8 0x%x' % ch), 'OK')
        wait_for(lambda: read_file(log) == b'hi\n', 'serial output')

    def test_monitor_fd_connected(self):
        """fd=N of a connected socket (no server=on): QMP on the other
        end of a socketpair."""
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        proc = subprocess.Popen(
            [BINARY, '-S', '-nodefaults', '-display', 'none', '-machine',
             'none', '-chardev', 'socket,id=m,fd=%d' % theirs.fileno(),
             '-mon', 'chardev=m,mode=control'], pass_fds=(theirs.fileno(),),
            stderr=subprocess.PIPE)
        theirs.close()
        q = Qmp(ours)
        self.assertEqual(q.ok('query-status')['status'], 'prelaunch')
        q.ok('quit')
        self.assertEqual(proc.wait(20), 0)
        proc.stderr.close()

    def test_memory_backend_file(self):
        """Guest RAM writes land in mem-path (share=on)."""
        mem = os.path.join(self.tmp.name, 'guest.ram')
        g = Guest(self, [
            '-machine', 'pc,memory-backend=ram0', '-m', '16', '-object',
            'memory-backend-file,id=ram0,size=16M,mem-path=%s,share=on' % mem])
        self.assertEqual(os.path.getsize(mem), 16 << 20)
        self.assertEqual(g.qtest('writeq 0x123450 0x1122334455667788'), 'OK')
        with open(mem, 'rb') as f:
            f.seek(0x123450)
            self.assertEqual(f.read(8), bytes.fromhex('8877665544332211'))

    def test_memory_backend_memfd(self):
        g = Guest(self, [
            '-machine', 'pc,memory-backend=ram0', '-object',
            'memory-backend-memfd,id=ram0,size=32M'])
        with open('/proc/%d/maps' % g.proc.pid) as f:
            self.assertIn('memfd:memory-backend-memfd', f.read())
        # with no -m, the RAM is the backend's size, as in QEMU
        self.assertEqual(g.qtest('writeq 0x1fffff8 0x1'), 'OK')
        self.assertEqual(g.qtest('readq 0x1fffff8'), 'OK 0x0000000000000001')

    def test_none_machine_ram(self):
        """-machine none maps RAM at 0 when -m or memory-backend= asks,
        as QEMU's does."""
        for args in (['-m', '16'], ['-machine', 'memory-backend=m',
                                   '-object', 'memory-backend-ram,id=m,'
                                   'size=16M']):
            with self.subTest(args=args):
                g = Guest(self, ['-machine', 'none', *args])
                self.assertEqual(g.qtest('writeq 0xfff000 0x5'), 'OK')
                self.assertEqual(g.qtest('readq 0xfff000'),
                                 'OK 0x0000000000000005')

    def test_process_name_and_mem_lock(self):
        g = Guest(self, ['-machine', 'none', '-name',
                         'guest=x,process=qlite-lv', '-overcommit',
                         'mem-lock=on'], qtest=False)
        with open('/proc/%d/comm' % g.proc.pid) as f:
            self.assertEqual(f.read().strip(), 'qlite-lv')
        with open('/proc/%d/status' % g.proc.pid) as f:
            locked = re.search(r'VmLck:\s+(\d+)', f.read()).group(1)
        self.assertGreater(int(locked), 0)

    def test_thread_names(self):
        """debug-threads=on: the vCPU thread has QEMU's name."""
        g = Guest(self, ['-machine', 'pc', '-accel', 'tcg', '-name',
                         'guest=x,debug-threads=on'], qtest=False)
        task = '/proc/%d/task' % g.proc.pid

        def names():
            out = set()
            for tid in os.listdir(task):
                try:
                    with open('%s/%s/comm' % (task, tid)) as f:
                        out.add(f.read().strip())
                except OSError:
                    pass
            return out
        # GLib names a thread from inside it, once it runs; QEMU's MTTCG
        # names each vCPU's thread so
        wait_for(lambda: 'CPU 0/TCG' in names(), 'the TCG thread')

    def test_qmp_fds(self):
        """add-fd, query-fdsets, remove-fd; getfd, closefd: each fd sent
        with SCM_RIGHTS on the monitor socket."""
        g = Guest(self, ['-machine', 'none'], qtest=False)
        q = g.qmp
        r = q.cmd('add-fd', {'opaque': 'x'})
        self.assertEqual(r['error']['desc'],
                         'No file descriptor supplied via SCM_RIGHTS')
        path = self.file('passed')
        fd = os.open(path, os.O_RDWR)
        self.addCleanup(os.close, fd)
        info = q.ok('add-fd', {'fdset-id': 7, 'opaque': 'disk'}, fds=[fd])
        self.assertEqual(info['fdset-id'], 7)
        self.assertEqual(q.ok('query-fdsets'), [
            {'fdset-id': 7, 'fds': [{'fd': info['fd'], 'opaque': 'disk'}]}])
        target = os.readlink('/proc/%d/fd/%d' % (g.proc.pid, info['fd']))
        self.assertEqual(target, os.path.realpath(path))
        q.ok('remove-fd', {'fdset-id': 7})
        self.assertEqual(q.ok('query-fdsets'), [])
        r = q.cmd('remove-fd', {'fdset-id': 7})
        self.assertIn("'fdset-id:7' not found", r['error']['desc'])
        q.ok('getfd', {'fdname': 'tap0'}, fds=[fd])
        q.ok('closefd', {'fdname': 'tap0'})
        r = q.cmd('closefd', {'fdname': 'tap0'})
        self.assertEqual(r['error']['desc'],
                         "File descriptor named 'tap0' not found")

    def test_qmp_objects(self):
        g = Guest(self, ['-machine', 'none'], qtest=False)
        q = g.qmp
        q.ok('object-add', {'qom-type': 'secret', 'id': 's0',
                            'data': 'aGVsbG8=', 'format': 'base64'})
        q.ok('object-add', {'qom-type': 'memory-backend-memfd', 'id': 'm0',
                            'size': 1 << 20, 'share': True})
        self.assertEqual(q.ok('query-memdev'), [{
            'id': 'm0', 'size': 1 << 20, 'merge': True, 'dump': True,
            'prealloc': False, 'share': True, 'reserve': True,
            'host-nodes': [], 'policy': 'default'}])
        r = q.cmd('object-add', {'qom-type': 'secret', 'id': 's0',
                                 'data': 'x'})
        self.assertEqual(r['error']['desc'], "Duplicate ID 's0' for object")
        q.ok('object-del', {'id': 'm0'})
        q.ok('object-del', {'id': 's0'})
        self.assertEqual(q.ok('query-memdev'), [])
        names = [p['name'] for p in q.ok('qom-list-properties',
                                         {'typename': 'memory-backend-file'})]
        for p in ('size', 'share', 'prealloc', 'mem-path', 'discard-data'):
            self.assertIn(p, names)
        names = [p['name'] for p in q.ok('qom-list-properties',
                                         {'typename': 'memory-backend-memfd'})]
        for p in ('size', 'hugetlb', 'hugetlbsize', 'seal'):
            self.assertIn(p, names)
        types = [t['name'] for t in q.ok('qom-list-types')]
        for t in ('secret', 'memory-backend-ram', 'memory-backend-file',
                  'memory-backend-memfd'):
            self.assertIn(t, types)
        self.assertNotIn('iothread', types)


class Probe(unittest.TestCase):
    """libvirt's capability probe: it waits for the parent to exit 0 and
    then needs the socket listening and the pid file written."""

    def test_probe_command_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            sock = os.path.join(tmp, 'qmp.monitor')
            pidfile = os.path.join(tmp, 'qmp.pid')
            res = run('-S', '-no-user-config', '-nodefaults', '-nographic',
                      '-machine', 'none,accel=kvm:tcg', '-qmp',
                      'unix:%s,server=on,wait=off' % sock, '-pidfile',
                      pidfile, '-daemonize')
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertEqual(res.stderr, '')
            with open(pidfile) as f:
                pid = int(f.read())
            self.addCleanup(lambda: proc_gone(pid) or os.kill(pid, 9))
            # listening already: connect at once, no retry needed
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            q = Qmp(s)
            self.assertEqual(q.ok('query-status')['status'], 'prelaunch')
            for n in (0, 1, 2):
                self.assertEqual(os.readlink('/proc/%d/fd/%d' % (pid, n)),
                                 '/dev/null')
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: proc_gone(pid), 'daemon exit on SIGTERM')
            q.close()

    def test_nographic_with_stdio_still_refused(self):
        res = run('-nographic', '-daemonize', '-machine', 'none')
        self.assertEqual(res.returncode, 1)
        self.assertIn('-nographic cannot be used with -daemonize',
                      res.stderr)


class BadLibvirtOptions(unittest.TestCase):
    """Each bad form: exit 1 and one line naming it (QEMU's words where
    QEMU has them)."""
    BASE = ['-machine', 'none', '-nodefaults', '-display', 'none', '-S']
    PC = ['-machine', 'pc', '-nodefaults', '-display', 'none', '-S']
    CASES = [
        (['-object', 'foo,id=x'],
         r"-object foo,id=x: Parameter 'qom-type' does not accept value "
         r"'foo'"),
        (['-object', '{"qom-type":"foo","id":"x"}'],
         r"Parameter 'qom-type' does not accept value 'foo'"),
        (['-object', '{bad'], r"-object \{bad: JSON parse error"),
        (['-object', 'secret,data=x'], r"Parameter 'id' is missing"),
        (['-object', 'secret,id=s'],
         r"-object secret,id=s: Either 'file' or 'data' must be provided"),
        (['-object', 'secret,id=s,data=abc,format=xx'],
         r"Parameter 'format' does not accept value 'xx'"),
        (['-object', 'secret,id=s,data=a,bogus=1'],
         r"Invalid parameter 'bogus'"),
        (['-object', 'secret,id=s,file=/nonexistent-qlite'],
         r"Unable to read /nonexistent-qlite"),
        (['-object', 'secret,id=s,data=a,keyid=k,iv=x'],
         r"keyid/iv .* not supported"),
        (['-object', 'secret,id=s,data=***,format=base64'],
         r"Base64 data of secret is not valid"),
        (['-object', 'secret,id=s,data=a', '-object', 'secret,id=s,data=b'],
         r"Duplicate ID 's' for object"),
        (['-object', 'iothread,id=io'], r"qlite has no I/O threads"),
        (['-object', 'memory-backend-ram,id=m'],
         r"Parameter 'size' is missing"),
        (['-object', 'memory-backend-ram,id=m,size=0'],
         r"property 'size' of memory-backend-ram doesn't take value '0'"),
        (['-object', 'memory-backend-ram,id=m,size=1M,policy=bind'],
         r"policy=bind: .*only policy=default"),
        (['-object', 'memory-backend-file,id=m,size=1M'],
         r"Parameter 'mem-path' is missing"),
        (['-object', 'memory-backend-file,id=m,size=1M,mem-path=/x,pmem=on'],
         r"Lack of libpmem support"),
        (PC + ['-m', '256', '-machine', 'memory-backend=r', '-object',
               'memory-backend-ram,id=r,size=128M'],
         r"Machine memory size does not match the size of the memory "
         r"backend"),
        (PC + ['-machine', 'memory-backend=r', '-object',
               'memory-backend-file,id=r,size=128M,mem-path=/dev/zero,'
               'readonly=on'],
         r"memory backend 'r' is read-only: it cannot be the machine's RAM"),
        (PC + ['-machine', 'memory-backend=nope'],
         r"Memory backend 'nope' not found"),
        (PC + ['-machine', 'usb=on'], r"usb=on: .* no USB controller"),
        (PC + ['-machine', 'vmport=on'], r"vmport=on: "),
        (PC + ['-machine', 'dump-guest-core=maybe'],
         r"Parameter 'dump-guest-core' expects 'on' or 'off'"),
        (['-add-fd', 'fd=99,set=1'], r"fd is not valid or already in use"),
        (['-add-fd', 'fd=1,set=1'], r"fd cannot be a standard I/O stream"),
        (['-add-fd', 'fd=3'],
         r"set option is required and must be non-negative"),
        (['-add-fd', 'set=1'],
         r"fd option is required and must be non-negative"),
        (['-add-fd', 'fd=3,set=1,bogus=2'], r"Invalid parameter 'bogus'"),
        (['-chardev', 'file,id=c,path=/dev/fdset/5'],
         r"Could not open '/dev/fdset/5': No such file or directory"),
        (['-chardev', 'socket,id=c,fd=99,server=on,wait=off'],
         r"File descriptor '99' is not valid"),
        (['-chardev', 'socket,id=c,fd=0,server=on,wait=off'],
         r"File descriptor '0' is not a socket"),
        (['-chardev', 'socket,id=c,fd=nosuch,server=on'],
         r"File descriptor named 'nosuch' has not been found"),
        (['-msg', 'timestamp=maybe'],
         r"Parameter 'timestamp' expects 'on' or 'off'"),
        (['-msg', 'foo=1'], r"Invalid parameter 'foo'"),
        (['-overcommit', 'mem-lock=bad'],
         r"Parameter 'mem-lock' expects 'on' or 'off'"),
        (['-overcommit', 'cpu-pm=on'], r"cpu-pm=on is not supported"),
        (['-audiodev', 'none'], r"Parameter 'id' is missing"),
        (['-audiodev', '{"driver":"none"}'], r"Parameter 'id' is missing"),
        (['-audiodev', 'foo,id=a'],
         r"Parameter 'driver' does not accept value 'foo'"),
        (['-audiodev', '{"id":"a","driver":"pa"}'],
         r"audiodev driver 'pa' is not supported"),
        (['-audiodev', 'none,id=a,bogus=1'],
         r"Parameter 'bogus' is unexpected"),
        (['-device', '{bad'], r"-device \{bad: JSON parse error"),
        (['-name', 'guest=x,debug-threads=maybe'],
         r"Parameter 'debug-threads' expects 'on' or 'off'"),
        (['-name', 'guest=x,bogus=1'], r"Invalid parameter 'bogus'"),
        (['-smbios', 'type=1,serial=x'], r"-smbios .*no SMBIOS tables"),
        (['-no-acpi'], r"Property 'none-machine.acpi' not found"),
    ]

    def test_table(self):
        for args, pattern in self.CASES:
            with self.subTest(args=args):
                base = [] if args[:1] == ['-machine'] else self.BASE
                res = run(*base, *args)
                self.assertEqual(res.returncode, 1, res.stderr)
                lines = res.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, res.stderr)
                self.assertRegex(lines[0], '^' + PROG + ': .*' + pattern)

    def test_msg_timestamp(self):
        res = run(*self.BASE, '-msg', 'timestamp=on', '-object', 'foo,id=x')
        self.assertEqual(res.returncode, 1)
        self.assertRegex(res.stderr, r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.'
                         r'\d{6}Z ' + PROG + ': -object foo,id=x: ')
        res = run(*self.BASE, '-name', 'guest=vm1', '-msg',
                  'timestamp=off,guest-name=on', '-object', 'foo,id=x')
        self.assertRegex(res.stderr, '^vm1 ' + PROG + ': -object ')


if __name__ == '__main__':
    unittest.main(verbosity=2)
