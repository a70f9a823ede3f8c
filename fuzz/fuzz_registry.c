/* libFuzzer target: a network registry (umig.db) with arbitrary content, read through the
 * library as every reader does: open read-only (meta table, format and version), list the models
 * (every row parsed: names, selectors, label sets, edges, recipes, parent rows), their
 * histories, ancestors and descendants, the log, the roots and closure of a request, the
 * topological order, and `net check` over all of it. SQLite itself parses the file; what is
 * fuzzed is our reading of the rows it returns. The input is written as DIR/umig.db of a
 * per-process directory (objects/ empty, so the check reports missing objects). A refusal is
 * fine; a crash, hang, leak or sanitizer report is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unlearn/net.h"

static char g_dir[64], g_db[96];

static void remove_db(void) {
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[128];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", g_db, suffix[i]);
        unlink(p);
    }
}

static void remove_dir(void) {
    char obj[96];
    remove_db();
    snprintf(obj, sizeof obj, "%s/objects", g_dir);
    rmdir(obj);
    rmdir(g_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_dir[0]) {
        atexit(remove_dir);
        char obj[96];
        snprintf(g_dir, sizeof g_dir, "/tmp/ul-fuzz-net.%ld", (long)getpid());
        snprintf(g_db, sizeof g_db, "%s/umig.db", g_dir);
        snprintf(obj, sizeof obj, "%s/objects", g_dir);
        mkdir(g_dir, 0755);
        mkdir(obj, 0755);
    }
    remove_db();
    FILE *f = fopen(g_db, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    ul_net *n = NULL;
    if (ul_net_open(g_dir, true, &n) == UL_OK) {
        ul_net_set_busy_timeout(n, 0);
        ul_node *v = NULL;
        size_t k = 0;
        if (ul_net_list(n, &v, &k) == UL_OK) {
            for (size_t i = 0; i < k && i < 4; i++) {
                ul_node *h = NULL;
                size_t nh = 0;
                if (ul_net_history(n, v[i].name, &h, &nh) == UL_OK) free(h);
                ul_name_list l = {0};
                if (ul_net_ancestors(n, v[i].name, &l) == UL_OK) ul_name_list_free(&l);
                if (ul_net_descendants(n, v[i].name, &l) == UL_OK) ul_name_list_free(&l);
                ul_node one;
                (void)ul_net_get_version(n, v[i].id, &one);
            }
            free(v);
        }
        char *text = NULL;
        if (ul_net_read_log(n, &text) == UL_OK) free(text);
        const int32_t labels[3] = {0, 3, 9};
        ul_name_list roots = {0}, closure = {0}, topo = {0};
        if (ul_net_roots(n, labels, 3, &roots) == UL_OK) {
            if (ul_net_closure(n, &roots, &closure) == UL_OK) ul_name_list_free(&closure);
            ul_name_list_free(&roots);
        }
        if (ul_net_topo_order(n, &topo) == UL_OK) ul_name_list_free(&topo);
        char *report = NULL;
        size_t problems = 0;
        if (ul_net_check(n, &report, &problems) == UL_OK) free(report);
        ul_net_close(n);
    }
    remove_db();
    return 0;
}
