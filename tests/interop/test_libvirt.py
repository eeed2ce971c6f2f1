#!/usr/bin/env python3
"""qlite under Debian's libvirt 9.0 (issue 14), as a user runs it.

libvirtd and virtlogd run in session mode (qemu:///session) as an
unprivileged user with a private HOME, started by virsh itself; nothing
under /etc or /var is touched.  virsh probes qlite, then defines, starts,
pauses, resumes, shuts down and destroys domains booting the test guest
(kernel + initramfs, a qcow2 virtio disk, a user-mode NIC); virt-install
creates one too.  Skips, with the reason, where libvirt is not installed.

The same checks run against the real QEMU with --qemu (not in the suite:
they prove this test right, not qlite).
"""
import glob
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import tty
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
GUEST_DIR = os.environ.get('QLITE_GUEST_DIR',
                           os.path.join(SRC, 'build', 'guest'))
EMULATOR = os.path.abspath(os.environ.get(
    'QLITE_BINARY', os.path.join(SRC, 'build', 'qlite-system-x86_64')))
URI = 'qemu:///session'
BOOT_TIMEOUT = 240


def missing_prerequisite():
    for tool in ('virsh', 'virt-install'):
        if not shutil.which(tool):
            return '%s is not installed (apt-get install libvirt-clients ' \
                   'virtinst)' % tool
    if not os.path.exists('/usr/sbin/libvirtd'):
        return 'libvirtd is not installed (apt-get install libvirt-daemon)'
    if not glob.glob('/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/'
                     'libvirt_driver_qemu.so'):
        return 'libvirt\'s QEMU driver is not installed ' \
               '(libvirt-daemon-driver-qemu)'
    for f in ('vmlinuz', 'initramfs.gz'):
        if not os.path.exists(os.path.join(GUEST_DIR, f)):
            return 'the test guest is missing (%s): make guest' % f
    return None


class Session:
    """A private libvirt session: HOME, runtime dir, PATH, user."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.dir = tempfile.mkdtemp(prefix='qlite-libvirt-')
        os.chmod(self.dir, 0o755)
        self.user = None
        if os.geteuid() == 0:
            # libvirt's session mode is for unprivileged users; as root,
            # qemu:///session would be the system daemon.
            self.user = pwd.getpwnam('nobody')
        self.taps = []
        self.tun_node = None
        if self.user and not tap_unavailable() and \
                os.stat('/dev/net/tun').st_mode & 0o006 != 0o006:
            # Debian's udev makes /dev/net/tun 0666; where it is 0600 (no
            # udev), the session user gets a 0666 node of its own.
            self.tun_node = os.path.join(self.dir, 'tun')
            os.mknod(self.tun_node, 0o666 | stat.S_IFCHR, os.makedev(10, 200))
            os.chmod(self.tun_node, 0o666)
        self.run_dir = os.path.join(self.dir, 'run')
        self.bin_dir = os.path.join(self.dir, 'bin')
        self.img_dir = os.path.join(self.dir, 'img')
        for d in (self.run_dir, self.bin_dir, self.img_dir,
                  os.path.join(self.dir, '.config', 'libvirt')):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        # "virsh capabilities" probes the qemu-system-* in libvirtd's PATH.
        os.symlink(emulator, os.path.join(self.bin_dir,
                                          'qemu-system-x86_64'))
        with open(os.path.join(self.dir, '.config', 'libvirt',
                               'libvirtd.conf'), 'w') as f:
            f.write('log_filters = "1:qemu.qemu_monitor 3:util.command"\n'
                    'log_outputs = "1:file:%s"\n' % self.daemon_log)
        for f in ('vmlinuz', 'initramfs.gz'):
            shutil.copy(os.path.join(GUEST_DIR, f), self.img_dir)
        if self.user:
            for root, dirs, files in os.walk(self.dir):
                for name in dirs + files + ['.']:
                    os.lchown(os.path.join(root, name), self.user.pw_uid,
                              self.user.pw_gid)

    @property
    def daemon_log(self):
        return os.path.join(self.dir, 'libvirtd.log')

    def env(self):
        return {'PATH': self.bin_dir + ':/usr/bin:/bin:/usr/sbin:/sbin',
                'HOME': self.dir, 'XDG_RUNTIME_DIR': self.run_dir,
                'LC_ALL': 'C'}

    def cmd(self, argv, timeout=120, check=True):
        if self.user:
            argv = ['setpriv', '--reuid=%d' % self.user.pw_uid,
                    '--regid=%d' % self.user.pw_gid, '--clear-groups'] + argv
        if self.tun_node:
            # The daemon virsh starts (and the emulators it runs) see this
            # mount namespace's /dev/net/tun.
            argv = ['unshare', '-m', '--', 'sh', '-c',
                    'mount --bind "$0" /dev/net/tun && exec "$@"',
                    self.tun_node] + argv
        p = subprocess.run(argv, cwd=self.dir, env=self.env(),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError('%s failed (%d):\n%s%s\n%s' % (
                ' '.join(argv), p.returncode, p.stdout, p.stderr,
                self.diagnostics()))
        return p

    def virsh(self, *args, timeout=120, check=True):
        return self.cmd(['virsh', '-c', URI] + list(args), timeout=timeout,
                        check=check)

    def make_tap(self):
        """A persistent tap the session user may open, up."""
        name = 'qlt%d-%d' % (os.getpid() % 100000, len(self.taps))
        subprocess.run(['ip', 'tuntap', 'add', 'dev', name, 'mode', 'tap',
                        'user', str(self.user.pw_uid)], check=True)
        self.taps.append(name)
        subprocess.run(['ip', 'link', 'set', name, 'up'], check=True)
        return name

    def create_disk(self, name, size='64M'):
        path = os.path.join(self.img_dir, name)
        self.cmd(['qemu-img', 'create', '-q', '-f', 'qcow2', path, size])
        return path

    def domain_log(self, name):
        path = os.path.join(self.dir, '.cache', 'libvirt', 'qemu', 'log',
                            name + '.log')
        try:
            with open(path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def diagnostics(self):
        out = []
        for path in glob.glob(os.path.join(self.dir, '.cache', 'libvirt',
                                           'qemu', 'log', '*.log')):
            with open(path, errors='replace') as f:
                out.append('--- %s (tail)\n%s' % (path, f.read()[-3000:]))
        try:
            with open(self.daemon_log, errors='replace') as f:
                out.append('--- libvirtd log (tail)\n' + f.read()[-4000:])
        except OSError:
            pass
        return '\n'.join(out)

    def processes(self):
        """The daemons and emulators of this session (by their HOME)."""
        pids = []
        key = ('HOME=%s' % self.dir).encode()
        for env in glob.glob('/proc/[0-9]*/environ'):
            try:
                with open(env, 'rb') as f:
                    if key in f.read().split(b'\0'):
                        pids.append(int(env.split('/')[2]))
            except OSError:
                pass
        return pids

    def close(self):
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + 30
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        for tap in self.taps:
            subprocess.run(['ip', 'link', 'del', tap],
                           stderr=subprocess.DEVNULL)
        if not os.environ.get('QLITE_KEEP_LIBVIRT'):
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for ' + what)
        time.sleep(0.2)


DOMAIN = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>{smp}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{img}/vmlinuz</kernel>
    <initrd>{img}/initramfs.gz</initrd>
    <cmdline>console=ttyS0 qlite.scenario=ticker</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <emulator>{emulator}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='user'>
      <model type='{nic}'/>
    </interface>
{tap_nic}{serial}    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


TAP_NIC = """    <interface type='ethernet'>
      <target dev='{tap}' managed='no'/>
      <model type='{nic}'/>
    </interface>
"""


def tap_unavailable():
    if os.geteuid() != 0:
        return 'not root: no tap can be made for the session user'
    if not os.path.exists('/dev/net/tun'):
        return 'no /dev/net/tun'
    if not shutil.which('ip'):
        return 'no ip(8) (iproute2)'
    return None


def send_frame(ifname):
    """One broadcast Ethernet frame into @ifname (root)."""
    import socket
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((ifname, 0))
        sock.send(b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x01' +
                  b'\x88\xb5' + b'qlite-libvirt-test'.ljust(46, b'.'))


SERIAL_FILE = """    <serial type='file'>
      <source path='{path}'/>
      <target port='0'/>
    </serial>
"""
SERIAL_PTY = """    <serial type='pty'>
      <target port='0'/>
    </serial>
"""


class PtyReader(threading.Thread):
    """Everything the guest writes to a pty console, kept."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.data = b''
        self.start()

    def run(self):
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.data += chunk

    def close(self):
        os.close(self.fd)


class Domain:
    def __init__(self, session, name, smp=1, nic='virtio', serial='file'):
        self.s = session
        self.name = name
        self.serial = os.path.join(session.dir, name + '-serial.log')
        self.pty = serial == 'pty'
        self.reader = None
        self.tap = None
        tap_nic = ''
        reason = tap_unavailable()
        if reason:
            print('%s: no tap NIC, domifstat not checked: %s' % (name,
                                                                 reason))
        else:
            self.tap = session.make_tap()
            tap_nic = TAP_NIC.format(tap=self.tap, nic=nic)
        xml = DOMAIN.format(name=name, smp=smp, img=session.img_dir,
                            emulator=session.emulator, nic=nic,
                            tap_nic=tap_nic,
                            serial=SERIAL_PTY if self.pty else
                            SERIAL_FILE.format(path=self.serial),
                            disk=session.create_disk(name + '.qcow2'))
        self.xml = os.path.join(session.dir, name + '.xml')
        with open(self.xml, 'w') as f:
            f.write(xml)
        os.chmod(self.xml, 0o644)

    def started(self):
        """After virsh start: follow a pty console from its start."""
        if self.pty:
            if self.reader:
                self.reader.close()
            path = self.s.virsh('ttyconsole', self.name).stdout.strip()
            self.reader = PtyReader(path)

    def console(self):
        if self.pty:
            return self.reader.data.decode(errors='replace') \
                if self.reader else ''
        try:
            with open(self.serial, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def state(self):
        return self.s.virsh('domstate', self.name).stdout.strip()

    def wait_state(self, state, timeout=120):
        wait_for('%s to be %s' % (self.name, state),
                 lambda: self.state() == state, timeout)

    def ticks(self):
        return [(int(n), float(t)) for n, t in
                re.findall(r'QLITE-TICK (\d+) ([\d.]+)', self.console())]

    def wait_tick(self, after, timeout=BOOT_TIMEOUT):
        def newer():
            t = self.ticks()
            return t[-1] if t and t[-1][0] > after else None
        try:
            return wait_for('a guest tick after %d' % after, newer, timeout)
        except AssertionError:
            raise AssertionError('no tick after %d; console:\n%s\n%s' % (
                after, self.console()[-3000:], self.s.diagnostics()))

    def ifstat(self):
        out = self.s.virsh('domifstat', self.name, self.tap).stdout
        return dict(re.findall(r'\S+ (\S+) (\d+)', out))

    def monitor(self, command):
        return self.s.virsh('qemu-monitor-command', self.name, '--pretty',
                            '{"execute": "%s"}' % command).stdout


class LibvirtTest(unittest.TestCase):
    session = None

    @classmethod
    def setUpClass(cls):
        reason = missing_prerequisite()
        if reason:
            raise unittest.SkipTest(reason)
        cls.session = Session(EMULATOR)

    @classmethod
    def tearDownClass(cls):
        if cls.session:
            cls.session.close()

    def test_domcapabilities(self):
        out = self.session.virsh('domcapabilities', '--emulatorbin',
                                 self.session.emulator, '--virttype',
                                 'qemu').stdout
        self.assertIn('<machine>pc-i440fx-', out)
        self.assertIn('<arch>x86_64</arch>', out)

    def test_capabilities(self):
        # The probe's failure does not fail the command: look for ours.
        out = self.session.virsh('capabilities').stdout
        ours = os.path.join(self.session.bin_dir, 'qemu-system-x86_64')
        self.assertIn('<emulator>%s</emulator>' % ours, out,
                      'x86_64 probe of %s failed:\n%s' % (
                          ours, self.session.diagnostics()))
        guest = out[out.index('<emulator>%s</emulator>' % ours):]
        self.assertRegex(guest, r"<machine[^>]*>pc-i440fx-7\.2</machine>")
        self.assertRegex(guest, r"<machine[^>]*canonical='pc-i440fx-7\.2'"
                                r"[^>]*>pc</machine>")

    def lifecycle(self, name, smp, nic, serial):
        s = self.session
        d = Domain(s, name, smp, nic, serial)
        self.addCleanup(lambda: d.reader and d.reader.close())
        s.virsh('define', d.xml)
        s.virsh('start', name)
        d.started()
        self.assertEqual(d.state(), 'running')
        n, _ = d.wait_tick(0)
        self.assertIn('"status": "running"', d.monitor('query-status'))

        # Paused: no tick comes; resumed: the count goes on from where it
        # stopped (the same boot, its clock not reset).
        s.virsh('suspend', name)
        self.assertEqual(d.state(), 'paused')
        self.assertIn('"status": "paused"', d.monitor('query-status'))
        before = d.ticks()[-1]
        time.sleep(2)       # a pause must show as silence; there is no event
        self.assertEqual(d.ticks()[-1], before)
        s.virsh('resume', name)
        self.assertEqual(d.state(), 'running')
        after = d.wait_tick(before[0], timeout=60)
        self.assertEqual(after[0], before[0] + 1)
        self.assertGreater(after[1], before[1])
        self.assertIn('QLITE-GUEST-READY', d.console())
        self.assertEqual(d.console().count('QLITE-GUEST-READY'), 1)

        cpus = s.virsh('vcpucount', name, '--live').stdout
        self.assertEqual(cpus.split(), [str(smp)])

        # The guest's virtio disk is read when Linux scans its partitions.
        blk = dict(re.findall(r'(\S+) (\d+)',
                              s.virsh('domblkstat', name, 'vda').stdout))
        self.assertGreater(int(blk['rd_req']), 0, blk)
        self.assertGreater(int(blk['rd_bytes']), 0, blk)

        # domifstat counts on the host's tap (libvirt 9.0 has no counters
        # for a user-mode NIC, with QEMU either: "Interface name not
        # provided").  A frame the host sends into the tap is one the
        # guest's NIC received.
        if d.tap:
            before = int(d.ifstat()['rx_packets'])
            send_frame(d.tap)
            wait_for('domifstat to count the frame',
                     lambda: int(d.ifstat()['rx_packets']) > before, 30)

        # The IDE CD-ROM starts empty; a medium goes in and comes out
        # (blockdev-add, blockdev-open-tray, blockdev-insert-medium ...).
        iso = os.path.join(s.img_dir, name + '.iso')
        with open(iso, 'wb') as f:
            f.write(b'CD001'.ljust(2048 * 32, b'\0'))
        os.chmod(iso, 0o644)
        s.virsh('change-media', name, 'hdc', iso, '--insert', '--live')
        self.assertIn(iso, s.virsh('domblklist', name).stdout)
        wait_for('the medium in the tray', lambda: iso in d.monitor(
            'query-block'), 30)
        s.virsh('change-media', name, 'hdc', '--eject', '--live')
        wait_for('the tray empty', lambda: iso not in d.monitor(
            'query-block'), 30)

        # ACPI shutdown: the guest's acpid powers it off.
        s.virsh('shutdown', name)
        d.wait_state('shut off', timeout=120)
        self.assertIn('QLITE-GUEST-POWERDOWN', d.console())

        # Again, then destroy (SIGTERM from libvirt) and undefine.
        if not d.pty:
            os.truncate(d.serial, 0)
        s.virsh('start', name)
        d.started()
        d.wait_tick(0)
        s.virsh('destroy', name)
        self.assertEqual(d.state(), 'shut off')
        s.virsh('undefine', name)
        self.assertNotIn(name, s.virsh('list', '--all', '--name').stdout)

    def test_lifecycle_smp1_virtio(self):
        self.lifecycle('qlite-smp1', 1, 'virtio', 'file')

    def test_lifecycle_smp2_e1000(self):
        self.lifecycle('qlite-smp2', 2, 'e1000', 'pty')

    def test_virt_install(self):
        s = self.session
        disk = s.create_disk('vi.qcow2')
        s.cmd(['virt-install', '--connect', URI, '--name', 'qlite-vi',
               '--import', '--memory', '256', '--vcpus', '1',
               '--virt-type', 'qemu', '--arch', 'x86_64',
               '--machine', 'pc',
               '--boot', 'kernel=%s/vmlinuz,initrd=%s/initramfs.gz,'
                         'kernel_args=console=ttyS0 qlite.scenario=ticker'
                         % (s.img_dir, s.img_dir),
               '--disk', 'path=%s,format=qcow2,bus=virtio' % disk,
               '--network', 'user',
               '--osinfo', 'detect=on,require=off',
               '--graphics', 'none', '--noautoconsole',
               '--serial', 'file,path=%s/vi-serial.log' % s.dir,
               '--memballoon', 'none', '--controller', 'usb,model=none',
               '--xml', './devices/emulator=%s' % s.emulator],
              timeout=300)
        self.assertEqual(s.virsh('domstate', 'qlite-vi').stdout.strip(),
                         'running')
        serial = os.path.join(s.dir, 'vi-serial.log')
        def booted():
            try:
                with open(serial, errors='replace') as f:
                    return 'QLITE-TICK' in f.read()
            except OSError:
                return False
        wait_for('the virt-install guest to boot', booted, BOOT_TIMEOUT)
        s.virsh('destroy', 'qlite-vi')
        s.virsh('undefine', 'qlite-vi')


if __name__ == '__main__':
    if '--qemu' in sys.argv:
        sys.argv.remove('--qemu')
        EMULATOR = os.path.realpath(shutil.which('qemu-system-x86_64'))
    unittest.main(verbosity=2, buffer=False)
