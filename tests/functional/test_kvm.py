#!/usr/bin/env python3
"""The KVM accelerator and the Linux boot protocol, with tiny kernels.

Each test kernel is a bzImage-shaped file made here: a setup header
("HdrS", protocol 2.15) and a few bytes of code that run unchanged in
32-bit and 64-bit mode.  The code prints a marker, the command line
(boot_params.cmd_line_ptr) and the initrd (ramdisk_image) on COM1, then
ends through isa-debug-exit or a triple fault.  So one run checks the
loader (header, zero page, command line, initrd, entry state), the vCPU
loop (port I/O exits to device models), and reset/shutdown handling.

The tests need /dev/kvm (QLITE_KVM_DEVICE overrides the path) and skip,
saying why, where it is missing or unusable.  QLITE_ACCEL=tcg runs the
same tests on the CPU emulator.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

SRC_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ACCEL = os.environ.get('QLITE_ACCEL', 'kvm')
TIMEOUT = 20


def binary():
    return os.environ.get('QLITE_BINARY') or os.path.join(
        SRC_ROOT, 'build', 'qlite-system-x86_64')


def kvm_unusable():
    """Why KVM cannot run here, or None."""
    if ACCEL != 'kvm':
        return None
    path = os.environ.get('QLITE_KVM_DEVICE') or '/dev/kvm'
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as e:
        return '%s: %s' % (path, e.strerror)
    os.close(fd)
    return None


# ---- the test kernel ------------------------------------------------------

def out_str(text):
    """mov al, c; out dx, al -- for each byte (DX = 0x3f8 already)."""
    return b''.join(b'\xb0' + bytes([c]) + b'\xee' for c in text.encode())


def print_ptr(offset):
    """mov ebx, [esi+offset]; print the NUL-terminated string there."""
    return (b'\x8b\x9e' + struct.pack('<I', offset) +
            b'\x8a\x03'         # L: mov al, [ebx]
            b'\x84\xc0'         #    test al, al
            b'\x74\x05'         #    jz done
            b'\xee'             #    out dx, al
            b'\xff\xc3'         #    inc ebx
            b'\xeb\xf5')        #    jmp L


DEBUG_EXIT = (b'\x66\xba\x01\x05'   # mov dx, 0x501 (isa-debug-exit)
              b'\xb0\x10\xee'       # out 0x10: exit status 33
              b'\xf4\xeb\xfd')      # hlt; jmp hlt
TRIPLE_FAULT = (b'\xbc\x00\x80\x00\x00'     # mov esp, 0x8000
                b'\x6a\x00\x6a\x00'         # push 0; push 0
                b'\x0f\x01\x1c\x24'         # lidt [esp]: limit 0
                b'\x0f\x0b')               # ud2: #UD, #GP, #DF, shutdown
SPIN = b'\xeb\xfe'                          # jmp $


def guest_code(ending):
    return (b'\x66\xba\xf8\x03' +           # mov dx, 0x3f8
            out_str('QLITE-BOOT-OK cmdline=[') + print_ptr(0x228) +
            out_str('] initrd=[') + print_ptr(0x218) + out_str(']\n') +
            ending)


def make_kernel(path, ending, kernel_64=True, version=0x020f):
    """A bzImage: 2 setup sectors, then the code at 0 and at 0x200
    (the 32-bit and 64-bit entry points)."""
    setup = bytearray(1024)
    setup[0x1f1] = 1                                # setup_sects
    struct.pack_into('<H', setup, 0x1fe, 0xaa55)
    setup[0x200:0x202] = b'\xeb\x66'                # header ends at 0x268
    setup[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', setup, 0x206, version)
    setup[0x211] = 0x01                             # LOADED_HIGH
    struct.pack_into('<I', setup, 0x214, 0x100000)  # code32_start
    struct.pack_into('<I', setup, 0x22c, 0x37ffffff)    # initrd_addr_max
    struct.pack_into('<I', setup, 0x230, 0x200000)  # kernel_alignment
    setup[0x234] = 1                                # relocatable
    struct.pack_into('<H', setup, 0x236, 1 if kernel_64 else 0)
    struct.pack_into('<I', setup, 0x238, 255)       # cmdline_size
    struct.pack_into('<I', setup, 0x260, 0x100000)  # init_size
    code = guest_code(ending)
    pm = bytearray(8192)
    pm[0:len(code)] = code
    pm[0x200:0x200 + len(code)] = code
    with open(path, 'wb') as f:
        f.write(bytes(setup) + bytes(pm))


# ---- running the emulator --------------------------------------------------

class Run:
    def __init__(self, args, timeout=TIMEOUT):
        self.proc = subprocess.run(
            [binary(), '-accel', ACCEL, '-m', '128M', '-display', 'none',
             '-serial', 'stdio', '-monitor', 'none'] + args,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, timeout=timeout)
        self.out = self.proc.stdout.decode(errors='replace')
        self.err = self.proc.stderr.decode(errors='replace')
        self.status = self.proc.returncode


class KVMTestCase(unittest.TestCase):
    def setUp(self):
        why = kvm_unusable()
        if why:
            print('SKIP: KVM is not usable here (%s)' % why)
            self.skipTest('KVM is not usable here (%s)' % why)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def kernel(self, ending, **kw):
        path = self.path('bzImage')
        make_kernel(path, ending, **kw)
        return path

    def initrd(self, data=b'initrd-bytes\0'):
        path = self.path('initrd')
        with open(path, 'wb') as f:
            f.write(data)
        return path


class BootTest(KVMTestCase):
    def test_64bit_entry_debug_exit(self):
        r = Run(['-device', 'isa-debug-exit',
                 '-kernel', self.kernel(DEBUG_EXIT),
                 '-initrd', self.initrd(), '-append', 'hello world'])
        self.assertEqual(r.status, 33, r.err)
        self.assertIn('QLITE-BOOT-OK cmdline=[hello world] '
                      'initrd=[initrd-bytes]', r.out)

    def test_32bit_entry(self):
        kernel = self.kernel(DEBUG_EXIT, kernel_64=False, version=0x0206)
        r = Run(['-device', 'isa-debug-exit', '-kernel', kernel,
                 '-initrd', self.initrd(), '-append', 'flat32'])
        self.assertEqual(r.status, 33, r.err)
        self.assertIn('cmdline=[flat32] initrd=[initrd-bytes]', r.out)

    def test_no_append_gives_empty_cmdline(self):
        r = Run(['-device', 'isa-debug-exit', '-kernel',
                 self.kernel(DEBUG_EXIT), '-initrd', self.initrd()])
        self.assertEqual(r.status, 33, r.err)
        self.assertIn('cmdline=[] initrd=[initrd-bytes]', r.out)

    def test_triple_fault_with_no_reboot_exits(self):
        r = Run(['-no-reboot', '-kernel', self.kernel(TRIPLE_FAULT),
                 '-initrd', self.initrd(), '-append', 'tf'])
        self.assertEqual(r.status, 0, r.err)
        self.assertEqual(r.out.count('QLITE-BOOT-OK'), 1, r.out)

    def test_triple_fault_resets_and_reboots(self):
        # Without -no-reboot each triple fault resets the machine and the
        # boot CPU re-enters the kernel: the marker repeats.
        proc = subprocess.Popen(
            [binary(), '-accel', ACCEL, '-m', '128M', '-display', 'none',
             '-serial', 'stdio', '-monitor', 'none',
             '-kernel', self.kernel(TRIPLE_FAULT), '-initrd', self.initrd(),
             '-append', 'again'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL)
        out = b''
        deadline = time.monotonic() + TIMEOUT
        os.set_blocking(proc.stdout.fileno(), False)
        while out.count(b'QLITE-BOOT-OK') < 3 and time.monotonic() < deadline:
            chunk = proc.stdout.read()
            if chunk:
                out += chunk
            elif proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        proc.kill()
        proc.wait()
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        self.assertGreaterEqual(out.count(b'QLITE-BOOT-OK cmdline=[again]'),
                                3, out + err)


class LoaderErrorTest(KVMTestCase):
    def test_missing_kernel(self):
        r = Run(['-kernel', self.path('nope')])
        self.assertEqual(r.status, 1)
        self.assertIn("could not load kernel '%s': No such file or "
                      "directory" % self.path('nope'), r.err)

    def test_not_a_bzimage(self):
        path = self.path('junk')
        with open(path, 'wb') as f:
            f.write(b'\x7fELF' + bytes(8192))
        r = Run(['-kernel', path])
        self.assertEqual(r.status, 1)
        self.assertIn('is not a Linux bzImage', r.err)

    def test_old_protocol(self):
        r = Run(['-kernel', self.kernel(SPIN, kernel_64=False,
                                        version=0x0205)])
        self.assertEqual(r.status, 1)
        self.assertIn('boot protocol 2.05; 2.06 or later is needed', r.err)

    def test_cmdline_too_long(self):
        r = Run(['-kernel', self.kernel(SPIN), '-append', 'x' * 256])
        self.assertEqual(r.status, 1)
        self.assertIn('kernel command line is too long (256 bytes; this '
                      'kernel takes at most 255)', r.err)

    def test_missing_initrd(self):
        r = Run(['-kernel', self.kernel(SPIN), '-initrd', self.path('no')])
        self.assertEqual(r.status, 1)
        self.assertIn("could not load initrd '%s'" % self.path('no'), r.err)


class NoKVMTest(unittest.TestCase):
    """Needs no KVM: a missing device is a clear error."""

    def test_missing_device_is_reported(self):
        env = dict(os.environ, QLITE_KVM_DEVICE='/nonexistent/kvm')
        p = subprocess.run([binary(), '-accel', 'kvm', '-display', 'none'],
                           env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b'Could not access KVM kernel module /nonexistent/kvm:'
                      b' No such file or directory', p.stderr)


class QMP:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(TIMEOUT)
        self.f = self.sock.makefile('rb')
        self.recv()                             # greeting
        self.cmd('qmp_capabilities')

    def recv(self):
        return json.loads(self.f.readline())

    def close(self):
        self.f.close()
        self.sock.close()

    def cmd(self, name, **args):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.sock.sendall(json.dumps(msg).encode() + b'\n')
        while True:
            r = self.recv()
            if 'event' not in r:
                return r


class PauseTest(KVMTestCase):
    def test_stop_and_cont_spinning_guest(self):
        sock = self.path('qmp.sock')
        proc = subprocess.Popen(
            [binary(), '-accel', ACCEL, '-m', '128M', '-display', 'none',
             '-serial', 'null', '-monitor', 'none',
             '-qmp', 'unix:%s,server=on,wait=off' % sock,
             '-kernel', self.kernel(SPIN)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        qmp = QMP(sock)
        self.assertEqual(qmp.cmd('query-status')['return']['status'],
                         'running')
        for _ in range(3):
            start = time.monotonic()
            self.assertIn('return', qmp.cmd('stop'))
            # The spinning vCPU was kicked out of KVM_RUN promptly.
            self.assertLess(time.monotonic() - start, 1.0)
            self.assertEqual(qmp.cmd('query-status')['return']['status'],
                             'paused')
            self.assertIn('return', qmp.cmd('cont'))
            self.assertEqual(qmp.cmd('query-status')['return']['status'],
                             'running')
        regs = qmp.cmd('human-monitor-command',
                       **{'command-line': 'info registers'})
        self.assertIn('RIP=', regs.get('return', ''), regs)
        qmp.cmd('quit')
        qmp.close()
        self.assertEqual(proc.wait(timeout=TIMEOUT), 0)

    def test_start_paused_then_cont(self):
        """-S holds the guest until QMP cont; then it runs to its end."""
        sock = self.path('qmp.sock')
        out = self.path('serial.txt')
        proc = subprocess.Popen(
            [binary(), '-accel', ACCEL, '-m', '128M', '-display', 'none',
             '-serial', 'file:' + out, '-monitor', 'none', '-S',
             '-device', 'isa-debug-exit',
             '-qmp', 'unix:%s,server=on,wait=off' % sock,
             '-kernel', self.kernel(DEBUG_EXIT)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        qmp = QMP(sock)
        self.assertEqual(qmp.cmd('query-status')['return']['status'],
                         'prelaunch')
        time.sleep(0.5)
        with open(out) as f:
            self.assertEqual(f.read(), '')          # nothing ran yet
        self.assertIn('return', qmp.cmd('cont'))
        self.assertEqual(proc.wait(timeout=TIMEOUT), 33)
        with open(out) as f:
            self.assertIn('QLITE-BOOT-OK', f.read())
        qmp.close()


if __name__ == '__main__':
    unittest.main(verbosity=2)
