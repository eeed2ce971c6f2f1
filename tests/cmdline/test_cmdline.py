#!/usr/bin/env python3
"""Command-line behaviour of qlite-system-x86_64: exit codes and the one
line of error output for bad input, help and version output, accelerator
fallback, -daemonize/-pidfile.  Standard library only."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BINARY = os.environ.get('QLITE_BINARY', 'build/qlite-system-x86_64')
PROG = 'qlite-system-x86_64'


def run(*args, timeout=20, env=None, stdin=subprocess.DEVNULL):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([BINARY, *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, stdin=stdin)


class BadDrives(unittest.TestCase):
    """Issue 11: each bad -drive/-blockdev/-device drive= input is one line
    naming it and exit status 1."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.raw = os.path.join(cls.tmp.name, 'disk.raw')
        with open(cls.raw, 'wb') as f:
            f.truncate(1 << 20)
        cls.qcow2 = os.path.join(cls.tmp.name, 'disk.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2',
                        cls.qcow2, '16M'], check=True)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def expect(self, args, pattern):
        BadInput.expect_error(self, ['-machine', 'pc', '-display', 'none',
                                     '-S', *args], pattern)

    def test_missing_image(self):
        self.expect(['-drive', 'file=/nonexistent.qcow2'],
                    r"-drive file=/nonexistent.qcow2: Could not open "
                    r"'/nonexistent.qcow2': No such file or directory")

    def test_unknown_key(self):
        self.expect(['-drive', 'file=%s,format=raw,bogus=1' % self.raw],
                    r"-drive .*: Invalid parameter 'bogus'")

    def test_format_mismatch(self):
        self.expect(['-drive', 'file=%s,format=qcow2,if=virtio' % self.raw],
                    r"-drive .*: .*not in qcow2 format")

    def test_bad_if(self):
        self.expect(['-drive', 'file=%s,format=raw,if=floppyy' % self.raw],
                    r"-drive .*: Invalid parameter value for 'if'")

    def test_bad_werror(self):
        self.expect(['-drive', 'file=%s,format=raw,werror=maybe' % self.raw],
                    r"-drive .*: 'maybe' invalid write error action")

    def test_serial_without_a_device_of_its_own(self):
        self.expect(['-drive', 'file=%s,format=raw,if=none,id=x,serial=s1'
                     % self.raw],
                    r"-drive .*: serial= needs if=ide or if=virtio")

    def test_unsupported_interface(self):
        self.expect(['-drive', 'file=%s,format=raw,if=scsi' % self.raw],
                    r"machine type does not support if=scsi,bus=0,unit=0")

    def test_drive_names_no_node(self):
        self.expect(['-device', 'virtio-blk-pci,drive=nosuch'],
                    r"-device virtio-blk-pci,drive=nosuch: .*'nosuch'")

    def test_two_devices_on_one_node(self):
        self.expect(['-blockdev', 'driver=file,node-name=f0,filename=%s'
                     % self.raw,
                     '-blockdev', 'driver=raw,node-name=d0,file=f0',
                     '-device', 'virtio-blk-pci,drive=d0',
                     '-device', 'virtio-blk-pci,drive=d0'],
                    r"-device virtio-blk-pci,drive=d0: .*'d0' is already "
                    r"in use")

    def test_ide_devices_fill_both_channels(self):
        """Four ide-hd without bus= take ide.0 then ide.1; a fifth finds
        no bus, as in QEMU."""
        args = []
        for i in range(5):
            path = os.path.join(self.tmp.name, 'ide%d.raw' % i)
            with open(path, 'wb') as f:
                f.truncate(1 << 20)
            args += ['-drive', 'if=none,id=i%d,file=%s,format=raw' %
                     (i, path), '-device', 'ide-hd,drive=i%d' % i]
        self.expect(args + ['-nodefaults'],
                    r"-device ide-hd,drive=i4: No 'IDE' bus found for "
                    r"device 'ide-hd'")
        res = run('-machine', 'pc', '-display', 'none', '-nodefaults',
                  *args[:16], '-qtest', 'stdio', '-accel', 'qtest',
                  stdin=subprocess.DEVNULL)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_image_open_for_writing_elsewhere(self):
        """A qcow2 a real QEMU has open for writing is refused."""
        holder = subprocess.Popen(
            ['qemu-system-x86_64', '-display', 'none', '-S', '-nodefaults',
             '-drive', 'file=%s,if=virtio' % self.qcow2, '-qmp',
             'unix:%s/q.sock,server=on,wait=off' % self.tmp.name],
            stderr=subprocess.PIPE)
        try:
            sock = os.path.join(self.tmp.name, 'q.sock')
            deadline = time.monotonic() + 20
            while not os.path.exists(sock) and time.monotonic() < deadline:
                if holder.poll() is not None:
                    self.fail('qemu exited: %s' % holder.stderr.read())
                time.sleep(0.05)
            self.expect(['-drive', 'file=%s,if=virtio' % self.qcow2],
                        r'-drive .*: Failed to get "write" lock: is '
                        r'another process using the image')
        finally:
            holder.kill()
            holder.wait()
            holder.stderr.close()


class LibvirtBlockdevs(unittest.TestCase):
    """The -blockdev and -device forms libvirt 9.0 writes (issue 14)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.qcow2 = os.path.join(cls.tmp.name, 'disk.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2',
                        cls.qcow2, '16M'], check=True)
        cls.storage = json.dumps({
            'driver': 'file', 'filename': cls.qcow2,
            'node-name': 'libvirt-1-storage', 'auto-read-only': True,
            'discard': 'unmap'})

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def fmt(self, **extra):
        return json.dumps(dict({'node-name': 'libvirt-1-format',
                                'read-only': False, 'driver': 'qcow2',
                                'file': 'libvirt-1-storage'}, **extra))

    def expect(self, args, pattern):
        BadInput.expect_error(self, ['-machine', 'pc', '-display', 'none',
                                     '-S', *args], pattern)

    def run_ok(self, args):
        p = subprocess.run([BINARY, '-machine', 'pc', '-display', 'none',
                            '-nodefaults', '-S', '-qmp', 'stdio', *args],
                           input='{"execute": "qmp_capabilities"}\n'
                                 '{"execute": "quit"}\n',
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def test_libvirt_disk_accepted(self):
        self.run_ok(['-blockdev', self.storage,
                     '-blockdev', self.fmt(backing=None),
                     '-device', 'virtio-blk-pci,bus=pci.0,addr=0x3,'
                     'drive=libvirt-1-format,id=virtio-disk0,bootindex=1'])

    def test_backing_by_name_refused(self):
        self.expect(['-blockdev', self.storage,
                     '-blockdev', self.fmt(backing='other')],
                    r"-blockdev .*: backing='other': a backing node given by name is not "
                    r"supported")

    def test_bad_discard(self):
        self.expect(['-blockdev', json.dumps({
            'driver': 'file', 'filename': self.qcow2, 'node-name': 'n',
            'discard': 'sometimes'})], r"-blockdev .*: Invalid discard option 'sometimes'")

    def test_detect_zeroes_refused(self):
        self.expect(['-blockdev', self.storage, '-blockdev',
                     self.fmt(**{'detect-zeroes': 'on'})],
                    r"-blockdev .*: detect-zeroes=on is not supported")

    def test_bootindex_twice(self):
        self.expect(['-blockdev', self.storage, '-blockdev', self.fmt(),
                     '-device', 'virtio-blk-pci,drive=libvirt-1-format,'
                     'bootindex=1', '-device', 'e1000,bootindex=1'],
                    r"-device e1000,bootindex=1: The bootindex 1 has "
                    r"already been used")

    def test_bootindex_negative(self):
        self.expect(['-device', 'ide-cd,bootindex=-5'],
                    r"-device ide-cd,bootindex=-5: Invalid bootindex -5")


class BadNetdevs(unittest.TestCase):
    """Each bad -netdev user/tap: one line naming it and exit status 1."""

    def expect(self, netdev, pattern):
        BadInput.expect_error(self, ['-machine', 'pc', '-display', 'none',
                                     '-S', '-netdev', netdev],
                              re.escape('-netdev ' + netdev + ': ') + pattern)

    def test_hostfwd_garbage(self):
        self.expect('user,id=n0,hostfwd=garbage',
                    r"Invalid host forwarding rule 'garbage' \(bad protocol")

    def test_hostfwd_port_in_use(self):
        with socket.socket() as busy:
            busy.bind(('127.0.0.1', 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            self.expect('user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22' % port,
                        'Could not set up host forwarding rule')

    def test_bad_net(self):
        self.expect('user,id=n0,net=nonsense', "user: invalid net='nonsense'")

    def test_tap_fd_not_open(self):
        # Nothing is open at 99 in the child: subprocess closes other fds.
        self.expect('tap,id=t0,fd=99',
                    'tap: fd=99 is not a tap device: Bad file descriptor')

    def test_tap_vhost(self):
        self.expect('tap,id=t0,vhost=on', 'tap: vhost=on is not supported')

    def test_bogus_type(self):
        self.expect('bogus,id=n0',
                    "Parameter 'type' does not accept value 'bogus'")

    def test_missing_id(self):
        self.expect('user', "Parameter 'id' is missing")

    def test_unknown_key(self):
        self.expect('user,id=n0,frobnicate=1', '.*frobnicate')

    def test_tap_no_such_interface_without_permission(self):
        # ifname= of an interface that cannot be made here (not root, or
        # no /dev/net/tun): either way one line naming tap.
        if os.geteuid() == 0 and os.path.exists('/dev/net/tun'):
            self.skipTest('root can create nosuchtap0: see test-net-tap')
        self.expect('tap,id=t0,ifname=nosuchtap0,script=no,downscript=no',
                    'tap: ')


class BadNics(unittest.TestCase):
    """NICs that cannot be wired: one line naming them and exit status 1."""

    def expect(self, args, pattern):
        BadInput.expect_error(self, ['-machine', 'pc', '-display', 'none',
                                     '-S'] + args, pattern)

    def test_no_such_netdev(self):
        self.expect(['-device', 'e1000,netdev=nosuch'],
                    re.escape('-device e1000,netdev=nosuch: ') +
                    "Property 'e1000.netdev' can't find value 'nosuch'")

    def test_second_nic_on_one_netdev(self):
        self.expect(['-netdev', 'user,id=n0',
                     '-device', 'e1000,netdev=n0',
                     '-device', 'virtio-net-pci,netdev=n0'],
                    re.escape('-device virtio-net-pci,netdev=n0: ') +
                    "Property 'virtio-net-pci.netdev' can't use value "
                    "'n0', it is in use")

    def test_nic_bad_mac(self):
        self.expect(['-nic', 'user,mac=zz'], '-nic user,mac=zz: .*mac')

    def test_nic_unknown_model(self):
        self.expect(['-nic', 'user,model=ne2k_isa'],
                    "-nic user,model=ne2k_isa: 'ne2k_isa' is not a valid "
                    'device model name')

    def test_legacy_backend_without_nic(self):
        self.expect(['-net', 'user'], "-net user: no '-net nic' to "
                    'connect this back end to')


class BadInput(unittest.TestCase):
    """Each bad input: exit 1 and one line naming the option."""

    def expect_error(self, args, pattern):
        res = run(*args)
        self.assertEqual(res.returncode, 1, res.stderr)
        lines = res.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, res.stderr)
        self.assertRegex(lines[0], '^' + PROG + ': ' + pattern)

    def test_unknown_option(self):
        self.expect_error(['-frobnicate'], '-frobnicate: invalid option')

    def test_unknown_option_double_dash(self):
        self.expect_error(['--frobnicate'], '--frobnicate: invalid option')

    def test_missing_argument(self):
        self.expect_error(['-m'], '-m: requires an argument')

    def test_bad_memory(self):
        self.expect_error(['-m', 'lots'], "-m lots: Parameter 'size' "
                          'expects a non-negative number')

    def test_unknown_device(self):
        self.expect_error(['-device', 'nosuch'], "-device nosuch: 'nosuch' "
                          'is not a valid device model name')

    def test_bad_device_property(self):
        self.expect_error(['-device', 'isa-debug-exit,iobase=banana'],
                          r"-device isa-debug-exit,iobase=banana: .*"
                          r"'iobase'.*")

    def test_unknown_device_property(self):
        self.expect_error(['-device', 'isa-debug-exit,colour=red'],
                          r"-device isa-debug-exit,colour=red: Property "
                          r"'isa-debug-exit.colour' not found")

    def test_unknown_machine(self):
        self.expect_error(['-M', 'amiga'], '-machine amiga: unsupported '
                          "machine type 'amiga'")

    def test_unknown_machine_property(self):
        self.expect_error(['-machine', 'pc,turbo=on'],
                          r"-machine pc,turbo=on: Property .*turbo' "
                          'not found')

    def test_bad_smp(self):
        self.expect_error(['-smp', 'cpus=4,sockets=3,cores=1'],
                          '-smp cpus=4,sockets=3,cores=1: Invalid CPU '
                          'topology')

    def test_too_many_cpus(self):
        self.expect_error(['-smp', '1000'], '-smp 1000: Invalid SMP CPUs')

    def test_unknown_accel(self):
        self.expect_error(['-accel', 'warp'], '-accel warp: invalid '
                          'accelerator warp')

    def test_accel_options_checked(self):
        """-accel properties are checked, each by its accelerator."""
        self.expect_error(['-accel', 'tcg,thread=many'],
                          "-accel tcg,thread=many: Parameter 'thread' "
                          "expects 'single' or 'multi'")
        self.expect_error(['-accel', 'tcg,tb-size=0'],
                          "-accel tcg,tb-size=0: Parameter 'tb-size' "
                          "expects a size")
        self.expect_error(['-accel', 'kvm,thread=multi'],
                          r"-accel kvm,thread=multi: Property "
                          r"'kvm-accel\.thread' not found")
        self.expect_error(['-accel', 'tcg,kernel-irqchip=on'],
                          r"-accel tcg,kernel-irqchip=on: Property "
                          r"'tcg-accel\.kernel-irqchip' not found")
        self.expect_error(['-accel', 'kvm,kernel-irqchip=split'],
                          "-accel kvm,kernel-irqchip=split: "
                          "kernel-irqchip=split is not supported with kvm")

    def test_missing_kernel(self):
        self.expect_error(['-kernel', '/nonexistent/vmlinuz',
                           '-display', 'none'],
                          "could not load kernel '/nonexistent/vmlinuz': "
                          'No such file or directory')

    def test_bad_display(self):
        self.expect_error(['-display', 'gtk'], "-display gtk: Display 'gtk' "
                          'is not available')

    def test_bad_global(self):
        self.expect_error(['-global', 'nodot'], '-global nodot: ')

    def test_bad_chardev(self):
        self.expect_error(['-chardev', 'warpdrive,id=x'],
                          '-chardev warpdrive,id=x: ')

    def test_unknown_cpu(self):
        self.expect_error(['-cpu', 'pentium9', '-display', 'none'],
                          "unable to find CPU model 'pentium9'")

    def test_unimplemented_cpu_feature(self):
        self.expect_error(['-cpu', 'qemu64,+avx512f', '-display', 'none'],
                          "CPU feature 'avx512f' is not supported")

    def test_nographic_daemonize(self):
        self.expect_error(['-nographic', '-daemonize'],
                          '-nographic cannot be used with -daemonize')


class Info(unittest.TestCase):

    def test_version(self):
        res = run('-version')
        self.assertEqual(res.returncode, 0)
        self.assertRegex(res.stdout, r'^QEMU emulator version 7\.2\.\d+ '
                         r'\(qlite [\d.]+\)')

    def test_help(self):
        res = run('--help')
        self.assertEqual(res.returncode, 0)
        self.assertIn('-device driver', res.stdout)
        self.assertIn('-machine', res.stdout)

    def test_nic_model_help(self):
        for args in (['-nic', 'user,model=help'],
                     ['-net', 'nic,model=help', '-net', 'user']):
            res = run(*args)
            self.assertEqual(res.returncode, 0, res.stderr)
            lines = res.stdout.splitlines()
            self.assertEqual(lines[0], 'Supported NIC models:')
            self.assertIn('e1000', lines)
            self.assertIn('virtio-net-pci', lines)
            self.assertNotIn('virtio-blk-pci', lines)

    def test_device_help(self):
        res = run('-device', 'help')
        self.assertEqual(res.returncode, 0)
        self.assertIn('name "isa-debug-exit", bus ISA', res.stdout)
        self.assertIn('name "isa-serial", bus ISA', res.stdout)
        for line in res.stdout.splitlines():
            if line and not line.endswith('devices:'):
                self.assertRegex(line, r'^name "[^"]+"(, bus \S+)?'
                                 r'(, desc "[^"]*")?$')

    def test_device_props_help(self):
        res = run('-device', 'isa-debug-exit,help')
        self.assertEqual(res.returncode, 0)
        self.assertEqual(res.stdout,
                         'isa-debug-exit options:\n'
                         '  iobase=<uint32>        -  (default: 1281)\n'
                         '  iosize=<uint32>        -  (default: 2)\n')

    def test_machine_help(self):
        res = run('-machine', 'help')
        self.assertEqual(res.returncode, 0)
        self.assertRegex(res.stdout, r'pc\s+Standard PC \(i440FX \+ PIIX, '
                         r'1996\) \(alias of pc-i440fx-7\.2\)')
        self.assertRegex(res.stdout, r'none\s+empty machine')

    def test_cpu_help(self):
        res = run('-cpu', 'help')
        self.assertEqual(res.returncode, 0)
        self.assertTrue(res.stdout.startswith('Available CPUs:\n'))
        for name in ('qemu64', 'max', 'host', 'Opteron_G1', 'IvyBridge',
                     'Skylake-Server'):
            self.assertRegex(res.stdout, r'\nx86 %s\s' % name)

    def test_accel_help(self):
        res = run('-accel', 'help')
        self.assertEqual(res.returncode, 0)
        for name in ('tcg', 'kvm', 'qtest'):
            self.assertIn(name + '\n', res.stdout)


class Accel(unittest.TestCase):
    NO_KVM = {'QLITE_KVM_DEVICE': '/nonexistent/kvm'}

    def test_kvm_missing_fails(self):
        res = run('-accel', 'kvm', '-nographic', env=self.NO_KVM)
        self.assertEqual(res.returncode, 1)
        lines = res.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, res.stderr)
        self.assertIn('/nonexistent/kvm', lines[0])
        self.assertIn('failed to initialize kvm', lines[0])

    def test_enable_kvm_missing_fails(self):
        res = run('-enable-kvm', '-display', 'none', env=self.NO_KVM)
        self.assertEqual(res.returncode, 1)
        self.assertIn('/nonexistent/kvm', res.stderr)

    def fallback(self, *args):
        """Starts on tcg after saying so; ended through QMP quit."""
        with tempfile.TemporaryDirectory() as tmp:
            sock = os.path.join(tmp, 'qmp.sock')
            proc = subprocess.Popen(
                [BINARY, *args, '-machine', 'none', '-display', 'none',
                 '-qmp', 'unix:%s,server=on,wait=off' % sock],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
                env=dict(os.environ, **self.NO_KVM))
            try:
                wait_for_path(sock)
                qmp_quit(sock)
                out, err = proc.communicate(timeout=10)
            finally:
                proc.kill()
            self.assertEqual(proc.returncode, 0, err)
            self.assertIn('falling back to tcg', err)

    def test_machine_accel_fallback(self):
        self.fallback('-machine', 'accel=kvm:tcg')

    def test_accel_list_fallback(self):
        self.fallback('-accel', 'kvm', '-accel', 'tcg')


def wait_for_path(path, timeout=10):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > deadline:
            raise TimeoutError(path)
        time.sleep(0.02)


def qmp_quit(path):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        f = s.makefile('rw')
        f.readline()                                  # greeting
        f.write('{"execute": "qmp_capabilities"}\n')
        f.flush()
        f.readline()
        f.write('{"execute": "quit"}\n')
        f.flush()
        f.readline()


class Daemonize(unittest.TestCase):

    def test_daemonize_pidfile(self):
        with tempfile.TemporaryDirectory() as tmp:
            sock = os.path.join(tmp, 'qmp.sock')
            pidfile = os.path.join(tmp, 'qlite.pid')
            res = run('-machine', 'none', '-display', 'none', '-daemonize',
                      '-pidfile', pidfile, '-qmp',
                      'unix:%s,server=on,wait=off' % sock)
            self.assertEqual(res.returncode, 0, res.stderr)
            # Both must exist the moment the parent returns.
            self.assertTrue(os.path.exists(sock))
            with open(pidfile) as f:
                pid = int(f.read().strip())
            self.assertNotEqual(pid, os.getpid())
            os.kill(pid, 0)                           # alive
            fds = {os.readlink('/proc/%d/fd/%d' % (pid, n))
                   for n in (0, 1, 2)}
            self.assertEqual(fds, {'/dev/null'})
            qmp_quit(sock)
            for _ in range(200):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, 9)
                self.fail('daemon did not exit on quit')

    def test_pidfile_is_locked(self):
        """Issue 16 finding 6: a second instance with the same pid file is
        refused, and the first keeps (and finally removes) the file."""
        with tempfile.TemporaryDirectory() as tmp:
            sock = os.path.join(tmp, 'qmp.sock')
            pidfile = os.path.join(tmp, 'qlite.pid')
            res = run('-machine', 'none', '-display', 'none', '-daemonize',
                      '-pidfile', pidfile, '-qmp',
                      'unix:%s,server=on,wait=off' % sock)
            self.assertEqual(res.returncode, 0, res.stderr)
            with open(pidfile) as f:
                pid = int(f.read().strip())
            self.assertEqual(os.stat(pidfile).st_mode & 0o777, 0o600)
            second = run('-machine', 'none', '-display', 'none',
                         '-pidfile', pidfile)
            self.assertEqual(second.returncode, 1, second.stderr)
            self.assertRegex(second.stderr.strip(), '^' + PROG +
                             ': -pidfile .*: Cannot lock pid file')
            with open(pidfile) as f:
                self.assertEqual(int(f.read().strip()), pid)
            qmp_quit(sock)
            for _ in range(200):
                if not os.path.exists(pidfile):
                    break
                time.sleep(0.05)
            self.assertFalse(os.path.exists(pidfile))


class BadBootOptions(unittest.TestCase):
    """Issue 16 finding 7: options QEMU refuses are refused, in its words."""

    def expect(self, args, pattern):
        BadInput.expect_error(self, ['-machine', 'none', '-display', 'none',
                                     *args], pattern)

    def test_boot_order(self):
        self.expect(['-boot', 'order=zzz'], "-boot order=zzz: Invalid boot "
                    "device 'z'")

    def test_boot_menu(self):
        self.expect(['-boot', 'order=cd,menu=maybe'], ".*'menu' expects")

    def test_rtc_base(self):
        self.expect(['-rtc', 'base=garbage'], '-rtc base=garbage: invalid '
                    'datetime format')

    def test_rtc_clock(self):
        self.expect(['-rtc', 'clock=bogus'], ".*invalid option value "
                    "'bogus'")

    def test_rtc_unsupported_base(self):
        self.expect(['-rtc', 'base=localtime'], '.*only base=utc')

    def test_memory_slots(self):
        self.expect(['-m', '128M,slots=x'], "-m 128M,slots=x: Parameter "
                    "'slots' expects")

    def test_append_without_kernel(self):
        self.expect(['-append', 'console=ttyS0'],
                    '-append only allowed with -kernel option')

    def test_valid_forms_start(self):
        """What QEMU accepts starts (and the qtest server ends it)."""
        res = run('-machine', 'pc', '-accel', 'qtest', '-qtest', 'stdio',
                  '-display', 'none', '-boot', 'order=cd,menu=on,strict=on',
                  '-rtc', 'base=utc,driftfix=none', '-m',
                  '128M,slots=2,maxmem=1G')
        self.assertEqual(res.returncode, 0, res.stderr)


def asan_build():
    """ASan builds start with the sandbox off (system/sandbox.c)."""
    with open(BINARY, 'rb') as f:
        return b'__asan_init' in f.read()


def proc_status(pid):
    """/proc/PID/status as a dict of its fields."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            key, _, value = line.partition(':')
            out[key] = value.strip()
    return out


def proc_state(pid):
    """'R', 'S', ..., 'Z' (exited, not reaped yet) or None (gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return None


def wait_exited(pid, timeout):
    """Seconds until @pid exits (a zombie counts: the daemon's reaper is
    init, which reaps on its own schedule), or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc_state(pid) in ('Z', None):
            return time.monotonic() - start
        time.sleep(0.002)
    return None


class BadConfinement(unittest.TestCase):
    """Issue 16: bad -sandbox, -runas and -chroot values are one line
    naming the problem and exit status 1, as QEMU words them."""

    def expect(self, args, pattern):
        BadInput.expect_error(self, ['-machine', 'none', '-display', 'none',
                                     '-nodefaults', *args], pattern)

    def test_sandbox_not_on_or_off(self):
        self.expect(['-sandbox', 'foo'], "-sandbox foo: Parameter 'enable' "
                    "expects 'on' or 'off'")

    def test_sandbox_bad_suboption_value(self):
        for key in ('obsolete', 'elevateprivileges', 'spawn',
                    'resourcecontrol'):
            with self.subTest(key=key):
                self.expect(['-sandbox', 'on,%s=maybe' % key],
                            '-sandbox on,%s=maybe: invalid argument for %s$'
                            % (key, key))

    def test_sandbox_unknown_suboption(self):
        self.expect(['-sandbox', 'on,bogus=1'],
                    "-sandbox on,bogus=1: Invalid parameter 'bogus'")

    def test_sandbox_missing_argument(self):
        self.expect(['-sandbox'], '-sandbox: requires an argument')

    def test_runas_unknown_user(self):
        self.expect(['-runas', 'no-such-user-qlite'],
                    '-runas no-such-user-qlite: User "no-such-user-qlite" '
                    "doesn't exist")
        self.expect(['-runas', '-1:0'], '-runas -1:0: User "-1:0" doesn\'t '
                    'exist \\(and is not <uid>:<gid>\\)$')

    def test_guestfwd_command_under_sandbox(self):
        """libslirp would start it when the guest connects, under the
        filter (a guest able to kill qlite): refused at start instead."""
        self.expect(['-netdev', 'user,id=n0,guestfwd=tcp:10.0.2.100:1234-'
                     'cmd:cat'], "-netdev .*: guestfwd 'tcp:10.0.2.100:"
                    "1234-cmd:cat': the sandbox forbids starting programs")

    def test_chroot_missing_dir(self):
        self.expect(['-chroot', '/nonexistent-qlite-root'],
                    '-chroot /nonexistent-qlite-root: cannot change root: ')


class Confinement(unittest.TestCase):
    """Issue 16: the sandbox on by default, -runas, -chroot, and
    -daemonize as QEMU does it (umask 027, chdir /, socket 0750, pid
    file 0600), each seen from /proc while qlite runs."""

    def start_daemon(self, tmp, *args):
        sock = os.path.join(tmp, 'qmp.sock')
        pidfile = os.path.join(tmp, 'qlite.pid')
        res = run('-machine', 'none', '-display', 'none', '-nodefaults',
                  '-daemonize', '-pidfile', pidfile, '-qmp',
                  'unix:%s,server=on,wait=off' % sock, *args)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(pidfile) as f:
            pid = int(f.read().strip())
        self.addCleanup(lambda: proc_state(pid) in ('Z', None) or
                        os.kill(pid, 9))
        return pid, sock, pidfile

    def quit_promptly(self, pid, sock):
        qmp_quit(sock)
        took = wait_exited(pid, 5)
        self.assertIsNotNone(took, 'daemon did not exit on quit')
        print('daemon exited %.3f s after quit' % took)
        self.assertLess(took, 0.5)

    def test_daemonize_as_qemu(self):
        with tempfile.TemporaryDirectory() as tmp:
            pid, sock, pidfile = self.start_daemon(tmp)
            st = proc_status(pid)
            self.assertEqual(st['Umask'], '0027')
            self.assertEqual(os.readlink('/proc/%d/cwd' % pid), '/')
            self.assertEqual(os.stat(sock).st_mode & 0o777, 0o750)
            self.assertEqual(os.stat(pidfile).st_mode & 0o777, 0o600)
            # on by default
            self.assertEqual(st['Seccomp'], '0' if asan_build() else '2')
            self.quit_promptly(pid, sock)

    def test_sandbox_off(self):
        with tempfile.TemporaryDirectory() as tmp:
            pid, sock, _ = self.start_daemon(tmp, '-sandbox', 'off')
            self.assertEqual(proc_status(pid)['Seccomp'], '0')
            self.quit_promptly(pid, sock)

    def test_guestfwd_command_without_sandbox(self):
        for sandbox in ('off', 'on,spawn=allow'):
            with self.subTest(sandbox=sandbox), \
                    tempfile.TemporaryDirectory() as tmp:
                pid, sock, _ = self.start_daemon(
                    tmp, '-sandbox', sandbox, '-netdev',
                    'user,id=n0,guestfwd=tcp:10.0.2.100:1234-cmd:cat')
                self.quit_promptly(pid, sock)

    def test_tap_script_runs_before_the_filter(self):
        """-netdev tap,script= runs when the back end is made, before the
        filter loads: the default sandbox lets it run."""
        if os.getuid() != 0 or not os.path.exists('/dev/net/tun'):
            print('SKIP: a tap needs root and /dev/net/tun')
            self.skipTest('no tap')
        with tempfile.TemporaryDirectory() as tmp:
            mark = os.path.join(tmp, 'ran')
            script = os.path.join(tmp, 'ifup')
            with open(script, 'w') as f:
                f.write('#!/bin/sh\necho "$1" > %s\n' % mark)
            os.chmod(script, 0o755)
            ifname = 'qlsbc%d' % (os.getpid() % 100000)
            pid, sock, _ = self.start_daemon(
                tmp, '-netdev', 'tap,id=t0,ifname=%s,script=%s,'
                'downscript=no' % (ifname, script))
            with open(mark) as f:
                self.assertEqual(f.read().strip(), ifname)
            self.assertEqual(proc_status(pid)['Seccomp'],
                             '0' if asan_build() else '2')
            self.quit_promptly(pid, sock)

    def test_runas_nobody(self):
        if os.getuid() != 0:
            print('SKIP: -runas needs root to change user')
            self.skipTest('not root')
        for who in ('nobody', '65534:65534'):
            with self.subTest(runas=who), \
                    tempfile.TemporaryDirectory() as tmp:
                pid, sock, _ = self.start_daemon(tmp, '-runas', who)
                st = proc_status(pid)
                nobody = '65534'
                self.assertEqual(st['Uid'].split(), [nobody] * 4)
                self.assertEqual(st['Gid'].split(), [nobody] * 4)
                self.assertEqual(st['Groups'], nobody)
                self.assertEqual(st['Seccomp'],
                                 '0' if asan_build() else '2')
                self.quit_promptly(pid, sock)

    def test_chroot(self):
        if os.getuid() != 0:
            print('SKIP: -chroot needs root')
            self.skipTest('not root')
        with tempfile.TemporaryDirectory() as tmp, \
                tempfile.TemporaryDirectory() as root:
            pid, sock, _ = self.start_daemon(tmp, '-chroot', root)
            self.assertEqual(os.readlink('/proc/%d/root' % pid),
                             os.path.realpath(root))
            self.assertEqual(os.readlink('/proc/%d/cwd' % pid),
                             os.path.realpath(root))
            self.quit_promptly(pid, sock)


if __name__ == '__main__':
    unittest.main(verbosity=2)
