/* ul_net_read_log: the network's log table (written by ul_net_log in registry.c) as text, one
 * line per entry, oldest first: "<id> <at> <event> <detail>\n". Read in one snapshot; works on a
 * read-only handle. */
#include "net/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ul_status ul_net_read_log(ul_net *n, char **text) {
    if (text) *text = NULL;
    if (!n || !text) return ul_fail(UL_E_ARG, "ul_net_read_log: network and output are required");
    bool started = false;
    sqlite3_stmt *s = NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) return ul_fail(UL_E_NOMEM, "network '%s': out of memory reading the log", n->dir);
    buf[0] = '\0';
    ul_status st = ul_net_read_begin(n, &started);
    if (st == UL_OK) st = ul_net_prepare(n, "SELECT id, at, event, detail FROM log ORDER BY id", &s);
    while (st == UL_OK) {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            st = ul_net_sql_fail(n, rc, "reading the log");
            break;
        }
        const char *at = (const char *)sqlite3_column_text(s, 1);
        const char *ev = (const char *)sqlite3_column_text(s, 2);
        const char *de = (const char *)sqlite3_column_text(s, 3);
        if (!at) at = "?";
        if (!ev) ev = "?";
        if (!de) de = "{}";
        size_t need = 32 + strlen(at) + strlen(ev) + strlen(de) + 4;
        if (len + need > cap) {
            while (len + need > cap) cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                st = ul_fail(UL_E_NOMEM, "network '%s': out of memory reading the log", n->dir);
                break;
            }
            buf = nb;
        }
        int w = snprintf(buf + len, cap - len, "%lld %s %s %s\n", (long long)sqlite3_column_int64(s, 0), at, ev, de);
        if (w > 0) len += (size_t)w;
    }
    sqlite3_finalize(s);
    ul_net_read_end(n, started);
    if (st != UL_OK) {
        free(buf);
        return st;
    }
    *text = buf;
    return UL_OK;
}
