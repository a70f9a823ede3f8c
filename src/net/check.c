/* ul_net_check: read-only verification of a network in one snapshot of its registry: SQLite
 * integrity and foreign keys, the schema version, model names, edges (parents exist, are older,
 * share the architecture, arity per edge type, no cycles), version numbering and replace chains,
 * parent versions, committed requests, every referenced object re-hashed, and stray, orphan or
 * temporary files in objects/; every checkpoint loads with its model's architecture (shapes, finite
 * values) and every Fisher cache holds finite non-negative values. One line per problem, "kind:
 * what" (kinds: integrity, schema, graph, version, request, missing, corrupt, checkpoint, fisher,
 * orphan, temp, stray).
 * Deliberately never modifies anything (no repair, no deletion of orphans) and opens nothing new.
 */
#include "net/net_internal.h"

#include <dirent.h>
#include <float.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

typedef struct cmodel {
    char name[UL_NET_NAME_MAX];
    int64_t seq;
    char arch[128];
    ul_arch_params ap;
    ul_edge_type edge;
    bool edge_ok;
    int np;                                     /* parent rows seen (valid or not) */
    int par[UL_NET_MAX_PARENTS];                /* model indices, -1 when missing */
    char parname[UL_NET_MAX_PARENTS][UL_NET_NAME_MAX];
    int nversions;
    int64_t last_id;
} cmodel;

typedef struct cversion {
    int64_t id;
    int model;     /* index into models, -1 when the model is missing */
    int version;
    int nvp;       /* version_parents rows seen */
} cversion;

typedef struct cref {
    char key[84];  /* "<hex>.<ext>" */
    char who[160];
    int model;     /* index into models for checkpoints and Fisher caches, else -1 */
} cref;

typedef struct chk {
    ul_net *n;
    char *buf;
    size_t len, cap, count;
    bool oom;
    cmodel *m;
    size_t nm;
    size_t *by_name;
    cversion *v;
    size_t nv, capv;
    cref *refs;
    size_t nrefs, caprefs;
    char (*jhex)[65];  /* hashes named anywhere in recipes, selectors and requests */
    size_t njhex, capjhex;
} chk;

static void problem(chk *c, const char *fmt, ...) UL_PRINTF(2, 3);
static void problem(chk *c, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t l = strlen(line);
    if (c->len + l + 2 > c->cap) {
        size_t nc = (c->cap ? c->cap * 2 : 1024) + l + 2;
        char *nb = realloc(c->buf, nc);
        if (!nb) {
            c->oom = true;
            return;
        }
        c->buf = nb;
        c->cap = nc;
    }
    memcpy(c->buf + c->len, line, l);
    c->len += l;
    c->buf[c->len++] = '\n';
    c->buf[c->len] = '\0';
    c->count++;
}

/* Grow *p (elements of `size`) to hold `need`; false (and c->oom) on failure. */
static bool grow(chk *c, void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc < need) nc = need;
    void *np = realloc(*p, nc * size);
    if (!np) {
        c->oom = true;
        return false;
    }
    *p = np;
    *cap = nc;
    return true;
}

static void add_ref(chk *c, const char *hex, const char *ext, const char *who, int model) {
    if (!grow(c, (void **)&c->refs, &c->caprefs, c->nrefs + 1, sizeof *c->refs)) return;
    cref *r = &c->refs[c->nrefs++];
    snprintf(r->key, sizeof r->key, "%s.%s", hex, ext);
    snprintf(r->who, sizeof r->who, "%s", who);
    r->model = model;
}

/* Every string value in a JSON tree that is a SHA-256 counts as a reference to an object. */
static void collect_hex(chk *c, const cJSON *j) {
    for (; j; j = j->next) {
        if (cJSON_IsString(j) && ul_net_hex_ok(j->valuestring) &&
            grow(c, (void **)&c->jhex, &c->capjhex, c->njhex + 1, sizeof *c->jhex))
            memcpy(c->jhex[c->njhex++], j->valuestring, 65);
        if (j->child) collect_hex(c, j->child);
    }
}

/* Parse JSON text, collect the hashes it names; false when it is not a JSON object. */
static bool json_refs(chk *c, const char *text) {
    cJSON *j = text ? cJSON_ParseWithOpts(text, NULL, true) : NULL;
    bool ok = cJSON_IsObject(j);
    if (j) collect_hex(c, j);
    cJSON_Delete(j);
    return ok;
}

static _Thread_local const chk *t_chk; /* qsort context */

static int cmp_model_name(const void *a, const void *b) {
    return strcmp(t_chk->m[*(const size_t *)a].name, t_chk->m[*(const size_t *)b].name);
}

static int find_model(const chk *c, const char *name) {
    size_t lo = 0, hi = c->nm;
    while (name && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->m[c->by_name[mid]].name, name);
        if (r == 0) return (int)c->by_name[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

static ul_status step_error(chk *c, int rc, const char *what) { return ul_net_sql_fail(c->n, rc, what); }

static const char *txt(sqlite3_stmt *s, int col) {
    const char *t = (const char *)sqlite3_column_text(s, col);
    return t ? t : "";
}

/* ---- registry-level checks ---------------------------------------------------------- */

static ul_status check_integrity(chk *c) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(c->n, "PRAGMA integrity_check", &s);
    if (st != UL_OK) return st;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (strcmp(txt(s, 0), "ok") != 0) problem(c, "integrity: " UL_NET_DB ": %s", txt(s, 0));
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return step_error(c, rc, "checking integrity");
    if ((st = ul_net_prepare(c->n, "PRAGMA foreign_key_check", &s)) != UL_OK) return st;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        problem(c, "integrity: table %s row %lld refers to a missing row of %s", txt(s, 0),
                (long long)sqlite3_column_int64(s, 1), txt(s, 2));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? UL_OK : step_error(c, rc, "checking foreign keys");
}

static ul_status check_meta(chk *c) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(c->n, "SELECT key, value FROM meta", &s);
    if (st != UL_OK) return st;
    char expect[16];
    snprintf(expect, sizeof expect, "%d", UL_NET_VERSION);
    bool fmt = false, ver = false;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (strcmp(txt(s, 0), "format") == 0) fmt = strcmp(txt(s, 1), UL_NET_FORMAT) == 0;
        if (strcmp(txt(s, 0), "version") == 0) ver = strcmp(txt(s, 1), expect) == 0;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return step_error(c, rc, "reading meta");
    if (!fmt) problem(c, "schema: meta.format is not '" UL_NET_FORMAT "'");
    if (!ver) problem(c, "schema: meta.version is not '%s'", expect);
    return UL_OK;
}

static ul_status load_models(chk *c) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(c->n,
                                  "SELECT name, created_seq, arch, in_c, in_h, in_w, classes, width, edge, learned,"
                                  " inherited, own, own_hash, recipe FROM models ORDER BY created_seq",
                                  &s);
    if (st != UL_OK) return st;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!grow(c, (void **)&c->m, &cap, c->nm + 1, sizeof *c->m)) break;
        cmodel *m = &c->m[c->nm++];
        memset(m, 0, sizeof *m);
        if (!ul_net_col_text(s, 0, m->name, sizeof m->name) || !ul_net_name_ok(m->name))
            problem(c, "graph: model name '%.80s' is not valid", txt(s, 0));
        m->seq = sqlite3_column_int64(s, 1);
        if (!ul_net_col_text(s, 2, m->arch, sizeof m->arch)) problem(c, "graph: model '%s': arch is missing or too long", m->name);
        m->ap.in_c = sqlite3_column_int(s, 3);
        m->ap.in_h = sqlite3_column_int(s, 4);
        m->ap.in_w = sqlite3_column_int(s, 5);
        m->ap.classes = sqlite3_column_int(s, 6);
        m->ap.width = (float)sqlite3_column_double(s, 7);
        m->edge_ok = ul_edge_parse(txt(s, 8), &m->edge) == UL_OK;
        if (!m->edge_ok) problem(c, "graph: model '%s': unknown edge type '%.32s'", m->name, txt(s, 8));
        for (int k = 0; k < 2; k++) {
            int32_t *lab;
            size_t nl;
            const char *set = txt(s, 9 + k);
            int classes = m->ap.classes > 0 ? m->ap.classes : 1;
            if (strlen(set) >= UL_NET_LABELS_MAX || ul_net_parse_labels(set, classes, &lab, &nl) != UL_OK)
                problem(c, "graph: model '%s': %s label set '%.80s' is not valid", m->name, k ? "inherited" : "learned", set);
            else
                free(lab);
        }
        ul_data_selector own;
        if (ul_selector_from_json(txt(s, 11), &own) != UL_OK)
            problem(c, "graph: model '%s': own data selector: %s", m->name, ul_last_error());
        else if (own.exclude[0]) {
            char who[160];
            snprintf(who, sizeof who, "exclusion list of model '%s'", m->name);
            add_ref(c, own.exclude, "ids", who, -1);
        }
        json_refs(c, txt(s, 11));
        const char *oh = txt(s, 12);
        if (oh[0] && !ul_net_hex_ok(oh)) problem(c, "graph: model '%s': own_hash '%.80s' is not a SHA-256", m->name, oh);
        if (!json_refs(c, txt(s, 13))) problem(c, "graph: model '%s': recipe is not a JSON object", m->name);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return step_error(c, rc, "reading models");
    if (c->oom) return UL_E_NOMEM;
    c->by_name = ul_calloc(c->nm ? c->nm : 1, sizeof *c->by_name);
    if (!c->by_name) return UL_E_NOMEM;
    for (size_t i = 0; i < c->nm; i++) c->by_name[i] = i;
    t_chk = c;
    if (c->nm) qsort(c->by_name, c->nm, sizeof *c->by_name, cmp_model_name);
    t_chk = NULL;
    return UL_OK;
}

static ul_status check_edges(chk *c) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(c->n, "SELECT child, pos, parent FROM parents ORDER BY child, pos", &s);
    if (st != UL_OK) return st;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *cn = txt(s, 0), *pn = txt(s, 2);
        int ci = find_model(c, cn), pi = find_model(c, pn);
        int pos = sqlite3_column_int(s, 1);
        if (ci < 0 || pi < 0) {
            problem(c, "graph: edge '%s' -> '%s' names a missing model", pn, cn);
            if (ci < 0) continue;
        }
        cmodel *m = &c->m[ci];
        if (m->np >= UL_NET_MAX_PARENTS) {
            problem(c, "graph: model '%s' has more than %d parents", m->name, UL_NET_MAX_PARENTS);
            continue;
        }
        if (pos != m->np) problem(c, "graph: model '%s': parent positions are not 0..k-1 (found %d at %d)", m->name, pos, m->np);
        m->par[m->np] = pi;
        snprintf(m->parname[m->np], UL_NET_NAME_MAX, "%s", pn);
        m->np++;
        if (pi < 0) continue;
        const cmodel *p = &c->m[pi];
        if (pi == ci) problem(c, "graph: model '%s' is its own parent", m->name);
        else if (p->seq >= m->seq)
            problem(c, "graph: model '%s': parent '%s' is not older (created_seq %lld >= %lld)", m->name, p->name,
                    (long long)p->seq, (long long)m->seq);
        if (!ul_net_same_arch(m->arch, &m->ap, p->arch, &p->ap))
            problem(c, "graph: model '%s': architecture '%s' (%dx%dx%d, %d classes) differs from parent '%s': '%s' "
                       "(%dx%dx%d, %d classes)",
                    m->name, m->arch, m->ap.in_c, m->ap.in_h, m->ap.in_w, m->ap.classes, p->name, p->arch, p->ap.in_c,
                    p->ap.in_h, p->ap.in_w, p->ap.classes);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return step_error(c, rc, "reading parent edges");
    for (size_t i = 0; i < c->nm; i++) {
        const cmodel *m = &c->m[i];
        const char *why = m->edge_ok ? ul_net_arity_problem(m->edge, m->np) : NULL;
        if (why) problem(c, "graph: model '%s': edge '%s' with %d parents: %s", m->name, ul_edge_name(m->edge), m->np, why);
    }
    return UL_OK;
}

/* Kahn's algorithm over the parent edges; whatever is left lies on or below a cycle. */
static ul_status check_cycles(chk *c) {
    size_t n = c->nm;
    int *indeg = ul_calloc(n ? n : 1, sizeof *indeg);
    size_t *queue = ul_calloc(n ? n : 1, sizeof *queue);
    bool *done = ul_calloc(n ? n : 1, sizeof *done);
    if (!indeg || !queue || !done) {
        free(indeg);
        free(queue);
        free(done);
        return UL_E_NOMEM;
    }
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < c->m[i].np; j++) indeg[i] += c->m[i].par[j] >= 0;
        if (!indeg[i]) queue[tail++] = i;
    }
    while (head < tail) {
        size_t p = queue[head++];
        done[p] = true;
        for (size_t i = 0; i < n; i++) /* O(n^2): networks are small and check is not a hot path */
            for (int j = 0; j < c->m[i].np; j++)
                if (c->m[i].par[j] == (int)p && --indeg[i] == 0) queue[tail++] = i;
    }
    if (tail < n) {
        char names[600] = "";
        size_t len = 0, shown = 0;
        for (size_t i = 0; i < n; i++)
            if (!done[i] && shown < 8) {
                int k = snprintf(names + len, sizeof names - len, "%s'%s'", shown ? ", " : "", c->m[i].name);
                if (k > 0 && (size_t)k < sizeof names - len) len += (size_t)k;
                shown++;
            }
        problem(c, "graph: cycle: %zu models lie on or below a cycle (%s%s)", n - tail, names, n - tail > shown ? ", ..." : "");
    }
    free(indeg);
    free(queue);
    free(done);
    return UL_OK;
}

static int cmp_version_id(const void *a, const void *b) {
    int64_t x = ((const cversion *)a)->id, y = ((const cversion *)b)->id;
    return (x > y) - (x < y);
}

static ul_status check_versions(chk *c) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(c->n,
                                  "SELECT id, name, version, ckpt, fisher, replaces, request FROM versions"
                                  " ORDER BY name, version, id",
                                  &s);
    if (st != UL_OK) return st;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        const char *name = txt(s, 1);
        int ver = sqlite3_column_int(s, 2);
        int mi = find_model(c, name);
        if (!grow(c, (void **)&c->v, &c->capv, c->nv + 1, sizeof *c->v)) break;
        c->v[c->nv++] = (cversion){.id = id, .model = mi, .version = ver, .nvp = 0};
        if (mi < 0) {
            problem(c, "version: version id %lld names a missing model '%.80s'", (long long)id, name);
            continue;
        }
        cmodel *m = &c->m[mi];
        if (ver != m->nversions + 1)
            problem(c, "version: model '%s': versions are not numbered 1..k without gaps (v%d follows v%d)", m->name, ver,
                    m->nversions);
        bool has_repl = sqlite3_column_type(s, 5) != SQLITE_NULL, has_req = sqlite3_column_type(s, 6) != SQLITE_NULL;
        int64_t repl = sqlite3_column_int64(s, 5);
        if (ver == 1 && (has_repl || has_req))
            problem(c, "version: model '%s' v1 (id %lld) records a replaced version or a request", m->name, (long long)id);
        if (ver > 1) {
            if (!has_repl || repl != m->last_id)
                problem(c, "version: model '%s' v%d (id %lld) replaces %lld, expected the previous version %lld", m->name,
                        ver, (long long)id, (long long)repl, (long long)m->last_id);
            if (!has_req) problem(c, "version: model '%s' v%d (id %lld) records no request", m->name, ver, (long long)id);
        }
        if (m->nversions && id <= m->last_id)
            problem(c, "version: model '%s' v%d has id %lld, not above v%d's id %lld", m->name, ver, (long long)id,
                    m->nversions, (long long)m->last_id);
        m->nversions = ver;
        m->last_id = id;
        char who[160];
        const char *ck = txt(s, 3), *fi = txt(s, 4);
        snprintf(who, sizeof who, "checkpoint of model '%s' v%d", m->name, ver);
        if (!ul_net_hex_ok(ck)) problem(c, "version: %s: ckpt '%.80s' is not a SHA-256", who, ck);
        else add_ref(c, ck, "safetensors", who, mi);
        snprintf(who, sizeof who, "Fisher cache of model '%s' v%d", m->name, ver);
        if (fi[0] && !ul_net_hex_ok(fi)) problem(c, "version: %s: fisher '%.80s' is not a SHA-256", who, fi);
        else if (fi[0]) add_ref(c, fi, "fisher", who, mi);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return step_error(c, rc, "reading versions");
    if (c->oom) return UL_E_NOMEM;
    for (size_t i = 0; i < c->nm; i++)
        if (!c->m[i].nversions) problem(c, "version: model '%s' has no version", c->m[i].name);
    if (c->nv) qsort(c->v, c->nv, sizeof *c->v, cmp_version_id);

    if ((st = ul_net_prepare(c->n,
                             "SELECT vp.version_id, vp.pos, vp.parent_version_id, pv.name FROM version_parents vp"
                             " LEFT JOIN versions pv ON pv.id = vp.parent_version_id ORDER BY vp.version_id, vp.pos",
                             &s)) != UL_OK)
        return st;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cversion key = {.id = sqlite3_column_int64(s, 0)};
        cversion *v = c->nv ? bsearch(&key, c->v, c->nv, sizeof *c->v, cmp_version_id) : NULL;
        if (!v || v->model < 0) continue; /* reported by the foreign-key check or above */
        const cmodel *m = &c->m[v->model];
        int pos = sqlite3_column_int(s, 1);
        int64_t pid = sqlite3_column_int64(s, 2);
        const char *pname = sqlite3_column_type(s, 3) == SQLITE_NULL ? NULL : txt(s, 3);
        if (pos != v->nvp || pos >= m->np)
            problem(c, "version: model '%s' v%d: parent version at position %d does not match its %d parents", m->name,
                    v->version, pos, m->np);
        else if (!pname || strcmp(pname, m->parname[pos]) != 0)
            problem(c, "version: model '%s' v%d: parent version %lld at position %d belongs to '%s', expected '%s'", m->name,
                    v->version, (long long)pid, pos, pname ? pname : "(missing)", m->parname[pos]);
        else if (pid >= v->id)
            problem(c, "version: model '%s' v%d (id %lld): parent version %lld is not older", m->name, v->version,
                    (long long)v->id, (long long)pid);
        v->nvp++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return step_error(c, rc, "reading parent versions");
    for (size_t i = 0; i < c->nv; i++) {
        const cversion *v = &c->v[i];
        if (v->model >= 0 && v->nvp != c->m[v->model].np)
            problem(c, "version: model '%s' v%d records %d parent versions for %d parents", c->m[v->model].name, v->version,
                    v->nvp, c->m[v->model].np);
    }
    return UL_OK;
}

static ul_status check_requests(chk *c) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(c->n, "SELECT id, request, receipt FROM requests ORDER BY id", &s);
    if (st != UL_OK) return st;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        long long id = (long long)sqlite3_column_int64(s, 0);
        if (!json_refs(c, txt(s, 1))) problem(c, "request: request %lld: the request is not a JSON object", id);
        if (sqlite3_column_type(s, 2) == SQLITE_NULL) problem(c, "request: request %lld has no receipt (never committed)", id);
        else if (!json_refs(c, txt(s, 2))) problem(c, "request: request %lld: the receipt is not a JSON object", id);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? UL_OK : step_error(c, rc, "reading requests");
}

/* ---- objects ------------------------------------------------------------------------ */

static int cmp_ref(const void *a, const void *b) { return strcmp(((const cref *)a)->key, ((const cref *)b)->key); }
static int cmp_hex(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* An object that hashes right can still be wrong for what names it: a checkpoint of another
 * architecture, or with NaN/Inf values (written by a tool other than ours, or registered by hand);
 * a Fisher cache with negative or non-finite values, which would turn dampening factors negative
 * or infinite. refs[first..k) share the object; a checkpoint is loaded once per architecture. */
static void verify_content(chk *c, const cref *r, const char *path, size_t first, size_t k) {
    if (r->model < 0) return;
    const cmodel *m = &c->m[r->model];
    const char *ext = r->key + 65;
    if (strcmp(ext, "safetensors") == 0) {
        for (size_t q = first; q < k; q++) {
            const cref *o = &c->refs[q];
            if (o->model >= 0 && ul_net_same_arch(c->m[o->model].arch, &c->m[o->model].ap, m->arch, &m->ap)) return;
        }
        ul_model *mod = NULL;
        if (ul_ckpt_load(path, m->arch, &m->ap, &mod, NULL) != UL_OK)
            problem(c, "checkpoint: " UL_NET_OBJECTS "/%s (%s) does not load as the registry's '%s': %s", r->key, r->who,
                    m->arch, ul_last_error());
        ul_model_free(mod);
    } else if (strcmp(ext, "fisher") == 0) {
        ul_st_file *f = NULL;
        if (ul_st_read(path, &f) != UL_OK) {
            problem(c, "fisher: " UL_NET_OBJECTS "/%s (%s) is not a safetensors file: %s", r->key, r->who, ul_last_error());
            return;
        }
        const ul_st_tensor *t = ul_st_find(f, "fisher");
        if (!t || t->dtype != UL_DT_F32 || t->ndim != 1) {
            problem(c, "fisher: " UL_NET_OBJECTS "/%s (%s) has no 1-D F32 tensor 'fisher'", r->key, r->who);
        } else {
            size_t bad = 0, first_bad = 0;
            float v = 0.0f, bad_v = 0.0f;
            for (size_t e = 0; e < (size_t)t->shape[0]; e++) {
                memcpy(&v, t->data + e * sizeof v, sizeof v);
                if (!(v >= 0.0f && v <= FLT_MAX)) {
                    if (!bad++) {
                        first_bad = e;
                        bad_v = v;
                    }
                }
            }
            if (bad)
                problem(c, "fisher: " UL_NET_OBJECTS "/%s (%s): %zu values are negative or non-finite (element %zu is %g)",
                        r->key, r->who, bad, first_bad, (double)bad_v);
        }
        ul_st_free(f);
    }
}

static void verify_objects(chk *c) {
    if (c->nrefs) qsort(c->refs, c->nrefs, sizeof *c->refs, cmp_ref);
    for (size_t i = 0; i < c->nrefs;) {
        size_t j = i + 1;
        while (j < c->nrefs && strcmp(c->refs[j].key, c->refs[i].key) == 0) j++;
        const cref *r = &c->refs[i];
        char more[48] = "";
        if (j - i > 1) snprintf(more, sizeof more, " and %zu more", j - i - 1);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/%s", c->n->dir, UL_NET_OBJECTS, r->key);
        struct stat sb;
        char got[65];
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            problem(c, "missing: " UL_NET_OBJECTS "/%s (%s%s) does not exist", r->key, r->who, more);
        else if (ul_sha256_file(path, got) != UL_OK)
            problem(c, "corrupt: " UL_NET_OBJECTS "/%s (%s%s) cannot be read: %s", r->key, r->who, more, ul_last_error());
        else if (strncmp(got, r->key, 64) != 0)
            problem(c, "corrupt: " UL_NET_OBJECTS "/%s (%s%s) hashes to %s", r->key, r->who, more, got);
        else
            for (size_t k = i; k < j; k++) verify_content(c, &c->refs[k], path, i, k);
        i = j;
    }
}

static bool object_name(const char *f, char hex[65]) {
    if (strlen(f) < 66 || f[64] != '.' || !ul_net_ext_ok(f + 65)) return false;
    memcpy(hex, f, 64);
    hex[64] = '\0';
    return ul_net_hex_ok(hex);
}

static ul_status scan_objects(chk *c) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", c->n->dir, UL_NET_OBJECTS);
    DIR *d = opendir(dir);
    if (!d) {
        problem(c, "missing: " UL_NET_OBJECTS "/ cannot be read");
        return UL_OK;
    }
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *copy = ul_malloc(strlen(e->d_name) + 1, 1);
        if (!copy || !grow(c, (void **)&names, &cap, nn + 1, sizeof *names)) {
            free(copy);
            c->oom = true;
            break;
        }
        strcpy(copy, e->d_name);
        names[nn++] = copy;
    }
    closedir(d);
    if (!c->oom) {
        if (nn) qsort(names, nn, sizeof *names, cmp_str);
        if (c->njhex) qsort(c->jhex, c->njhex, sizeof *c->jhex, cmp_hex);
        for (size_t i = 0; i < nn; i++) {
            const char *f = names[i];
            char hex[65];
            cref key;
            snprintf(key.key, sizeof key.key, "%s", f);
            if (strstr(f, ".tmp.")) problem(c, "temp: " UL_NET_OBJECTS "/%s is a leftover temporary file", f);
            else if (!object_name(f, hex)) problem(c, "stray: " UL_NET_OBJECTS "/%s is not an object name", f);
            else if (!(c->nrefs && bsearch(&key, c->refs, c->nrefs, sizeof *c->refs, cmp_ref)) &&
                     !(c->njhex && bsearch(hex, c->jhex, c->njhex, sizeof *c->jhex, cmp_hex)))
                problem(c, "orphan: " UL_NET_OBJECTS "/%s is not referenced", f);
        }
    }
    for (size_t i = 0; i < nn; i++) free(names[i]);
    free(names);
    return c->oom ? UL_E_NOMEM : UL_OK;
}

ul_status ul_net_check(ul_net *n, char **report, size_t *problems) {
    if (report) *report = NULL;
    if (problems) *problems = 0;
    if (!n || !report || !problems) return ul_fail(UL_E_ARG, "ul_net_check: NULL argument");
    chk c;
    memset(&c, 0, sizeof c);
    c.n = n;
    bool started;
    ul_status st = ul_net_read_begin(n, &started);
    if (st == UL_OK) {
        st = check_integrity(&c);
        if (st == UL_OK) st = check_meta(&c);
        if (st == UL_OK) st = load_models(&c);
        if (st == UL_OK) st = check_edges(&c);
        if (st == UL_OK) st = check_cycles(&c);
        if (st == UL_OK) st = check_versions(&c);
        if (st == UL_OK) st = check_requests(&c);
        ul_net_read_end(n, started);
    }
    if (st == UL_OK && !c.oom) verify_objects(&c);
    if (st == UL_OK && !c.oom) st = scan_objects(&c);
    if (st == UL_OK && c.oom) st = ul_fail(UL_E_NOMEM, "network '%s': out of memory while checking", n->dir);
    if (st == UL_OK && !c.buf) {
        c.buf = ul_calloc(1, 1);
        if (!c.buf) st = UL_E_NOMEM;
    }
    free(c.m);
    free(c.by_name);
    free(c.v);
    free(c.refs);
    free(c.jhex);
    if (st != UL_OK) {
        free(c.buf);
        return st;
    }
    *report = c.buf;
    *problems = c.count;
    return UL_OK;
}
