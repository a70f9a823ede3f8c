/* Graph queries over the current models of a network: ancestors, descendants, topological
 * (creation) order, the roots of a label set and the affected closure of a request. The graph is
 * loaded in one read snapshot; because every parent is older than its child, creation order is a
 * topological order and each query is one forward or backward pass over it (O(models + edges)).
 * Deliberately no caching between calls and no version-level graph (results are model names).
 */
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

void ul_net_graph_free(ul_net_graph *g) {
    if (!g) return;
    free(g->names);
    free(g->classes);
    free(g->learned);
    free(g->npar);
    free(g->par);
    free(g->by_name);
    memset(g, 0, sizeof *g);
}

static _Thread_local const ul_net_graph *t_sort_graph; /* qsort has no context argument */

static int cmp_by_name(const void *a, const void *b) {
    const ul_net_graph *g = t_sort_graph;
    return strcmp(g->names[*(const size_t *)a], g->names[*(const size_t *)b]);
}

int ul_net_graph_find(const ul_net_graph *g, const char *name) {
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->names[g->by_name[mid]], name);
        if (c == 0) return (int)g->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* Read the models (creation order) into g; allocates every array. */
static ul_status load_models(ul_net *n, ul_net_graph *g) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(n, "SELECT COUNT(*) FROM models", &s);
    if (st != UL_OK) return st;
    int rc = sqlite3_step(s);
    int64_t count = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return ul_net_sql_fail(n, rc, "counting models");
    if (count < 0 || count > INT32_MAX) return ul_net_fail(n, UL_E_FORMAT, NULL, "models", "bad model count");
    size_t m = (size_t)count;
    g->names = ul_calloc(m, sizeof *g->names);
    g->classes = ul_calloc(m, sizeof *g->classes);
    g->learned = ul_calloc(m, sizeof *g->learned);
    g->npar = ul_calloc(m, sizeof *g->npar);
    g->par = ul_calloc(m, sizeof *g->par);
    g->by_name = ul_calloc(m, sizeof *g->by_name);
    if (!g->names || !g->classes || !g->learned || !g->npar || !g->par || !g->by_name) return UL_E_NOMEM;
    if ((st = ul_net_prepare(n, "SELECT name, classes, learned FROM models ORDER BY created_seq", &s)) != UL_OK) return st;
    size_t k = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < m) {
        if (!ul_net_col_text(s, 0, g->names[k], UL_NET_NAME_MAX) ||
            !ul_net_col_text(s, 2, g->learned[k], UL_NET_LABELS_MAX)) {
            st = ul_net_fail(n, UL_E_FORMAT, NULL, "models", "row %zu has a missing or too long name or label set", k);
            break;
        }
        g->classes[k] = sqlite3_column_int(s, 1);
        g->by_name[k] = k;
        k++;
    }
    if (st == UL_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) st = ul_net_sql_fail(n, rc, "reading models");
    sqlite3_finalize(s);
    if (st != UL_OK) return st;
    g->n = k;
    t_sort_graph = g;
    qsort(g->by_name, g->n, sizeof *g->by_name, cmp_by_name);
    t_sort_graph = NULL;
    return UL_OK;
}

static ul_status load_edges(ul_net *n, ul_net_graph *g) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(n, "SELECT child, parent FROM parents ORDER BY child, pos", &s);
    if (st != UL_OK) return st;
    int rc;
    while (st == UL_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(s, 0), *p = (const char *)sqlite3_column_text(s, 1);
        int ci = c ? ul_net_graph_find(g, c) : -1, pi = p ? ul_net_graph_find(g, p) : -1;
        if (ci < 0 || pi < 0)
            st = ul_net_fail(n, UL_E_FORMAT, c ? c : "?", "parents",
                             "edge %s -> %s names a missing model (the registry is inconsistent; run `unlearn net check`)",
                             p ? p : "?", c ? c : "?");
        else if (pi >= ci)
            st = ul_net_fail(n, UL_E_FORMAT, c, "parents",
                             "parent '%s' was created after it (the registry is inconsistent; run `unlearn net check`)", p);
        else if (g->npar[ci] >= UL_NET_MAX_PARENTS)
            st = ul_net_fail(n, UL_E_FORMAT, c, "parents", "more than %d parents", UL_NET_MAX_PARENTS);
        else
            g->par[ci][g->npar[ci]++] = pi;
    }
    if (st == UL_OK && rc != SQLITE_DONE) st = ul_net_sql_fail(n, rc, "reading parent edges");
    sqlite3_finalize(s);
    return st;
}

ul_status ul_net_graph_load(ul_net *n, ul_net_graph *g) {
    memset(g, 0, sizeof *g);
    bool started;
    ul_status st = ul_net_read_begin(n, &started);
    if (st != UL_OK) return st;
    st = load_models(n, g);
    if (st == UL_OK) st = load_edges(n, g);
    ul_net_read_end(n, started);
    if (st != UL_OK) ul_net_graph_free(g);
    return st;
}

/* The marked models as a name list in creation order. */
static ul_status to_list(const ul_net_graph *g, const unsigned char *mark, ul_name_list *out) {
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++) k += mark[i] != 0;
    out->names = NULL;
    out->n = 0;
    if (!k) return UL_OK;
    out->names = ul_malloc(k, sizeof *out->names);
    if (!out->names) return UL_E_NOMEM;
    for (size_t i = 0; i < g->n; i++)
        if (mark[i]) memcpy(out->names[out->n++], g->names[i], UL_NET_NAME_MAX);
    return UL_OK;
}

void ul_name_list_free(ul_name_list *l) {
    if (!l) return;
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

/* Mark everything reachable from the marked models: downward (children) or upward (parents).
 * Seeds stay marked. */
static void propagate(const ul_net_graph *g, unsigned char *mark, bool down) {
    if (down) {
        for (size_t i = 0; i < g->n; i++)
            for (int j = 0; j < g->npar[i] && !mark[i]; j++)
                if (mark[g->par[i][j]]) mark[i] = 1;
    } else {
        for (size_t i = g->n; i-- > 0;)
            if (mark[i])
                for (int j = 0; j < g->npar[i]; j++) mark[g->par[i][j]] = 1;
    }
}

/* Common start of the queries: graph, a zeroed mark array, and the output cleared. */
static ul_status query_start(ul_net *n, ul_net_graph *g, unsigned char **mark, ul_name_list *out) {
    if (out) {
        out->names = NULL;
        out->n = 0;
    }
    if (!n || !out) return ul_fail(UL_E_ARG, "net graph query: NULL argument");
    ul_status st = ul_net_graph_load(n, g);
    if (st != UL_OK) return st;
    *mark = ul_calloc(g->n ? g->n : 1, 1);
    if (!*mark) {
        ul_net_graph_free(g);
        return UL_E_NOMEM;
    }
    return UL_OK;
}

static ul_status relatives(ul_net *n, const char *name, bool down, ul_name_list *out) {
    ul_net_graph g;
    unsigned char *mark = NULL;
    ul_status st = query_start(n, &g, &mark, out);
    if (st != UL_OK) return st;
    int i = name ? ul_net_graph_find(&g, name) : -1;
    if (i < 0) {
        st = ul_net_fail(n, UL_E_NOTFOUND, NULL, NULL, "no model named '%s'", name ? name : "(null)");
    } else {
        mark[i] = 1;
        propagate(&g, mark, down);
        mark[i] = 0;
        st = to_list(&g, mark, out);
    }
    free(mark);
    ul_net_graph_free(&g);
    return st;
}

ul_status ul_net_ancestors(ul_net *n, const char *name, ul_name_list *out) { return relatives(n, name, false, out); }

ul_status ul_net_descendants(ul_net *n, const char *name, ul_name_list *out) { return relatives(n, name, true, out); }

ul_status ul_net_topo_order(ul_net *n, ul_name_list *out) {
    ul_net_graph g;
    unsigned char *mark = NULL;
    ul_status st = query_start(n, &g, &mark, out); /* loading verifies parents precede children */
    if (st != UL_OK) return st;
    memset(mark, 1, g.n);
    st = to_list(&g, mark, out);
    free(mark);
    ul_net_graph_free(&g);
    return st;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

ul_status ul_net_roots(ul_net *n, const int32_t *labels, size_t nlabels, ul_name_list *out) {
    if (!labels && nlabels) {
        if (out) out->names = NULL, out->n = 0;
        return ul_fail(UL_E_ARG, "ul_net_roots: NULL labels");
    }
    for (size_t k = 0; k < nlabels; k++)
        if (labels[k] < 0) {
            if (out) out->names = NULL, out->n = 0;
            return ul_net_fail(n, UL_E_ARG, NULL, "labels", "label %d is negative", (int)labels[k]);
        }
    ul_net_graph g;
    unsigned char *mark = NULL;
    ul_status st = query_start(n, &g, &mark, out);
    if (st != UL_OK) return st;
    /* learned sets, parsed once */
    int32_t **sets = ul_calloc(g.n ? g.n : 1, sizeof *sets);
    size_t *sizes = ul_calloc(g.n ? g.n : 1, sizeof *sizes);
    unsigned char *has = ul_calloc(g.n ? g.n : 1, 1), *above = ul_calloc(g.n ? g.n : 1, 1);
    if (!sets || !sizes || !has || !above) st = UL_E_NOMEM;
    /* a label no model can output is a mistake in the request, not "nobody learned it" */
    int kmax = 0;
    for (size_t i = 0; i < g.n; i++)
        if (g.classes[i] > kmax) kmax = g.classes[i];
    for (size_t k = 0; k < nlabels && st == UL_OK && g.n > 0; k++)
        if (labels[k] >= kmax)
            st = ul_net_fail(n, UL_E_ARG, NULL, "labels",
                             "label %d is outside the classes of the network's models (%d classes: labels 0-%d)",
                             (int)labels[k], kmax, kmax - 1);
    for (size_t i = 0; i < g.n && st == UL_OK; i++) {
        st = ul_net_parse_labels(g.learned[i], g.classes[i], &sets[i], &sizes[i]);
        if (st != UL_OK) st = ul_net_fail(n, UL_E_FORMAT, g.names[i], "learned", "%s", ul_last_error());
    }
    for (size_t k = 0; k < nlabels && st == UL_OK; k++) {
        for (size_t i = 0; i < g.n; i++) {
            int32_t l = labels[k];
            has[i] = sizes[i] && bsearch(&l, sets[i], sizes[i], sizeof l, cmp_i32) != NULL;
            /* above[i]: some ancestor of i learned l from its own data (parents come first) */
            above[i] = 0;
            for (int j = 0; j < g.npar[i]; j++) {
                int p = g.par[i][j];
                if (has[p] || above[p]) above[i] = 1;
            }
            if (has[i] && !above[i]) mark[i] = 1;
        }
    }
    if (st == UL_OK) st = to_list(&g, mark, out);
    for (size_t i = 0; sets && i < g.n; i++) free(sets[i]);
    free(sets);
    free(sizes);
    free(has);
    free(above);
    free(mark);
    ul_net_graph_free(&g);
    return st;
}

ul_status ul_net_closure(ul_net *n, const ul_name_list *roots, ul_name_list *out) {
    if (!roots || (roots->n && !roots->names)) {
        if (out) out->names = NULL, out->n = 0;
        return ul_fail(UL_E_ARG, "ul_net_closure: NULL roots");
    }
    ul_net_graph g;
    unsigned char *mark = NULL;
    ul_status st = query_start(n, &g, &mark, out);
    if (st != UL_OK) return st;
    for (size_t k = 0; k < roots->n && st == UL_OK; k++) {
        char name[UL_NET_NAME_MAX];
        memcpy(name, roots->names[k], UL_NET_NAME_MAX);
        name[UL_NET_NAME_MAX - 1] = '\0';
        int i = ul_net_graph_find(&g, name);
        if (i < 0) st = ul_net_fail(n, UL_E_NOTFOUND, NULL, "roots", "no model named '%s'", name);
        else mark[i] = 1;
    }
    if (st == UL_OK) {
        propagate(&g, mark, true);
        st = to_list(&g, mark, out);
    }
    free(mark);
    ul_net_graph_free(&g);
    return st;
}
