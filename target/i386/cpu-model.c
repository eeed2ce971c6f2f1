/*
 * The -cpu option: named CPU models and QEMU's feature syntax
 * ("qemu64,+x2apic,-pcid,vendor=AuthenticAMD,pcid=off,model-id=...").
 *
 * A model lists what the real CPU (or QEMU's model) has; features qlite's
 * TCG does not implement are dropped from a model with QEMU's warning, and
 * asking for one explicitly is an error.  CPUID advertises only what is
 * implemented.
 */
#include "target/i386/cpu.h"
#include "target/i386/cpuid.h"
#include "target/i386/mmu.h"
#include "qlite/error.h"
#include "qlite/x86-cpu.h"

/*
 * What qlite's TCG implements.  A feature is added here once its
 * instructions/behaviour are complete and tested (issue 3).
 */
const uint32_t x86_tcg_supported[FEAT_WORDS] = {
    [FEAT_1_EDX] = CPUID_FP87 | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR
                 | CPUID_PAE | CPUID_MCE | CPUID_CX8 | CPUID_APIC | CPUID_SEP
                 | CPUID_MTRR | CPUID_PGE | CPUID_CMOV | CPUID_PAT
                 | CPUID_PSE36 | CPUID_CLFLUSH | CPUID_MMX | CPUID_FXSR
                 | CPUID_SSE | CPUID_SSE2,
    [FEAT_1_ECX] = CPUID_EXT_CX16 | CPUID_EXT_HYPERVISOR
                 | CPUID_EXT_SSE3 | CPUID_EXT_SSSE3 | CPUID_EXT_POPCNT
                 | CPUID_EXT_SSE41 | CPUID_EXT_SSE42 | CPUID_EXT_X2APIC
                 | CPUID_EXT_TSC_DEADLINE | CPUID_EXT_PCID,
    [FEAT_7_0_EBX] = CPUID_7_0_EBX_SMEP | CPUID_7_0_EBX_ERMS
                   | CPUID_7_0_EBX_SMAP | CPUID_7_0_EBX_INVPCID,
    [FEAT_7_0_ECX] = CPUID_7_0_ECX_UMIP | CPUID_7_0_ECX_PKU
                   | CPUID_7_0_ECX_PKS,
    [FEAT_8000_0001_EDX] = CPUID_EXT2_SYSCALL | CPUID_EXT2_NX
                         | CPUID_EXT2_PDPE1GB | CPUID_EXT2_RDTSCP
                         | CPUID_EXT2_LM,
    [FEAT_8000_0001_ECX] = CPUID_EXT3_LAHF_LM,
};

/* QEMU's feature names, per word and bit (target/i386 feature tables). */
static const char *const feature_names[FEAT_WORDS][32] = {
    [FEAT_1_EDX] = {
        "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce",
        "cx8", "apic", NULL, "sep", "mtrr", "pge", "mca", "cmov",
        "pat", "pse36", "pn", "clflush", NULL, "ds", "acpi", "mmx",
        "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
    },
    [FEAT_1_ECX] = {
        "pni", "pclmulqdq", "dtes64", "monitor", "ds-cpl", "vmx", "smx",
        "est", "tm2", "ssse3", "cid", NULL, "fma", "cx16", "xtpr", "pdcm",
        NULL, "pcid", "dca", "sse4.1", "sse4.2", "x2apic", "movbe",
        "popcnt", "tsc-deadline", "aes", "xsave", NULL, "avx", "f16c",
        "rdrand", "hypervisor",
    },
    [FEAT_7_0_EBX] = {
        "fsgsbase", "tsc-adjust", "sgx", "bmi1", "hle", "avx2", NULL,
        "smep", "bmi2", "erms", "invpcid", "rtm", NULL, NULL, "mpx", NULL,
        "avx512f", "avx512dq", "rdseed", "adx", "smap", "avx512ifma",
        "pcommit", "clflushopt", "clwb", "intel-pt", "avx512pf",
        "avx512er", "avx512cd", "sha-ni", "avx512bw", "avx512vl",
    },
    [FEAT_7_0_ECX] = {
        NULL, "avx512vbmi", "umip", "pku", NULL, "waitpkg", "avx512vbmi2",
        NULL, "gfni", "vaes", "vpclmulqdq", "avx512vnni", "avx512bitalg",
        NULL, "avx512-vpopcntdq", NULL, "la57", NULL, NULL, NULL, NULL,
        NULL, "rdpid", NULL, "bus-lock-detect", "cldemote", NULL,
        "movdiri", "movdir64b", NULL, "sgxlc", "pks",
    },
    [FEAT_7_0_EDX] = {
        [2] = "avx512-4vnniw", [3] = "avx512-4fmaps", [4] = "fsrm",
        [10] = "md-clear", [14] = "serialize", [16] = "tsx-ldtrk",
        [26] = "spec-ctrl", [27] = "stibp", [29] = "arch-capabilities",
        [30] = "core-capability", [31] = "ssbd",
    },
    [FEAT_8000_0001_EDX] = {
        [11] = "syscall", [20] = "nx", [22] = "mmxext", [25] = "fxsr-opt",
        [26] = "pdpe1gb", [27] = "rdtscp", [29] = "lm", [30] = "3dnowext",
        [31] = "3dnow",
    },
    [FEAT_8000_0001_ECX] = {
        "lahf-lm", "cmp-legacy", "svm", "extapic", "cr8legacy", "abm",
        "sse4a", "misalignsse", "3dnowprefetch", "osvw", "ibs", "xop",
        "skinit", "wdt", NULL, "lwp", "fma4", "tce", NULL, "nodeid-msr",
        NULL, "tbm", "topoext", "perfctr-core", "perfctr-nb",
    },
    [FEAT_D_1_EAX] = { "xsaveopt", "xsavec", "xgetbv1", "xsaves" },
};

/* QEMU's aliases, after '_' became '-'. */
static const struct {
    const char *alias, *name;
} feature_aliases[] = {
    { "sse3", "pni" }, { "sse4-1", "sse4.1" }, { "sse4-2", "sse4.2" },
    { "xd", "nx" }, { "i64", "lm" }, { "ffxsr", "fxsr-opt" },
    { "kvm-asyncpf", NULL },
};

typedef struct X86Model {
    const char *name;
    const char *vendor;
    unsigned family, model, stepping;
    uint32_t level, xlevel;
    uint32_t features[FEAT_WORDS];
    const char *model_id;
} X86Model;

#define VENDOR_AMD      "AuthenticAMD"
#define VENDOR_INTEL    "GenuineIntel"

#define PPRO_FEATURES (CPUID_FP87 | CPUID_DE | CPUID_PSE | CPUID_TSC \
    | CPUID_MSR | CPUID_MCE | CPUID_CX8 | CPUID_PGE | CPUID_CMOV \
    | CPUID_PAT | CPUID_FXSR | CPUID_MMX | CPUID_SSE | CPUID_SSE2 \
    | CPUID_PAE | CPUID_SEP | CPUID_APIC)

static const X86Model x86_models[] = {
    {
        .name = "qemu64", .vendor = VENDOR_AMD,
        .family = 15, .model = 107, .stepping = 1,
        .level = 0xd, .xlevel = 0x8000000a,
        .features = {
            [FEAT_1_EDX] = PPRO_FEATURES | CPUID_MTRR | CPUID_CLFLUSH
                         | CPUID_MCA | CPUID_PSE36,
            [FEAT_1_ECX] = CPUID_EXT_SSE3 | CPUID_EXT_CX16,
            [FEAT_8000_0001_EDX] = CPUID_EXT2_LM | CPUID_EXT2_SYSCALL
                                 | CPUID_EXT2_NX,
            [FEAT_8000_0001_ECX] = CPUID_EXT3_LAHF_LM | (1u << 2),
        },
        .model_id = "QEMU Virtual CPU version 2.5+",
    },
    {
        .name = "Opteron_G1", .vendor = VENDOR_AMD,
        .family = 15, .model = 6, .stepping = 1,
        .level = 5, .xlevel = 0x80000008,
        .features = {
            [FEAT_1_EDX] = PPRO_FEATURES | CPUID_MTRR | CPUID_CLFLUSH
                         | CPUID_MCA | CPUID_PSE36,
            [FEAT_1_ECX] = CPUID_EXT_SSE3,
            [FEAT_8000_0001_EDX] = CPUID_EXT2_LM | CPUID_EXT2_NX
                                 | CPUID_EXT2_SYSCALL,
        },
        .model_id = "AMD Opteron 240 (Gen 1 Class Opteron)",
    },
    {
        .name = "IvyBridge", .vendor = VENDOR_INTEL,
        .family = 6, .model = 58, .stepping = 9,
        .level = 0xd, .xlevel = 0x80000008,
        .features = {
            [FEAT_1_EDX] = PPRO_FEATURES | CPUID_MTRR | CPUID_CLFLUSH
                         | CPUID_MCA | CPUID_PSE36 | CPUID_VME,
            /*
             * pni pclmulqdq ssse3 cx16 sse4.1 sse4.2 x2apic popcnt
             * tsc-deadline aes xsave avx f16c rdrand
             */
            [FEAT_1_ECX] = 0x77b82203u,
            [FEAT_7_0_EBX] = CPUID_7_0_EBX_FSGSBASE | CPUID_7_0_EBX_SMEP
                           | CPUID_7_0_EBX_ERMS,
            [FEAT_8000_0001_EDX] = CPUID_EXT2_LM | CPUID_EXT2_RDTSCP
                                 | CPUID_EXT2_NX | CPUID_EXT2_SYSCALL,
            [FEAT_8000_0001_ECX] = CPUID_EXT3_LAHF_LM,
            [FEAT_D_1_EAX] = 1,
        },
        .model_id = "Intel Xeon E3-12xx v2 (Ivy Bridge)",
    },
    {
        .name = "Skylake-Server", .vendor = VENDOR_INTEL,
        .family = 6, .model = 85, .stepping = 4,
        .level = 0xd, .xlevel = 0x80000008,
        .features = {
            [FEAT_1_EDX] = PPRO_FEATURES | CPUID_MTRR | CPUID_CLFLUSH
                         | CPUID_MCA | CPUID_PSE36 | CPUID_VME,
            /* IvyBridge's plus fma pcid movbe */
            [FEAT_1_ECX] = 0x77fa3203u,
            /*
             * fsgsbase bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq
             * rdseed adx smap clflushopt clwb avx512cd avx512bw avx512vl
             */
            [FEAT_7_0_EBX] = 0xd19f07a9u,
            [FEAT_7_0_ECX] = 1u << 3,
            [FEAT_8000_0001_EDX] = CPUID_EXT2_LM | CPUID_EXT2_PDPE1GB
                                 | CPUID_EXT2_RDTSCP | CPUID_EXT2_NX
                                 | CPUID_EXT2_SYSCALL,
            [FEAT_8000_0001_ECX] = CPUID_EXT3_LAHF_LM | (1u << 5)
                                 | (1u << 8),
            [FEAT_D_1_EAX] = 0xf,
        },
        .model_id = "Intel Xeon Processor (Skylake)",
    },
};

/* "max" and "host" (= max under TCG): everything implemented. */
static const X86Model x86_model_max = {
    .name = "max", .vendor = VENDOR_AMD,
    .family = 6, .model = 6, .stepping = 3,
    .level = 0xd, .xlevel = 0x80000008,
    .model_id = "QEMU TCG CPU version 2.5+",
};

static const X86Model *cpu_model_find(const char *name)
{
    if (!strcmp(name, "max") || !strcmp(name, "host")) {
        return &x86_model_max;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(x86_models); i++) {
        if (!g_ascii_strcasecmp(x86_models[i].name, name)) {
            return &x86_models[i];
        }
    }
    return NULL;
}

/* The features @m lists that qlite does not implement, by QEMU name. */
static GPtrArray *cpu_model_missing(const X86Model *m)
{
    GPtrArray *names = g_ptr_array_new();

    for (int w = 0; w < FEAT_WORDS; w++) {
        uint32_t lack = m->features[w] & ~x86_tcg_supported[w];

        for (int b = 0; b < 32; b++) {
            if ((lack >> b & 1) && feature_names[w][b]) {
                g_ptr_array_add(names, (char *)feature_names[w][b]);
            }
        }
    }
    return names;
}

void x86_cpu_model_foreach(X86CpuModelFn fn, void *opaque)
{
    static const char max_desc[] =
        "Enables all features supported by the accelerator in the current "
        "host";

    for (size_t i = 0; i < G_N_ELEMENTS(x86_models); i++) {
        g_autoptr(GPtrArray) missing = cpu_model_missing(&x86_models[i]);

        fn(x86_models[i].name, x86_models[i].model_id, missing, opaque);
    }
    {
        g_autoptr(GPtrArray) none = g_ptr_array_new();

        fn("host", max_desc, none, opaque);
        fn("max", max_desc, none, opaque);
    }
}

static void cpu_model_print(const char *name, const char *desc,
                            GPtrArray *missing, void *opaque)
{
    fprintf(opaque, "x86 %-20s  %s\n", name, desc);
}

void x86_cpu_model_list(FILE *out)
{
    fprintf(out, "Available CPUs:\n");
    x86_cpu_model_foreach(cpu_model_print, out);
}

static void cpu_model_set_vendor(X86CPUState *env, const char *v)
{
    char buf[12] = { 0 };

    memcpy(buf, v, MIN(strlen(v), sizeof(buf)));
    memcpy(&env->cpuid_vendor[0], buf, 4);
    memcpy(&env->cpuid_vendor[1], buf + 4, 4);
    memcpy(&env->cpuid_vendor[2], buf + 8, 4);
}

/* Leaf 1 EAX (SDM CPUID figure 3-6): family/model with extended fields. */
static uint32_t cpu_model_version(unsigned family, unsigned model,
                                  unsigned stepping)
{
    uint32_t v = stepping & 0xf;

    v |= (model & 0xf) << 4 | ((model >> 4) & 0xf) << 16;
    if (family > 0xf) {
        v |= 0xf << 8 | ((family - 0xf) & 0xff) << 20;
    } else {
        v |= family << 8;
    }
    return v;
}

/* Find @name (already normalised) in the feature tables. */
static bool cpu_model_feature(const char *name, int *word, int *bit)
{
    for (size_t i = 0; i < G_N_ELEMENTS(feature_aliases); i++) {
        if (!strcmp(name, feature_aliases[i].alias)) {
            name = feature_aliases[i].name;
            break;
        }
    }
    if (!name) {
        return false;
    }
    for (int w = 0; w < FEAT_WORDS; w++) {
        for (int b = 0; b < 32; b++) {
            if (feature_names[w][b] && !strcmp(feature_names[w][b], name)) {
                *word = w;
                *bit = b;
                return true;
            }
        }
    }
    return false;
}

/* What a -cpu string asks for, before it is applied. */
typedef struct CpuRequest {
    const X86Model *model;
    uint32_t plus[FEAT_WORDS], minus[FEAT_WORDS];
    char *vendor, *model_id;
    long family, model_nr, stepping, level, xlevel;
    long phys_bits;             /* -1: not given */
    bool host_phys_bits;
} CpuRequest;

/* MAXPHYADDR limits: at least 32 bits, at most 52 (SDM vol 3A 4.1.4). */
#define PHYS_BITS_MIN   32
#define PHYS_BITS_MAX   52

/* The host's MAXPHYADDR (CPUID 0x80000008 EAX[7:0]), or 0 if unknown. */
static unsigned cpu_model_host_phys_bits(void)
{
#if defined(__x86_64__) || defined(__i386__)
    uint32_t a, b, c, d;

    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000));
    if (a >= 0x80000008) {
        __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
                : "a"(0x80000008));
        return a & 0xff;
    }
#endif
    return 0;
}

static unsigned cpu_model_phys_bits(const CpuRequest *req)
{
    unsigned host = req->host_phys_bits ? cpu_model_host_phys_bits() : 0;

    if (host) {
        return host;
    }
    return req->phys_bits >= 0 ? (unsigned)req->phys_bits : X86_PHYS_BITS;
}

static bool cpu_model_parse_num(const char *model, const char *key,
                                const char *val, long *out, GError **errp)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(val, &end, 0);
    if (errno || end == val || *end || v < 0) {
        error_setg(errp, "Parameter '%s' expects a number", key);
        return false;
    }
    (void)model;
    *out = v;
    return true;
}

static bool cpu_model_set_flag(CpuRequest *req, const char *name, bool on,
                               GError **errp)
{
    int word, bit;

    if (!cpu_model_feature(name, &word, &bit)) {
        error_setg(errp, "Property '%s-x86_64-cpu.%s' not found",
                    req->model->name, name);
        return false;
    }
    if (on && !(x86_tcg_supported[word] & (1u << bit))) {
        error_setg(errp, "CPU feature '%s' is not supported by qlite's tcg",
                    name);
        return false;
    }
    if (on) {
        req->plus[word] |= 1u << bit;
        req->minus[word] &= ~(1u << bit);
    } else {
        req->minus[word] |= 1u << bit;
        req->plus[word] &= ~(1u << bit);
    }
    return true;
}

static bool cpu_model_parse_bool(const char *key, const char *val, bool *on,
                                 GError **errp)
{
    if (!strcmp(val, "on") || !strcmp(val, "true") || !strcmp(val, "yes")) {
        *on = true;
    } else if (!strcmp(val, "off") || !strcmp(val, "false")
               || !strcmp(val, "no")) {
        *on = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

/* One "key=value", "+feat", "-feat" or "feat" item. */
static bool cpu_model_parse_item(CpuRequest *req, const char *item,
                                 GError **errp)
{
    g_autofree char *key = NULL;
    const char *eq = strchr(item, '=');
    const char *val = eq ? eq + 1 : NULL;
    bool on = true;

    if (item[0] == '+' || item[0] == '-') {
        key = g_strdelimit(g_strdup(item + 1), "_", '-');
        return cpu_model_set_flag(req, key, item[0] == '+', errp);
    }
    key = eq ? g_strndup(item, eq - item) : g_strdup(item);
    if (!strcmp(key, "vendor") && val) {
        if (strlen(val) != 12) {
            error_setg(errp, "Property 'vendor' doesn't take value '%s'", val);
            return false;
        }
        g_free(req->vendor);
        req->vendor = g_strdup(val);
        return true;
    }
    if (!strcmp(key, "model-id") && val) {
        g_free(req->model_id);
        req->model_id = g_strndup(val, 48);
        return true;
    }
    if (val && (!strcmp(key, "family") || !strcmp(key, "model")
                || !strcmp(key, "stepping") || !strcmp(key, "level")
                || !strcmp(key, "xlevel"))) {
        long *dst = !strcmp(key, "family") ? &req->family
                  : !strcmp(key, "model") ? &req->model_nr
                  : !strcmp(key, "stepping") ? &req->stepping
                  : !strcmp(key, "level") ? &req->level : &req->xlevel;

        return cpu_model_parse_num(req->model->name, key, val, dst, errp);
    }
    if (!strcmp(key, "phys-bits") && val) {
        if (!cpu_model_parse_num(req->model->name, key, val, &req->phys_bits,
                                 errp)) {
            return false;
        }
        if (req->phys_bits < PHYS_BITS_MIN || req->phys_bits > PHYS_BITS_MAX) {
            error_setg(errp, "phys-bits should be between %d and %d "
                       "(but is %ld)", PHYS_BITS_MIN, PHYS_BITS_MAX,
                       req->phys_bits);
            return false;
        }
        return true;
    }
    g_strdelimit(key, "_", '-');
    if (val && !cpu_model_parse_bool(key, val, &on, errp)) {
        return false;
    }
    if (!strcmp(key, "host-phys-bits")) {
        req->host_phys_bits = on;
        return true;
    }
    return cpu_model_set_flag(req, key, on, errp);
}

/*
 * A model's features that TCG lacks are dropped quietly (the model still
 * runs, as QEMU's do); only an explicit request for one is an error.
 */
static void cpu_model_filter(X86CPUState *env)
{
    for (int w = 0; w < FEAT_WORDS; w++) {
        env->features[w] &= x86_tcg_supported[w];
    }
}

static void cpu_model_fill(X86CPUState *env, const CpuRequest *req)
{
    const X86Model *m = req->model;
    X86ModelInfo *info = env->model;

    for (int w = 0; w < FEAT_WORDS; w++) {
        uint32_t base = m == &x86_model_max ? x86_tcg_supported[w]
                                            : m->features[w];

        if (w == FEAT_1_ECX) {
            base |= CPUID_EXT_HYPERVISOR;   /* QEMU sets it on every model */
        }
        env->features[w] = (base | req->plus[w]) & ~req->minus[w];
    }
    cpu_model_filter(env);
    env->cpuid_level = req->level >= 0 ? (uint32_t)req->level : m->level;
    env->cpuid_xlevel = req->xlevel >= 0 ? (uint32_t)req->xlevel : m->xlevel;
    env->phys_bits = cpu_model_phys_bits(req);
    env->cpuid_version = cpu_model_version(
        req->family >= 0 ? req->family : m->family,
        req->model_nr >= 0 ? req->model_nr : m->model,
        req->stepping >= 0 ? req->stepping : m->stepping);
    cpu_model_set_vendor(env, req->vendor ? req->vendor : m->vendor);
    if (!info) {
        info = g_new0(X86ModelInfo, 1);
        env->model = info;
    }
    g_strlcpy(info->name, m->name, sizeof(info->name));
    memset(info->model_id, 0, sizeof(info->model_id));
    g_strlcpy(info->model_id, req->model_id ? req->model_id : m->model_id,
              sizeof(info->model_id));
}

bool x86_cpu_model_apply(X86CPUState *env, const char *cpu_model,
                         GError **errp)
{
    g_auto(GStrv) items = g_strsplit(cpu_model ? cpu_model : "qemu64",
                                     ",", -1);
    CpuRequest req = { .family = -1, .model_nr = -1, .stepping = -1,
                       .level = -1, .xlevel = -1, .phys_bits = -1 };
    bool ok = true;

    req.model = items[0] ? cpu_model_find(items[0]) : NULL;
    if (!req.model) {
        error_setg(errp, "unable to find CPU model '%s'",
                    items[0] ? items[0] : "");
        return false;
    }
    for (int i = 1; items[i] && ok; i++) {
        if (items[i][0]) {
            ok = cpu_model_parse_item(&req, items[i], errp);
        }
    }
    if (ok) {
        cpu_model_fill(env, &req);
    }
    g_free(req.vendor);
    g_free(req.model_id);
    return ok;
}
