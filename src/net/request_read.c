/* ul_net_get_request: one committed row of the requests table (written by ul_net_begin and
 * ul_net_commit in registry.c) by id, or the latest one of a kind. Read in one snapshot; works on
 * a read-only handle. Deliberately only reads: the receipt is returned as stored, its JSON is
 * neither parsed nor checked here (src/report/receipt.c does that).
 */
#include "net/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ul_net_request_free(ul_net_request *r) {
    if (!r) return;
    free(r->request);
    free(r->receipt);
    r->request = r->receipt = NULL;
}

static char *dup_col(sqlite3_stmt *s, int col, const char *fallback) {
    const char *t = (const char *)sqlite3_column_text(s, col);
    if (!t) t = fallback;
    size_t len = strlen(t);
    char *d = malloc(len + 1);
    if (d) memcpy(d, t, len + 1);
    return d;
}

/* "requests 1-4" / "no requests" for messages about a missing id. */
static void describe_ids(ul_net *n, const char *kind, char *buf, size_t cap) {
    sqlite3_stmt *s = NULL;
    snprintf(buf, cap, "its requests could not be listed");
    if (ul_net_prepare(n, "SELECT COUNT(*), MIN(id), MAX(id) FROM requests WHERE receipt IS NOT NULL"
                          " AND (?1 IS NULL OR kind = ?1)", &s) != UL_OK)
        return;
    if (kind) sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        long long c = sqlite3_column_int64(s, 0), lo = sqlite3_column_int64(s, 1), hi = sqlite3_column_int64(s, 2);
        const char *k = kind ? kind : "";
        if (c == 0) snprintf(buf, cap, "it has no %s%srequests", k, kind ? " " : "");
        else if (c == 1) snprintf(buf, cap, "it has one %s%srequest: %lld", k, kind ? " " : "", lo);
        else snprintf(buf, cap, "it has %lld %s%srequests, ids %lld to %lld", c, k, kind ? " " : "", lo, hi);
    }
    sqlite3_finalize(s);
}

ul_status ul_net_get_request(ul_net *n, int64_t id, const char *kind, ul_net_request *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!n || !out || id < 0) return ul_fail(UL_E_ARG, "ul_net_get_request: bad argument");
    bool started = false;
    sqlite3_stmt *s = NULL;
    ul_status st = ul_net_read_begin(n, &started);
    /* receipt IS NULL only inside an uncommitted request of this handle: not a request yet */
    if (st == UL_OK)
        st = ul_net_prepare(n,
                            id ? "SELECT id, kind, created_at, request, receipt FROM requests"
                                 " WHERE id = ?2 AND receipt IS NOT NULL AND (?1 IS NULL OR kind = ?1)"
                               : "SELECT id, kind, created_at, request, receipt FROM requests"
                                 " WHERE receipt IS NOT NULL AND (?1 IS NULL OR kind = ?1) ORDER BY id DESC LIMIT 1",
                            &s);
    if (st == UL_OK) {
        if (kind) sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
        if (id) sqlite3_bind_int64(s, 2, id);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            out->id = sqlite3_column_int64(s, 0);
            if (!ul_net_col_text(s, 1, out->kind, sizeof out->kind) ||
                !ul_net_col_text(s, 2, out->created_at, sizeof out->created_at))
                st = ul_net_fail(n, UL_E_FORMAT, NULL, "requests", "request %lld: kind or time is missing or too long",
                                 (long long)out->id);
            out->request = dup_col(s, 3, "{}");
            out->receipt = dup_col(s, 4, "{}");
            if (st == UL_OK && (!out->request || !out->receipt))
                st = ul_fail(UL_E_NOMEM, "network '%s': out of memory reading request %lld", n->dir, (long long)out->id);
        } else if (rc == SQLITE_DONE) {
            char ids[160];
            describe_ids(n, kind, ids, sizeof ids);
            if (id)
                st = ul_net_fail(n, UL_E_NOTFOUND, NULL, NULL, "no %s%srequest with id %lld (%s)", kind ? kind : "",
                                 kind ? " " : "", (long long)id, ids);
            else
                st = ul_net_fail(n, UL_E_NOTFOUND, NULL, NULL, "no %s%srequest has been committed (%s)",
                                 kind ? kind : "", kind ? " " : "", ids);
        } else {
            st = ul_net_sql_fail(n, rc, "reading a request");
        }
    }
    sqlite3_finalize(s);
    ul_net_read_end(n, started);
    if (st != UL_OK) ul_net_request_free(out);
    return st;
}
