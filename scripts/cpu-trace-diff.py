#!/usr/bin/env python3
"""Find where qlite's CPU first goes another way than QEMU's.

qlite side: QLITE_TRACE_CPU=q.log QLITE_TRACE_CPU_FLAGS=insn (one "I" line
per instruction, registers before it runs).
QEMU side:  qemu-system-x86_64 -accel tcg -singlestep -d nochain,cpu \
            -D qemu.log ... (a register dump before every instruction).

Both traces are reduced to (rip, registers, flags) records; repeated records
at the same rip (REP string slices, QEMU's per-iteration dumps) are
collapsed.  The QEMU trace is aligned on the first rip of the qlite trace
(QEMU runs the BIOS first), then both are walked side by side.  Registers
and flags that already differ at the alignment point (the two loaders
leave different values behind) are ignored until they agree again.

Usage: cpu-trace-diff.py QLITE_LOG QEMU_LOG [--flags-mask HEX] [--context N]
"""
import argparse
import re
import sys

REGS = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
QEMU_NAMES = {"RAX": "rax", "RBX": "rbx", "RCX": "rcx", "RDX": "rdx",
              "RSI": "rsi", "RDI": "rdi", "RBP": "rbp", "RSP": "rsp",
              "EAX": "rax", "EBX": "rbx", "ECX": "rcx", "EDX": "rdx",
              "ESI": "rsi", "EDI": "rdi", "EBP": "rbp", "ESP": "rsp",
              "R8": "r8", "R9": "r9", "R10": "r10", "R11": "r11",
              "R12": "r12", "R13": "r13", "R14": "r14", "R15": "r15"}
# Arithmetic flags the SDM leaves undefined after many instructions are
# compared only when --flags-mask says so; by default all of them count.
DEFAULT_FLAGS_MASK = 0x0cd5     # OF DF SF ZF AF PF CF (not IF/TF/IOPL)


class Rec:
    __slots__ = ("rip", "regs", "fl", "text", "line")

    def __init__(self, rip, regs, fl, text, line):
        self.rip, self.regs, self.fl = rip, regs, fl
        self.text, self.line = text, line


def read_qlite(path):
    field = re.compile(r"(\w+)=([0-9a-f]+)")
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.startswith("I "):
                continue
            head, _, text = line.partition(" | ")
            kv = dict(field.findall(head))
            regs = {r: int(kv[r], 16) for r in REGS}
            yield Rec(int(kv["rip"], 16), regs, int(kv["fl"], 16),
                      text.strip(), n)


def read_qemu(path):
    field = re.compile(r"([A-Z][A-Z0-9]*) ?=([0-9a-f]+)")
    regs, start = {}, 0
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            if line.startswith(("RAX=", "EAX=")):
                regs, start = {}, n
            for name, val in field.findall(line):
                if name in QEMU_NAMES:
                    regs[QEMU_NAMES[name]] = int(val, 16)
            m = re.match(r"[RE]IP=([0-9a-f]+) [RE]FL=([0-9a-f]+)", line)
            if m and regs:
                full = {r: regs.get(r, 0) for r in REGS}
                yield Rec(int(m.group(1), 16), full, int(m.group(2), 16),
                          "", start)
                regs = {}


def collapse(recs):
    last = None
    for r in recs:
        if last is not None and r.rip == last:
            continue
        last = r.rip
        yield r


def show(tag, r):
    regs = " ".join("%s=%x" % (k, r.regs[k]) for k in REGS)
    return "%s line %d rip=%x fl=%x %s %s" % (tag, r.line, r.rip, r.fl,
                                              regs, r.text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("qlite")
    ap.add_argument("qemu")
    ap.add_argument("--flags-mask", type=lambda s: int(s, 16),
                    default=DEFAULT_FLAGS_MASK)
    ap.add_argument("--context", type=int, default=8)
    args = ap.parse_args()

    ours = collapse(read_qlite(args.qlite))
    theirs = collapse(read_qemu(args.qemu))
    first = next(ours, None)
    if first is None:
        sys.exit("no instruction records in %s" % args.qlite)
    for t in theirs:
        if t.rip == first.rip:
            break
    else:
        sys.exit("QEMU never reaches rip %x" % first.rip)
    stale = {r for r in REGS if first.regs[r] != t.regs[r]}
    if (first.fl ^ t.fl) & args.flags_mask:
        stale.add("flags")
    if stale:
        print("ignored until written (loaders differ): %s" %
              " ".join(sorted(stale)))
    history = []
    count = 0
    o = first
    while o is not None and t is not None:
        for r in list(stale - {"flags"}):
            if o.regs[r] == t.regs[r]:
                stale.discard(r)
        flags_bad = (o.fl ^ t.fl) & args.flags_mask
        if "flags" in stale and not flags_bad:
            stale.discard("flags")
        flags_bad = flags_bad and "flags" not in stale
        bad = [r for r in REGS if r not in stale and o.regs[r] != t.regs[r]]
        if o.rip != t.rip or bad or flags_bad:
            for h in history[-args.context:]:
                print(show("  ok ", h))
            print("DIVERGENCE after %d matching instructions" % count)
            print(show("qlite", o))
            print(show("qemu ", t))
            if o.rip != t.rip:
                print("  rip differs")
            for r in bad:
                print("  %s: qlite %x qemu %x" % (r, o.regs[r], t.regs[r]))
            if flags_bad:
                print("  flags: qlite %x qemu %x" % (o.fl, t.fl))
            return 1
        history.append(o)
        if len(history) > 4 * args.context:
            del history[:-args.context]
        count += 1
        o, t = next(ours, None), next(theirs, None)
    print("no divergence in %d instructions" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
