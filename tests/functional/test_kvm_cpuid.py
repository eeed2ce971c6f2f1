#!/usr/bin/env python3
"""Under KVM the in-kernel local APIC is the guest's: the CPUID qlite
gives the vCPU must say what it can do (issue 13).  A tiny kernel (see
test_kvm.py) prints CPUID.1:ECX's x2APIC ('x') and TSC-deadline ('d')
bits, then switches the APIC to x2APIC mode through IA32_APIC_BASE and
reads the version register as MSR 0x803 ('X' when it reads 0x14).

x2APIC must be offered and work; TSC-deadline must be offered exactly
when KVM_CHECK_EXTENSION(KVM_CAP_TSC_DEADLINE_TIMER) says the in-kernel
APIC has it.  Skips, saying why, where /dev/kvm is missing or unusable.
"""
import fcntl
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_kvm import (DEBUG_EXIT, KVMTestCase, Run,  # noqa: E402
                      out_str)

KVM_CHECK_EXTENSION = 0xae03
KVM_CAP_TSC_DEADLINE_TIMER = 72

# Runs unchanged in 32-bit and 64-bit mode; DX = 0x3f8 on entry.
APIC_PROBE = (
    b'\xb8\x01\x00\x00\x00'     # mov eax, 1
    b'\x0f\xa2'                 # cpuid
    b'\x89\xcb'                 # mov ebx, ecx
    b'\x66\xba\xf8\x03'         # mov dx, 0x3f8
    b'\xb0\x2d'                 # mov al, '-'
    b'\x0f\xba\xe3\x15'         # bt ebx, 21 (x2APIC)
    b'\x73\x02\xb0\x78'         # jnc +2; mov al, 'x'
    b'\xee'                     # out dx, al
    b'\xb0\x2d'                 # mov al, '-'
    b'\x0f\xba\xe3\x18'         # bt ebx, 24 (TSC-deadline)
    b'\x73\x02\xb0\x64'         # jnc +2; mov al, 'd'
    b'\xee'                     # out dx, al
    b'\x0f\xba\xe3\x15'         # bt ebx, 21
    b'\x73\x22'                 # jnc end
    b'\xb9\x1b\x00\x00\x00'     # mov ecx, IA32_APIC_BASE
    b'\x0f\x32'                 # rdmsr
    b'\x0d\x00\x0c\x00\x00'     # or eax, EN | EXTD
    b'\x0f\x30'                 # wrmsr
    b'\xb9\x03\x08\x00\x00'     # mov ecx, 0x803 (version)
    b'\x0f\x32'                 # rdmsr
    b'\x3c\x14'                 # cmp al, 0x14
    b'\xb0\x56'                 # mov al, 'V'
    b'\x75\x02\xb0\x58'         # jne +2; mov al, 'X'
    b'\x66\xba\xf8\x03'         # mov dx, 0x3f8
    b'\xee'                     # out dx, al
    # end:
) + out_str('|\n') + DEBUG_EXIT


def kvm_has_tsc_deadline():
    fd = os.open(os.environ.get('QLITE_KVM_DEVICE') or '/dev/kvm',
                 os.O_RDWR)
    try:
        return fcntl.ioctl(fd, KVM_CHECK_EXTENSION,
                           KVM_CAP_TSC_DEADLINE_TIMER) > 0
    finally:
        os.close(fd)


class KvmCpuidApic(KVMTestCase):

    def test_x2apic_and_tsc_deadline(self):
        r = Run(['-device', 'isa-debug-exit', '-kernel',
                 self.kernel(APIC_PROBE), '-initrd', self.initrd(),
                 '-append', 'apic'])
        self.assertEqual(r.status, 33, r.err + r.out)
        want = 'x%sX|' % ('d' if kvm_has_tsc_deadline() else '-')
        self.assertIn('initrd=[initrd-bytes]\n' + want, r.out)


if __name__ == '__main__':
    unittest.main()
