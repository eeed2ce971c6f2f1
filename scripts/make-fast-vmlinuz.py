#!/usr/bin/env python3
"""Turn a bzImage into one that skips its decompressor (a debugging aid).

Debian's bzImage carries an XZ-compressed vmlinux: decompressing it costs
several billion guest instructions, minutes on an interpreter, before the
kernel proper runs its first instruction.  To iterate quickly on what comes
after, this writes a bzImage with the same setup header whose protected-mode
payload is the *uncompressed* vmlinux laid out by physical address, with a
two-instruction stub at the 64-bit entry (payload + 0x200) that jumps to the
vmlinux entry point (startup_64 at 16 MiB).  Firecracker boots vmlinux this
way; the 64-bit boot protocol gives startup_64 what it needs (identity
mapping, RSI = boot_params).  Boot it with "nokaslr": nothing relocates it.

Usage: make-fast-vmlinuz.py VMLINUZ OUT
"""
import lzma
import struct
import sys

LOAD_ADDR = 0x100000        # where the boot loader puts the payload
ENTRY64 = 0x200             # 64-bit entry offset in the payload
XZ_MAGIC = b"\xfd7zXZ\x00"


def u32(buf, off):
    return struct.unpack_from("<I", buf, off)[0]


def extract_vmlinux(img):
    setup = (img[0x1f1] or 4) + 1
    off = setup * 512 + u32(img, 0x248)
    payload = img[off:off + u32(img, 0x24c)]
    if not payload.startswith(XZ_MAGIC):
        sys.exit("payload is not XZ (magic %s)" % payload[:6].hex())
    return setup * 512, lzma.LZMADecompressor(format=lzma.FORMAT_XZ) \
        .decompress(payload)


def layout(elf):
    """The PT_LOAD segments as one image from LOAD_ADDR; the entry."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        sys.exit("vmlinux is not a 64-bit ELF")
    entry = struct.unpack_from("<Q", elf, 0x18)[0]
    phoff = struct.unpack_from("<Q", elf, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    segs = []
    for i in range(phnum):
        p = phoff + i * phentsize
        ptype, _flags, off, _vaddr, paddr, filesz, memsz = \
            struct.unpack_from("<IIQQQQQ", elf, p)
        if ptype == 1:
            segs.append((paddr, elf[off:off + filesz], memsz))
    end = max(paddr + memsz for paddr, _, memsz in segs)
    image = bytearray(end - LOAD_ADDR)
    for paddr, data, _ in segs:
        image[paddr - LOAD_ADDR:paddr - LOAD_ADDR + len(data)] = data
    return image, entry


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    img = bytearray(open(sys.argv[1], "rb").read())
    setup_len, elf = extract_vmlinux(img)
    image, entry = layout(elf)
    phys_entry = entry & 0x7fffffff if entry >> 32 else entry
    # mov $phys_entry, %eax; jmp *%rax
    stub = b"\xb8" + struct.pack("<I", phys_entry) + b"\xff\xe0"
    if image[ENTRY64:ENTRY64 + len(stub)].strip(b"\0"):
        sys.exit("the stub would overwrite vmlinux")
    image[ENTRY64:ENTRY64 + len(stub)] = stub
    image += bytes(-len(image) % 16)
    hdr = img[:setup_len]
    struct.pack_into("<I", hdr, 0x1f4, len(image) // 16)   # syssize
    struct.pack_into("<I", hdr, 0x248, 0)                  # payload_offset
    struct.pack_into("<I", hdr, 0x24c, 0)                  # payload_length
    init_size = max(u32(img, 0x260), len(image) - (0x1000000 - LOAD_ADDR))
    struct.pack_into("<I", hdr, 0x260, init_size)
    with open(sys.argv[2], "wb") as f:
        f.write(hdr + image)
    print("%s: vmlinux entry %x, payload %d MiB" %
          (sys.argv[2], phys_entry, len(image) >> 20))


if __name__ == "__main__":
    main()
