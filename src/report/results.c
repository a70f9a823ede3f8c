/* Reading a forget results file for the report (report_internal.h): the JSON that `unlearn forget
 * -o` or `unlearn receipt --json` writes, validated field by field with errors that name the file
 * and the field ("affected[2].after"); and the graph to draw, from the file's optional "edges",
 * the network directory it names, or nothing. Also the small text buffer of src/report.
 * Deliberately strict about the fields the report draws and lenient about the rest (unknown
 * fields are ignored; optional ones print as "unknown").
 */
#include "report/report_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unlearn/io.h"
#include "unlearn/rng.h"

/* ---- text buffer ------------------------------------------------------------------------ */

static bool grow(rp_buf *b, size_t add) {
    if (b->oom) return false;
    if (b->len + add + 1 <= b->cap) return true;
    size_t nc = b->cap ? b->cap : 1024;
    while (nc < b->len + add + 1) nc *= 2;
    char *s = realloc(b->s, nc);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = nc;
    return true;
}

void rp_printf(rp_buf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k >= 0 && grow(b, (size_t)k)) {
        vsnprintf(b->s + b->len, (size_t)k + 1, fmt, ap2);
        b->len += (size_t)k;
    }
    va_end(ap2);
}

void rp_puts(rp_buf *b, const char *s) {
    size_t k = strlen(s);
    if (!grow(b, k)) return;
    memcpy(b->s + b->len, s, k + 1);
    b->len += k;
}

void rp_html(rp_buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': rp_puts(b, "&amp;"); break;
        case '<': rp_puts(b, "&lt;"); break;
        case '>': rp_puts(b, "&gt;"); break;
        case '"': rp_puts(b, "&quot;"); break;
        case '\'': rp_puts(b, "&#39;"); break;
        default:
            if (grow(b, 1)) {
                b->s[b->len++] = *s;
                b->s[b->len] = '\0';
            }
        }
    }
}

void rp_buf_free(rp_buf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* ---- results ------------------------------------------------------------------------------ */

void rp_results_free(rp_results *r) {
    cJSON_Delete((cJSON *)r->json);
    free(r->models);
    free(r->edges);
    memset(r, 0, sizeof *r);
}

int rp_results_find(const rp_results *r, const char *name) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->models[i].name, name) == 0) return (int)i;
    return -1;
}

static bool name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= UL_NET_NAME_MAX || s[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return false;
    }
    return true;
}

static bool hex_ok(const char *s) {
    if (strlen(s) != 64) return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

static ul_status bad(const rp_results *r, const char *field, const char *fmt, ...) UL_PRINTF(3, 4);
static ul_status bad(const rp_results *r, const char *field, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ul_fail(UL_E_FORMAT, "results file '%s': field '%s': %s", r->path, field, msg);
}

static const char *kind_of(const cJSON *x) {
    if (!x) return "missing";
    if (cJSON_IsString(x)) return "a string";
    if (cJSON_IsNumber(x)) return "a number";
    if (cJSON_IsBool(x)) return "a boolean";
    if (cJSON_IsNull(x)) return "null";
    if (cJSON_IsArray(x)) return "an array";
    return "an object";
}

static ul_status get_num(const rp_results *r, const cJSON *o, const char *key, const char *where, double *out) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    char f[160];
    snprintf(f, sizeof f, "%s%s", where, key);
    if (!cJSON_IsNumber(x)) return bad(r, f, "is %s, expected a number", kind_of(x));
    if (!isfinite(x->valuedouble)) return bad(r, f, "is not finite");
    *out = x->valuedouble;
    return UL_OK;
}

static ul_status get_acc(const rp_results *r, const cJSON *o, const char *key, const char *where, double *out) {
    ul_status st = get_num(r, o, key, where, out);
    if (st == UL_OK && !(*out == -1.0 || (*out >= 0 && *out <= 100))) {
        char f[160];
        snprintf(f, sizeof f, "%s%s", where, key);
        return bad(r, f, "%g is not an accuracy in percent (0..100, or -1 for none)", *out);
    }
    return st;
}

static ul_status get_str(const rp_results *r, const cJSON *o, const char *key, const char *where, char *dst,
                         size_t cap) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    char f[160];
    snprintf(f, sizeof f, "%s%s", where, key);
    if (!cJSON_IsString(x)) return bad(r, f, "is %s, expected a string", kind_of(x));
    if (strlen(x->valuestring) >= cap) return bad(r, f, "is longer than %zu characters", cap - 1);
    snprintf(dst, cap, "%s", x->valuestring);
    return UL_OK;
}

static void opt_str(const cJSON *o, const char *key, char *dst, size_t cap, const char *fallback) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(dst, cap, "%s", cJSON_IsString(x) && x->valuestring[0] ? x->valuestring : fallback);
}

static double opt_num(const cJSON *o, const char *key) {
    const cJSON *x = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsNumber(x) && isfinite(x->valuedouble) ? x->valuedouble : NAN;
}

/* What kind of file this is when it is not a results file, for the message. */
static const char *looks_like(const cJSON *j) {
    if (cJSON_IsArray(j)) return " (as `unlearn net show --json` writes)";
    if (cJSON_GetObjectItemCaseSensitive(j, "model_hash") && cJSON_GetObjectItemCaseSensitive(j, "accuracy"))
        return " (it looks like `unlearn eval --json` output)";
    if (cJSON_GetObjectItemCaseSensitive(j, "tensors")) return " (it looks like `unlearn info --json` output)";
    return "";
}

ul_status rp_results_load(const char *path, rp_results *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->t_roots = r->t_makespan = r->t_sum = r->t_total = NAN;
    uint8_t *buf = NULL;
    size_t len = 0;
    ul_status st = ul_read_file(path, (size_t)256 << 20, &buf, &len);
    if (st != UL_OK) return ul_fail_ctx(st, "results file '%s'", path);
    ul_sha256_hex(buf, len, r->sha256);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)buf, len, &end, false);
    if (!j) {
        size_t off = end ? (size_t)(end - (const char *)buf) : 0;
        free(buf);
        return ul_fail(UL_E_FORMAT, "results file '%s': not JSON (parse error near byte %zu)", path, off);
    }
    free(buf);
    r->json = j;
    if (!cJSON_IsObject(j)) {
        ul_status s = ul_fail(UL_E_FORMAT,
                              "results file '%s': not a forget results file: the top level is %s%s, expected an "
                              "object with 'request', 'method' and 'affected' (what `unlearn forget -o` or `unlearn "
                              "receipt --json` writes)",
                              path, kind_of(j), looks_like(j));
        rp_results_free(r);
        return s;
    }
    if (!cJSON_GetObjectItemCaseSensitive(j, "affected")) {
        ul_status s = ul_fail(UL_E_FORMAT,
                              "results file '%s': field 'affected': missing: not a forget results file%s (expected "
                              "what `unlearn forget -o` or `unlearn receipt --json` writes)",
                              path, looks_like(j));
        rp_results_free(r);
        return s;
    }
#define CHECK(expr)                                                                                                    \
    do {                                                                                                               \
        if ((st = (expr)) != UL_OK) {                                                                                  \
            rp_results_free(r);                                                                                        \
            return st;                                                                                                 \
        }                                                                                                              \
    } while (0)
    CHECK(get_str(r, j, "method", "", r->method, sizeof r->method));
    bool method_ok = r->method[0] != '\0';
    for (const char *c = r->method; *c; c++)
        method_ok = method_ok && ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_');
    if (!method_ok) CHECK(bad(r, "method", "'%s' is not a method name ([a-z0-9_-])", r->method));
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "request");
    if (!cJSON_IsObject(req)) CHECK(bad(r, "request", "is %s, expected an object", kind_of(req)));
    r->request = req;
    const cJSON *lab = cJSON_GetObjectItemCaseSensitive(req, "labels"), *smp = cJSON_GetObjectItemCaseSensitive(req, "samples");
    if (cJSON_IsArray(lab) && cJSON_GetArraySize(lab) > 0) {
        size_t k = (size_t)snprintf(r->request_text, sizeof r->request_text, "labels ");
        const cJSON *x;
        int i = 0;
        cJSON_ArrayForEach(x, lab) {
            if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble != floor(x->valuedouble)) {
                char f[64];
                snprintf(f, sizeof f, "request.labels[%d]", i);
                CHECK(bad(r, f, "is not a label (a non-negative integer)"));
            }
            if (k < sizeof r->request_text)
                k += (size_t)snprintf(r->request_text + k, sizeof r->request_text - k, "%s%.0f", i ? "," : "",
                                      x->valuedouble);
            i++;
        }
    } else if (cJSON_IsObject(smp)) {
        double count = 0;
        char ids[65], split[32];
        CHECK(get_num(r, smp, "count", "request.samples.", &count));
        CHECK(get_str(r, smp, "ids", "request.samples.", ids, sizeof ids));
        opt_str(smp, "split", split, sizeof split, "train");
        snprintf(r->request_text, sizeof r->request_text, "%.0f samples of the %s split (id list sha256 %s)", count,
                 split, ids);
    } else {
        CHECK(bad(r, "request", "has neither 'labels' (a non-empty array) nor 'samples' (an object)"));
    }
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(j, "parameters");
    if (par && !cJSON_IsObject(par)) CHECK(bad(r, "parameters", "is %s, expected an object", kind_of(par)));
    r->parameters = par;
    opt_str(j, "network", r->network, sizeof r->network, "");
    opt_str(j, "tool_version", r->tool_version, sizeof r->tool_version, "unknown");
    opt_str(j, "git_commit", r->git_commit, sizeof r->git_commit, "unknown");
    double rid = opt_num(j, "request_id");
    r->request_id = isnan(rid) ? 0 : (long long)rid;
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(j, "timings");
    r->t_roots = opt_num(tm, "roots_fisher_seconds");
    r->t_makespan = opt_num(tm, "makespan_seconds");
    r->t_sum = opt_num(tm, "sum_seconds");
    r->t_total = opt_num(tm, "total_seconds");

    const cJSON *aff = cJSON_GetObjectItemCaseSensitive(j, "affected");
    if (!cJSON_IsArray(aff) || cJSON_GetArraySize(aff) == 0)
        CHECK(bad(r, "affected", "is %s, expected a non-empty array", cJSON_IsArray(aff) ? "empty" : kind_of(aff)));
    r->n = (size_t)cJSON_GetArraySize(aff);
    if (!(r->models = calloc(r->n, sizeof *r->models))) CHECK(ul_fail(UL_E_NOMEM, "out of memory reading '%s'", path));
    size_t i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, aff) {
        rp_model *m = &r->models[i];
        char w[48];
        snprintf(w, sizeof w, "affected[%zu].", i);
        if (!cJSON_IsObject(a)) {
            snprintf(w, sizeof w, "affected[%zu]", i);
            CHECK(bad(r, w, "is %s, expected an object", kind_of(a)));
        }
        CHECK(get_str(r, a, "model", w, m->name, sizeof m->name));
        char f[80];
        snprintf(f, sizeof f, "%smodel", w);
        if (!name_ok(m->name)) CHECK(bad(r, f, "'%s' is not a model name ([A-Za-z0-9_.-], 1..63 characters)", m->name));
        if (rp_results_find(r, m->name) >= 0 && rp_results_find(r, m->name) < (int)i)
            CHECK(bad(r, f, "model '%s' is listed twice", m->name));
        const cJSON *root = cJSON_GetObjectItemCaseSensitive(a, "root");
        snprintf(f, sizeof f, "%sroot", w);
        if (!cJSON_IsBool(root)) CHECK(bad(r, f, "is %s, expected true or false", kind_of(root)));
        m->root = cJSON_IsTrue(root);
        CHECK(get_str(r, a, "before", w, m->before, sizeof m->before));
        CHECK(get_str(r, a, "after", w, m->after, sizeof m->after));
        snprintf(f, sizeof f, "%sbefore", w);
        if (!hex_ok(m->before)) CHECK(bad(r, f, "'%s' is not a SHA-256 (64 lowercase hex digits)", m->before));
        snprintf(f, sizeof f, "%safter", w);
        if (!hex_ok(m->after)) CHECK(bad(r, f, "'%s' is not a SHA-256 (64 lowercase hex digits)", m->after));
        CHECK(get_acc(r, a, "forget_acc_before", w, &m->fa_before));
        CHECK(get_acc(r, a, "forget_acc_after", w, &m->fa_after));
        CHECK(get_acc(r, a, "retain_acc_before", w, &m->ra_before));
        CHECK(get_acc(r, a, "retain_acc_after", w, &m->ra_after));
        CHECK(get_num(r, a, "seconds", w, &m->seconds));
        if (m->seconds < 0) {
            snprintf(f, sizeof f, "%sseconds", w);
            CHECK(bad(r, f, "is negative"));
        }
        double x = opt_num(a, "roots_merged");
        m->roots_merged = isnan(x) ? -1 : (int)x;
        x = opt_num(a, "selected");
        m->selected = isnan(x) ? -1 : x;
        i++;
    }
    /* optional edges: [{"parent": "a", "child": "c", "type": "avg"}] */
    const cJSON *edges = cJSON_GetObjectItemCaseSensitive(j, "edges");
    if (edges) {
        if (!cJSON_IsArray(edges)) CHECK(bad(r, "edges", "is %s, expected an array", kind_of(edges)));
        size_t ne = (size_t)cJSON_GetArraySize(edges);
        if (ne && !(r->edges = calloc(ne, sizeof *r->edges))) CHECK(ul_fail(UL_E_NOMEM, "out of memory reading '%s'", path));
        cJSON_ArrayForEach(a, edges) {
            rp_edge *e = &r->edges[r->nedges];
            char w[48], f[80];
            snprintf(w, sizeof w, "edges[%zu].", r->nedges);
            CHECK(get_str(r, a, "parent", w, e->parent, sizeof e->parent));
            CHECK(get_str(r, a, "child", w, e->child, sizeof e->child));
            opt_str(a, "type", e->type, sizeof e->type, "");
            snprintf(f, sizeof f, "%sparent", w);
            if (!name_ok(e->parent)) CHECK(bad(r, f, "'%s' is not a model name", e->parent));
            snprintf(f, sizeof f, "%schild", w);
            if (!name_ok(e->child)) CHECK(bad(r, f, "'%s' is not a model name", e->child));
            for (const char *c = e->type; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || *c == '-' || *c == '_')) {
                    snprintf(f, sizeof f, "%stype", w);
                    CHECK(bad(r, f, "'%s' is not an edge type", e->type));
                }
            r->nedges++;
        }
        r->has_edges = true;
    }
#undef CHECK
    return UL_OK;
}

/* ---- the graph ------------------------------------------------------------------------------ */

void rp_graph_free(rp_graph *g) {
    free(g->names);
    free(g->edges);
    memset(g, 0, sizeof *g);
}

static bool add_node(rp_graph *g, const char *name, size_t cap) {
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->names[i], name) == 0) return true;
    if (g->n >= cap) return false;
    snprintf(g->names[g->n++], UL_NET_NAME_MAX, "%s", name);
    return true;
}

static bool is_dir(const char *p) {
    struct stat sb;
    return p && p[0] && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

ul_status rp_graph_build(const rp_results *r, const char *network, rp_graph *g) {
    memset(g, 0, sizeof *g);
    snprintf(g->from, sizeof g->from, "none");
    if (r->has_edges) {
        size_t cap = r->n + 2 * r->nedges;
        g->names = calloc(cap ? cap : 1, sizeof *g->names);
        g->edges = calloc(r->nedges ? r->nedges : 1, sizeof *g->edges);
        if (!g->names || !g->edges) return ul_fail(UL_E_NOMEM, "out of memory building the graph");
        for (size_t i = 0; i < r->n; i++) add_node(g, r->models[i].name, cap);
        for (size_t i = 0; i < r->nedges; i++) {
            add_node(g, r->edges[i].parent, cap);
            add_node(g, r->edges[i].child, cap);
            g->edges[g->nedges++] = r->edges[i];
        }
        snprintf(g->from, sizeof g->from, "results");
        return UL_OK;
    }
    /* the network directory: as given, else relative to the results file */
    const char *dir = network && network[0] ? network : r->network;
    char alt[2100] = "";
    if (dir[0] && !is_dir(dir) && dir[0] != '/') {
        const char *slash = strrchr(r->path, '/');
        if (slash) snprintf(alt, sizeof alt, "%.*s/%s", (int)(slash - r->path), r->path, dir);
        if (is_dir(alt)) dir = alt;
    }
    ul_node *v = NULL;
    size_t nv = 0;
    ul_status st = UL_E_NOTFOUND;
    if (!dir[0]) {
        snprintf(g->note, sizeof g->note, "the results file names no network directory");
    } else {
        ul_net *net = NULL;
        st = ul_net_open(dir, true, &net);
        if (st == UL_OK) st = ul_net_list(net, &v, &nv);
        ul_net_close(net);
        if (st != UL_OK) snprintf(g->note, sizeof g->note, "the network could not be read: %s", ul_last_error());
    }
    size_t cap = r->n + nv, ne = 0;
    for (size_t i = 0; i < nv; i++) ne += (size_t)v[i].nparents;
    g->names = calloc(cap ? cap : 1, sizeof *g->names);
    g->edges = calloc(ne ? ne : 1, sizeof *g->edges);
    if (!g->names || !g->edges) {
        free(v);
        return ul_fail(UL_E_NOMEM, "out of memory building the graph");
    }
    /* creation order from the network first (a topological order), then affected models it lacks */
    for (size_t i = 0; i < nv; i++) add_node(g, v[i].name, cap);
    size_t missing = 0;
    for (size_t i = 0; i < r->n; i++) {
        bool there = false;
        for (size_t k = 0; k < nv && !there; k++) there = strcmp(v[k].name, r->models[i].name) == 0;
        missing += nv && !there;
        add_node(g, r->models[i].name, cap);
    }
    for (size_t i = 0; i < nv; i++)
        for (int p = 0; p < v[i].nparents; p++) {
            rp_edge *e = &g->edges[g->nedges++];
            snprintf(e->parent, sizeof e->parent, "%s", v[i].parents[p]);
            snprintf(e->child, sizeof e->child, "%s", v[i].name);
            snprintf(e->type, sizeof e->type, "%s", ul_edge_name(v[i].edge));
        }
    if (st == UL_OK) {
        snprintf(g->from, sizeof g->from, "network");
        snprintf(g->note, sizeof g->note, "edges from the network at %.400s", dir);
        if (missing)
            snprintf(g->note, sizeof g->note, "edges from the network at %.400s, which lacks %zu of the affected models", dir,
                     missing);
    }
    free(v);
    ul_clear_error();
    return UL_OK;
}
