/* Option tables for every daemon's main(): defaults, then environment, then
 * command-line flags (getopt_long built from the table), with bounds. It
 * also prints --help and the Markdown reference for docs/config.md. A bad
 * value is the operator's mistake: say which option and why, exit 64 —
 * never start with a half-understood configuration. */
#include "beat_cfg.h"
#include "beat_clock.h"
#include "beat_log.h"
#include "beat_util.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXIT_USAGE 64

/* Values we allocated, keyed by destination, so a later set can free the
 * previous one (keeps LeakSanitizer quiet and repeated sets bounded). */
typedef struct owned {
    void *dst;
    void *ptr; /* STR: the string; STRLIST: the v array */
    int n;     /* STRLIST: number of strings in ptr */
    struct owned *next;
} owned;
static owned *owned_head;

static owned *owned_find(void *dst) {
    for (owned *o = owned_head; o; o = o->next)
        if (o->dst == dst) return o;
    return NULL;
}

static void owned_release(owned *o, beat_opt_type t) {
    if (!o->ptr) return;
    if (t == BEAT_OPT_STRLIST) {
        char **v = o->ptr;
        for (int i = 0; i < o->n; i++) free(v[i]);
    }
    free(o->ptr);
    o->ptr = NULL;
    o->n = 0;
}

static owned *owned_get(void *dst) {
    owned *o = owned_find(dst);
    if (o) return o;
    o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->dst = dst;
    o->next = owned_head;
    owned_head = o;
    return o;
}

static bool bool_parse(const char *s, bool *out) {
    static const char *const t[] = {"1", "true", "yes", "on"};
    static const char *const f[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, t[i]) == 0) return *out = true, true;
        if (strcasecmp(s, f[i]) == 0) return *out = false, true;
    }
    return false;
}

/* Unbounded: min == max (both 0 when a table leaves them out) or min > max. */
static bool has_bounds(const beat_opt *o) { return o->min < o->max; }

static int errf(char *err, unsigned err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int errf(char *err, unsigned err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Replaces a STRLIST with the comma-separated items of value (empty items
 * are skipped, so "" is the empty list); append keeps existing items. */
static int strlist_set(const beat_opt *opt, const char *value, bool append, char *err,
                       unsigned err_len) {
    beat_strlist *l = opt->dst;
    owned *o = owned_get(opt->dst);
    if (!o) return errf(err, err_len, "out of memory");
    int keep = append ? l->n : 0;
    int add = 0;
    for (const char *p = value; p && *p; p++)
        if (*p == ',') add++;
    add += 1;
    char **v = calloc((size_t)(keep + add + 1), sizeof *v);
    if (!v) return errf(err, err_len, "out of memory");
    int n = 0;
    for (int i = 0; i < keep; i++)
        if (!(v[n] = strdup(l->v[i]))) goto oom;
        else n++;
    const char *p = value ? value : "";
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        /* Trim spaces so "a, b" works as people expect. */
        while (len && *p == ' ') p++, len--;
        while (len && p[len - 1] == ' ') len--;
        if (len) {
            if (!(v[n] = strndup(p, len))) goto oom;
            n++;
        }
        p += len;
        while (*p && *p != ',') p++;
        if (*p == ',') p++;
    }
    owned_release(o, BEAT_OPT_STRLIST);
    o->ptr = v;
    o->n = n;
    l->v = v;
    l->n = n;
    return 0;
oom:
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
    return errf(err, err_len, "out of memory");
}

static int opt_set(const beat_opt *opt, const char *value, bool append, char *err,
                   unsigned err_len) {
    if (!opt || !opt->dst) return errf(err, err_len, "no destination");
    switch (opt->type) {
        case BEAT_OPT_STR: {
            owned *o = owned_get(opt->dst);
            if (!o) return errf(err, err_len, "out of memory");
            char *s = NULL;
            if (value && !(s = strdup(value))) return errf(err, err_len, "out of memory");
            owned_release(o, BEAT_OPT_STR);
            o->ptr = s;
            *(char **)opt->dst = s;
            return 0;
        }
        case BEAT_OPT_INT: {
            int64_t v;
            if (!value || beat_parse_i64(value, &v))
                return errf(err, err_len, "'%s' is not an integer", value ? value : "");
            if (has_bounds(opt) && ((double)v < opt->min || (double)v > opt->max))
                return errf(err, err_len, "%lld is out of range [%.15g, %.15g]", (long long)v,
                            opt->min, opt->max);
            *(int64_t *)opt->dst = v;
            return 0;
        }
        case BEAT_OPT_DBL: {
            double v;
            if (!value || beat_parse_double(value, &v))
                return errf(err, err_len, "'%s' is not a finite number", value ? value : "");
            if (has_bounds(opt) && (v < opt->min || v > opt->max))
                return errf(err, err_len, "%.15g is out of range [%.15g, %.15g]", v, opt->min,
                            opt->max);
            *(double *)opt->dst = v;
            return 0;
        }
        case BEAT_OPT_BOOL: {
            bool b;
            if (!value || !bool_parse(value, &b))
                return errf(err, err_len, "'%s' is not a boolean (1/0/true/false/yes/no)",
                            value ? value : "");
            *(bool *)opt->dst = b;
            return 0;
        }
        case BEAT_OPT_STRLIST: return strlist_set(opt, value, append, err, err_len);
    }
    return errf(err, err_len, "unknown option type");
}

int beat_cfg_start(const char *prog, const char *svc, const char *summary, const beat_opt *opts,
                   int argc, char **argv, char *const *level) {
    beat_cfg_parse(prog, summary, opts, argc, argv, NULL);
    beat_log_level lvl = BEAT_INFO;
    if (beat_log_level_parse(*level, &lvl) != 0) {
        fprintf(stderr, "%s: --log-level: unknown level \"%s\"\n", prog, *level ? *level : "");
        return EXIT_USAGE;
    }
    beat_log_init(svc, lvl);
    return 0;
}

int beat_cfg_sim_clock(const char *prog, const char *spec) {
    beat_reason why = {{0}};
    if (beat_clock_configure(spec, &why) != 0) {
        fprintf(stderr, "%s: --sim-clock: %s\n", prog, why.msg);
        return EXIT_USAGE;
    }
    if (beat_clock_simulated())
        beat_log(BEAT_WARN, "sim_clock", "spec=%s engine_ms=%lld rate=%g", spec,
                 (long long)beat_engine_ms(), beat_clock_rate());
    return 0;
}

int beat_cfg_set(const beat_opt *opt, const char *value, char *err, unsigned err_len) {
    return opt_set(opt, value, false, err, err_len);
}

/* Argument placeholder for --help, and the type column of --help-md. */
static const char *type_arg(const beat_opt *o) {
    switch (o->type) {
        case BEAT_OPT_STR: return " STR";
        case BEAT_OPT_INT: return " INT";
        case BEAT_OPT_DBL: return " NUM";
        case BEAT_OPT_BOOL: return "[=BOOL]";
        case BEAT_OPT_STRLIST: return " STR (repeatable, env: comma-separated)";
    }
    return "";
}

static const char *type_name(const beat_opt *o) {
    switch (o->type) {
        case BEAT_OPT_STR: return "string";
        case BEAT_OPT_INT: return "integer";
        case BEAT_OPT_DBL: return "number";
        case BEAT_OPT_BOOL: return "bool";
        case BEAT_OPT_STRLIST: return "list";
    }
    return "";
}

static const char *def_text(const beat_opt *o) {
    if (o->secret && o->def && *o->def) return "***";
    if (o->def) return o->def;
    switch (o->type) {
        case BEAT_OPT_BOOL: return "false";
        case BEAT_OPT_INT:
        case BEAT_OPT_DBL: return "0";
        default: return "";
    }
}

static void print_help(const char *prog, const char *summary, const beat_opt *opts) {
    printf("%s — %s\n\nUsage: %s [options]\n\nOptions (precedence: default < "
           "environment < flag):\n",
           prog, summary ? summary : "", prog);
    for (const beat_opt *o = opts; o->name; o++) {
        printf("  --%s%s\n      %s\n", o->name, type_arg(o), o->help ? o->help : "");
        printf("      ");
        if (o->env) printf("env %s; ", o->env);
        printf("default \"%s\"", def_text(o));
        if (has_bounds(o) && (o->type == BEAT_OPT_INT || o->type == BEAT_OPT_DBL))
            printf("; range [%.15g, %.15g]", o->min, o->max);
        printf("\n");
    }
    printf("  --help\n      print this help and exit\n"
           "  --help-md\n      print the options as a Markdown table and exit\n");
}

/* Markdown table cells: '|' would end the cell, newlines the row. */
static void md_cell(const char *s) {
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", stdout);
        else if (*s == '\n') fputc(' ', stdout);
        else fputc(*s, stdout);
    }
}

static void print_help_md(const char *prog, const char *summary, const beat_opt *opts) {
    printf("### %s\n\n", prog);
    if (summary) {
        md_cell(summary);
        printf("\n\n");
    }
    printf("| Flag | Env | Type | Default | Bounds | Help |\n"
           "|---|---|---|---|---|---|\n");
    for (const beat_opt *o = opts; o->name; o++) {
        printf("| `--%s` | %s%s%s | %s | ", o->name, o->env ? "`" : "", o->env ? o->env : "",
               o->env ? "`" : "", type_name(o));
        const char *d = def_text(o);
        if (*d) {
            printf("`");
            md_cell(d);
            printf("`");
        }
        printf(" | ");
        if (has_bounds(o) && (o->type == BEAT_OPT_INT || o->type == BEAT_OPT_DBL))
            printf("%.15g – %.15g", o->min, o->max);
        printf(" | ");
        md_cell(o->help);
        printf(" |\n");
    }
}

static _Noreturn void usage_fail(const char *prog, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static _Noreturn void usage_fail(const char *prog, const char *name, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (name) fprintf(stderr, "%s: --%s: %s\n", prog, name, msg);
    else fprintf(stderr, "%s: %s\n", prog, msg);
    fprintf(stderr, "Try '%s --help'.\n", prog);
    fflush(stderr);
    exit(EXIT_USAGE);
}

enum { OPT_HELP = 0x10000, OPT_HELP_MD, OPT_BASE };

void beat_cfg_parse(const char *prog, const char *summary, const beat_opt *opts, int argc,
                    char **argv, int *first_arg) {
    char err[256];
    int nopts = 0;
    while (opts[nopts].name) nopts++;

    /* 1. defaults, 2. environment */
    for (int i = 0; i < nopts; i++) {
        const beat_opt *o = &opts[i];
        /* A NULL default: NULL string, empty list, false, 0. */
        const char *def = o->def || o->type == BEAT_OPT_STR ? o->def : def_text(o);
        if (opt_set(o, def, false, err, sizeof err))
            usage_fail(prog, o->name, "bad default: %s", err);
        const char *ev = o->env ? getenv(o->env) : NULL;
        /* An empty variable means "not set" except where "" is a value
         * (a string, or the empty list). */
        if (ev && !*ev && o->type != BEAT_OPT_STR && o->type != BEAT_OPT_STRLIST) ev = NULL;
        if (ev && opt_set(o, ev, false, err, sizeof err))
            usage_fail(prog, o->name, "%s (from %s)", err, o->env);
    }

    /* 3. flags. The tables hang off statics so that an exit from inside
     * the loop leaves nothing unreachable (LeakSanitizer in tests). */
    static struct option *lo;
    static bool *seen;
    free(lo);
    free(seen);
    lo = calloc((size_t)nopts + 3, sizeof *lo);
    seen = calloc((size_t)nopts + 1, sizeof *seen);
    if (!lo || !seen) usage_fail(prog, NULL, "out of memory");
    for (int i = 0; i < nopts; i++) {
        lo[i].name = opts[i].name;
        lo[i].has_arg = opts[i].type == BEAT_OPT_BOOL ? optional_argument : required_argument;
        lo[i].val = OPT_BASE + i;
    }
    lo[nopts] = (struct option){"help", no_argument, NULL, OPT_HELP};
    lo[nopts + 1] = (struct option){"help-md", no_argument, NULL, OPT_HELP_MD};

    optind = 0; /* full re-initialisation of GNU getopt */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (c == 'h' || c == OPT_HELP || c == OPT_HELP_MD) {
            if (c == OPT_HELP_MD) print_help_md(prog, summary, opts);
            else print_help(prog, summary, opts);
            fflush(stdout);
            exit(0);
        }
        if (c == ':' || c == '?') {
            const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
            const char *name = arg;
            while (*name == '-') name++;
            char nm[128];
            snprintf(nm, sizeof nm, "%.*s", (int)strcspn(name, "="), name);
            if (c == ':') usage_fail(prog, nm, "missing value");
            usage_fail(prog, nm, "unknown option");
        }
        int i = c - OPT_BASE;
        if (i < 0 || i >= nopts) usage_fail(prog, NULL, "internal option error");
        const beat_opt *o = &opts[i];
        const char *val = optarg;
        if (o->type == BEAT_OPT_BOOL && !val) val = "true";
        /* A repeated list flag adds; its first use replaces env/default. */
        bool append = o->type == BEAT_OPT_STRLIST && seen[i];
        seen[i] = true;
        if (opt_set(o, val, append, err, sizeof err)) usage_fail(prog, o->name, "%s", err);
    }
    free(lo);
    free(seen);
    lo = NULL;
    seen = NULL;
    if (first_arg) *first_arg = optind;
    else if (optind < argc) usage_fail(prog, NULL, "unexpected argument '%s'", argv[optind]);
}

/* Appends v as a logfmt quoted value ("..." with \" and \\ escaped). */
static void logfmt_quoted(beat_buf *b, const char *v) {
    beat_buf_puts(b, "\"");
    for (; v && *v; v++) {
        if (*v == '"' || *v == '\\') beat_buf_append(b, "\\", 1);
        beat_buf_append(b, v, 1);
    }
    beat_buf_puts(b, "\"");
}

void beat_cfg_log(const beat_opt *opts) {
    beat_buf b;
    beat_buf_init(&b, 64 * 1024);
    for (const beat_opt *o = opts; o->name; o++) {
        if (b.len) beat_buf_puts(&b, " ");
        beat_buf_printf(&b, "%s=", o->name);
        if (!o->dst) {
            beat_buf_puts(&b, "\"\"");
            continue;
        }
        switch (o->type) {
            case BEAT_OPT_STR: {
                const char *s = *(char **)o->dst;
                logfmt_quoted(&b, o->secret && s && *s ? "***" : s ? s : "");
                break;
            }
            case BEAT_OPT_INT: beat_buf_printf(&b, "%lld", (long long)*(int64_t *)o->dst); break;
            case BEAT_OPT_DBL: beat_buf_printf(&b, "%.17g", *(double *)o->dst); break;
            case BEAT_OPT_BOOL: beat_buf_puts(&b, *(bool *)o->dst ? "true" : "false"); break;
            case BEAT_OPT_STRLIST: {
                const beat_strlist *l = o->dst;
                beat_buf j;
                beat_buf_init(&j, 16 * 1024);
                for (int i = 0; i < l->n; i++) {
                    if (i) beat_buf_puts(&j, ",");
                    beat_buf_puts(&j, o->secret ? "***" : l->v[i]);
                }
                logfmt_quoted(&b, j.data);
                beat_buf_fini(&j);
                break;
            }
        }
    }
    beat_log(BEAT_INFO, "config", "%s", b.data);
    beat_buf_fini(&b);
}

/* The refusal is made here, once for every daemon, so that no daemon can
 * forget it: a fixed secret is public (it is in this repository), and an
 * empty admin token means anyone who reaches the port may write. */
int beat_cfg_secret(const char *prog, const char *flag, const char *env, char **value,
                    const char *dev_value, bool dev) {
    static bool dev_logged;
    const char *v = value && *value ? *value : "";
    bool empty = !*v, is_dev = dev_value && strcmp(v, dev_value) == 0;
    if (!empty && !is_dev) return 0;
    if (!dev) {
        const char *why = empty ? "is empty" : "is the public development default";
        fprintf(stderr,
                "%s: --%s: %s; set a secret (flag or %s) or pass --dev "
                "(BEAT_DEV=1) for development only\n",
                prog, flag, why, env);
        beat_log(BEAT_FATAL, "secret_refused", "flag=%s reason=\"%s\"", flag, why);
        return EXIT_USAGE;
    }
    if (!dev_logged) {
        dev_logged = true;
        beat_log(BEAT_WARN, "dev_mode",
                 "msg=\"DEVELOPMENT MODE (--dev): insecure "
                 "defaults allowed; never run this in production\"");
    }
    if (empty && dev_value && value) *value = (char *)dev_value;
    beat_log(BEAT_WARN, "dev_secret", "flag=%s msg=\"%s\"", flag,
             empty && !dev_value ? "empty: no authentication (--dev)"
                                 : "the public development default (--dev)");
    return 0;
}
