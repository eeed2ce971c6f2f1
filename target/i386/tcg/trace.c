/*
 * The CPU trace (see trace.h).  One line per event, "key=value"
 * fields, so that a script can line it up with another emulator's log.
 */

#include "trace.h"

#define TRACE_INSN  (1u << 0)
#define TRACE_EXC   (1u << 1)
#define TRACE_INT   (1u << 2)
#define TRACE_IO    (1u << 3)

bool tcg_trace_on;

static FILE *trace_file;
static unsigned trace_flags;
static uint64_t trace_seen;     /* instructions seen, logged or not */
static uint64_t trace_skip;
static uint64_t trace_count = UINT64_MAX;

static const char *const trace_reg_names[16] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static uint64_t trace_env_u64(const char *name, uint64_t dflt)
{
    const char *s = g_getenv(name);

    return s ? g_ascii_strtoull(s, NULL, 0) : dflt;
}

static unsigned trace_parse_flags(const char *s)
{
    g_auto(GStrv) words = g_strsplit(s ? s : "exc,int", ",", -1);
    unsigned flags = 0;

    for (char **w = words; *w; w++) {
        if (!strcmp(*w, "insn")) {
            flags |= TRACE_INSN;
        } else if (!strcmp(*w, "exc")) {
            flags |= TRACE_EXC;
        } else if (!strcmp(*w, "int")) {
            flags |= TRACE_INT;
        } else if (!strcmp(*w, "io")) {
            flags |= TRACE_IO;
        } else if (**w) {
            fprintf(stderr, "QLITE_TRACE_CPU_FLAGS: unknown '%s' "
                    "(insn, exc, int, io)\n", *w);
        }
    }
    return flags;
}

static void trace_close(void)
{
    if (trace_file) {
        fflush(trace_file);
    }
}

void tcg_trace_init(void)
{
    const char *path = g_getenv("QLITE_TRACE_CPU");

    if (!path || trace_file) {
        return;
    }
    trace_file = strcmp(path, "-") ? fopen(path, "w") : stderr;
    if (!trace_file) {
        fprintf(stderr, "QLITE_TRACE_CPU: %s: %s\n", path, strerror(errno));
        return;
    }
    setvbuf(trace_file, NULL, _IOFBF, 1 << 20);
    trace_flags = trace_parse_flags(g_getenv("QLITE_TRACE_CPU_FLAGS"));
    trace_skip = trace_env_u64("QLITE_TRACE_CPU_SKIP", 0);
    trace_count = trace_env_u64("QLITE_TRACE_CPU_COUNT", UINT64_MAX);
    tcg_trace_on = trace_flags != 0;
    atexit(trace_close);
}

/* The registers, in a fixed order, as "name=hex" fields. */
static void trace_regs(X86CPUState *env)
{
    fprintf(trace_file, " fl=%08x", x86_get_eflags(env));
    for (int i = 0; i < 16; i++) {
        fprintf(trace_file, " %s=%" PRIx64, trace_reg_names[i],
                env->regs[i]);
    }
}

void tcg_trace_insn(X86CPUState *env, const X86Insn *in)
{
    char text[64];
    uint64_t n = trace_seen++;

    if (!(trace_flags & TRACE_INSN) || n < trace_skip ||
        n - trace_skip >= trace_count) {
        return;
    }
    x86_insn_format(in, text, sizeof(text));
    fprintf(trace_file, "I %" PRIu64 " cpu=%d cs=%04x rip=%" PRIx64, n,
            env->cs ? env->cs->index : 0, env->segs[R_CS].selector,
            env->rip);
    trace_regs(env);
    fprintf(trace_file, " | %s\n", text);
}

void tcg_trace_exception(X86CPUState *env)
{
    if (!(trace_flags & TRACE_EXC)) {
        return;
    }
    fprintf(trace_file, "E %" PRIu64 " v=%02x err=%x/%d soft=%d prev=%d "
            "cs=%04x rip=%" PRIx64 " cr2=%" PRIx64 " cr0=%" PRIx64
            " cr3=%" PRIx64 " cr4=%" PRIx64 " efer=%" PRIx64 " cpl=%u",
            trace_seen, env->exc_vector, env->exc_error_code,
            env->exc_has_error, env->exc_is_soft, env->exc_prev,
            env->segs[R_CS].selector, env->rip, env->cr[2], env->cr[0],
            env->cr[3], env->cr[4], env->efer, x86_cpl(env));
    trace_regs(env);
    fputc('\n', trace_file);
    fflush(trace_file);
}

void tcg_trace_interrupt(X86CPUState *env, int vector)
{
    if (!(trace_flags & TRACE_INT)) {
        return;
    }
    fprintf(trace_file, "H %" PRIu64 " v=%02x cs=%04x rip=%" PRIx64
            " rsp=%" PRIx64 "\n", trace_seen, vector,
            env->segs[R_CS].selector, env->rip, env->regs[R_ESP]);
}

void tcg_trace_io(char kind, uint64_t addr, unsigned size, uint64_t val)
{
    if (!(trace_flags & TRACE_IO)) {
        return;
    }
    fprintf(trace_file, "%c %" PRIu64 " addr=%" PRIx64 " size=%u val=%"
            PRIx64 "\n", kind == 'r' ? 'R' : kind == 'w' ? 'W' :
            kind == 'i' ? 'P' : 'O', trace_seen, addr, size, val);
}
