/* The model inheritance network (src/net: registry, store, graph, check, selectors) on tiny
 * synthetic networks of "mlp:12-8-3" checkpoints: create/open and schema-version refusal, adding
 * models with every invariant violation refused and nothing changed, graph queries on the FL DAG
 * of fiun.md §1.4, a chain and a star, request transactions (visibility to a second connection,
 * abort, busy writers), ul_net_check finding corrupt, missing, orphan and temporary objects
 * without changing anything, and data selectors (shards, JSON, hashes).
 */
#include "ul_test.h"

#include <dirent.h>
#include <sqlite3.h>

#include "unlearn/data.h"
#include "unlearn/io.h"
#include "unlearn/net.h"
#include "unlearn/nn.h"
#include "unlearn/rng.h"

#define SPEC "mlp:12-8-3"
static const ul_arch_params AP = {.in_c = 1, .in_h = 3, .in_w = 4, .classes = 3, .width = 0.0f};

/* A fresh network directory path (malloc'd) under the test's temporary folder. */
static char *netdir(const char *name) {
    const char *root = ult_tmpdir("test_net");
    size_t n = strlen(root) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", root, name);
    return p;
}

static ul_net *create_net(const char *name, char **dir_out) {
    char *dir = netdir(name);
    ul_net *n = NULL;
    ULT_OK(ul_net_create(dir, &n));
    if (dir_out) *dir_out = dir;
    else free(dir);
    return n;
}

/* Store a checkpoint of `spec` initialised from `seed`. */
static void put_ckpt(ul_net *n, const char *spec, const ul_arch_params *ap, uint64_t seed, char hex[65]) {
    ul_model *m = NULL;
    ULT_OK(ul_model_create(spec, ap, seed, &m));
    ULT_OK(ul_net_put_model(n, m, NULL, hex));
    ul_model_free(m);
}

/* A node ready for ul_net_add: parents as "a,b", learned label set, checkpoint from `seed`. */
static ul_node mknode(ul_net *n, const char *name, ul_edge_type edge, const char *parents, const char *learned,
                      uint64_t seed) {
    ul_node nd;
    memset(&nd, 0, sizeof nd);
    snprintf(nd.name, sizeof nd.name, "%s", name);
    snprintf(nd.arch, sizeof nd.arch, "%s", SPEC);
    nd.ap = AP;
    put_ckpt(n, SPEC, &AP, seed, nd.ckpt);
    snprintf(nd.own.data, sizeof nd.own.data, "synthetic");
    snprintf(nd.own.split, sizeof nd.own.split, "train");
    snprintf(nd.own.labels, sizeof nd.own.labels, "%s", learned);
    snprintf(nd.learned, sizeof nd.learned, "%s", learned);
    nd.edge = edge;
    if (parents && parents[0]) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", parents);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            snprintf(nd.parents[nd.nparents++], UL_NET_NAME_MAX, "%s", t);
    }
    snprintf(nd.recipe, sizeof nd.recipe, "{\"epochs\":1,\"seed\":%llu}", (unsigned long long)seed);
    nd.test_acc = -1.0;
    return nd;
}

static ul_node add(ul_net *n, const char *name, ul_edge_type edge, const char *parents, const char *learned) {
    static uint64_t seed = 100;
    ul_node nd = mknode(n, name, edge, parents, learned, seed++);
    ULT_OK(ul_net_add(n, &nd));
    return nd;
}

/* ---- direct SQLite access (tests only) ------------------------------------------------ */

static sqlite3 *raw_open(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/umig.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void raw_exec(const char *dir, const char *sql) {
    sqlite3 *db = raw_open(dir);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
}

static int64_t raw_int(const char *dir, const char *sql) {
    sqlite3 *db = raw_open(dir);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static const char *const TABLES[] = {"meta", "models", "parents", "versions", "version_parents", "requests", "log"};

/* Row counts of every table, as text "m=.. p=.. ...". */
static void counts(const char *dir, char out[256]) {
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof TABLES / sizeof *TABLES; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", TABLES[i]);
        len += (size_t)snprintf(out + len, 256 - len, "%s=%lld ", TABLES[i], (long long)raw_int(dir, sql));
    }
}

/* SHA-256 over the logical content of every table (all rows, all columns, in rowid order) and the
 * names, sizes and hashes of the files in objects/. */
static void logical_hash(const char *dir, char hex[65]) {
    ul_sha256 c;
    ul_sha256_init(&c);
    sqlite3 *db = raw_open(dir);
    for (size_t i = 0; i < sizeof TABLES / sizeof *TABLES; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY 1, 2", TABLES[i]);
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
        while (sqlite3_step(s) == SQLITE_ROW)
            for (int k = 0; k < sqlite3_column_count(s); k++) {
                const unsigned char *t = sqlite3_column_text(s, k);
                ul_sha256_update(&c, t ? (const char *)t : "<null>", t ? strlen((const char *)t) : 6);
                ul_sha256_update(&c, "|", 1);
            }
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    char od[1024];
    snprintf(od, sizeof od, "%s/objects", dir);
    struct dirent **list = NULL;
    int k = scandir(od, &list, NULL, alphasort);
    assert_true(k >= 0);
    for (int i = 0; i < k; i++) {
        char fh[65] = "dir", p[2048];
        snprintf(p, sizeof p, "%s/%s", od, list[i]->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) ULT_OK(ul_sha256_file(p, fh));
        ul_sha256_update(&c, list[i]->d_name, strlen(list[i]->d_name));
        ul_sha256_update(&c, fh, strlen(fh));
        free(list[i]);
    }
    free(list);
    uint8_t d[32];
    ul_sha256_final(&c, d);
    ul_sha256_to_hex(d, hex);
}

static void obj_path(const char *dir, const char *hex, const char *ext, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/objects/%s.%s", dir, hex, ext);
}

static void flip_byte(const char *path) {
    uint8_t *b = NULL;
    size_t len = 0;
    ULT_OK(ul_read_file(path, 0, &b, &len));
    assert_true(len > 100);
    b[len / 2] ^= 0x40;
    ult_write(path, b, len);
    free(b);
}

static void assert_names(const ul_name_list *l, const char *expect) {
    char got[1024] = "";
    size_t len = 0;
    for (size_t i = 0; i < l->n; i++) len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", i ? "," : "", l->names[i]);
    if (strcmp(got, expect) != 0) fail_msg("names '%s', expected '%s'", got, expect);
}

/* ---- opening -------------------------------------------------------------------------- */

static void test_create_open(void **state) {
    (void)state;
    char *dir = netdir("nested/deeper/net1");
    ul_net *n = NULL;
    ULT_OK(ul_net_create(dir, &n));
    assert_string_equal(ul_net_dir(n), dir);
    ul_net_close(n);
    struct stat sb;
    assert_int_equal(stat(ult_path(dir, "objects"), &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(raw_int(dir, "SELECT COUNT(*) FROM meta WHERE key = 'version' AND value = '1'"), 1);
    sqlite3 *db = raw_open(dir);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);

    /* open read-write and read-only (twice at once) */
    ul_net *rw = NULL, *ro = NULL;
    ULT_OK(ul_net_open(dir, false, &rw));
    ULT_OK(ul_net_open(dir, true, &ro));
    ul_node nd = mknode(rw, "a", UL_EDGE_NONE, NULL, "0-2", 1);
    ULT_OK(ul_net_add(rw, &nd));
    ul_node got;
    ULT_OK(ul_net_get(ro, "a", &got));
    ul_node nd2 = mknode(rw, "b", UL_EDGE_NONE, NULL, "0", 2);
    ULT_FAILS(ul_net_add(ro, &nd2), UL_E_ARG);
    ULT_ERR_HAS("read-only");
    char hex[65];
    ULT_FAILS(ul_net_put_object(ro, "x", 1, "json", hex), UL_E_ARG);
    ul_net_close(ro);
    ul_net_close(rw);

    /* a non-empty directory (a network, or any file) is refused */
    ULT_FAILS(ul_net_create(dir, &n), UL_E_ARG);
    ULT_ERR_HAS("not empty");
    assert_null(n);
    char *other = netdir("not-empty");
    mkdir(other, 0755);
    ult_write(ult_path(other, "keep.txt"), "x", 1);
    ULT_FAILS(ul_net_create(other, &n), UL_E_ARG);
    ULT_ERR_HAS(other);
    assert_int_equal(stat(ult_path(other, "umig.db"), &sb), -1);
    /* a directory without a registry is not a network */
    ULT_FAILS(ul_net_open(other, false, &n), UL_E_NOTFOUND);
    ULT_ERR_HAS("umig.db");
    /* an empty existing directory is fine */
    char *empty = netdir("empty");
    mkdir(empty, 0755);
    ULT_OK(ul_net_create(empty, &n));
    ul_net_close(n);
    free(empty);
    free(other);
    free(dir);
}

static void test_schema_version(void **state) {
    (void)state;
    char *dir = NULL;
    ul_net_close(create_net("schema", &dir));
    raw_exec(dir, "UPDATE meta SET value = '99' WHERE key = 'version'");
    ul_net *n = NULL;
    ULT_FAILS(ul_net_open(dir, false, &n), UL_E_UNSUPPORTED);
    ULT_ERR_HAS("'99'");
    ULT_ERR_HAS("meta.version");
    ULT_FAILS(ul_net_open(dir, true, &n), UL_E_UNSUPPORTED);
    assert_null(n);
    raw_exec(dir, "UPDATE meta SET value = '1' WHERE key = 'version'; UPDATE meta SET value = 'x' WHERE key = 'format'");
    ULT_FAILS(ul_net_open(dir, false, &n), UL_E_FORMAT);
    ULT_ERR_HAS("meta.format");
    raw_exec(dir, "DROP TABLE meta");
    ULT_FAILS(ul_net_open(dir, false, &n), UL_E_FORMAT);
    ULT_ERR_HAS("meta");
    /* not an SQLite file at all */
    char *junk = netdir("junk");
    mkdir(junk, 0755);
    mkdir(ult_path(junk, "objects"), 0755);
    char text[4096];
    memset(text, 'z', sizeof text);
    ult_write(ult_path(junk, "umig.db"), text, sizeof text);
    ULT_FAILS(ul_net_open(junk, false, &n), UL_E_FORMAT);
    ULT_ERR_HAS(junk);
    free(junk);
    free(dir);
}

/* ---- adding and reading ----------------------------------------------------------------- */

static void test_add_get_list(void **state) {
    (void)state;
    char *dir = NULL;
    ul_net *n = create_net("add", &dir);
    ul_node a = add(n, "a", UL_EDGE_NONE, NULL, "1,0");
    ul_node b = add(n, "b", UL_EDGE_NONE, NULL, "2");
    ul_node c = mknode(n, "c", UL_EDGE_AVG, "a,b", "0,1,2", 7);
    snprintf(c.inherited, sizeof c.inherited, "2,1");
    c.own.nshards = 3;
    c.own.shard = 2;
    c.own.shard_seed = 12345678901234567890ULL;
    ul_sha256_hex("own", 3, c.own_hash);
    put_ckpt(n, SPEC, &AP, 99, c.fisher); /* any object works as a Fisher cache for the registry */
    {
        char path[1024], fpath[1024];
        obj_path(dir, c.fisher, "safetensors", path, sizeof path);
        obj_path(dir, c.fisher, "fisher", fpath, sizeof fpath);
        assert_int_equal(rename(path, fpath), 0);
    }
    c.test_acc = 0.75;
    ULT_OK(ul_net_add(n, &c));
    ul_node d = add(n, "d", UL_EDGE_FINETUNE, "c", "0");
    assert_int_equal(a.created_seq, 1);
    assert_int_equal(d.created_seq, 4);
    assert_int_equal(c.version, 1);
    assert_true(c.id > b.id);
    assert_string_equal(c.learned, "0-2"); /* canonicalised */
    assert_string_equal(c.inherited, "1-2");

    ul_node g;
    ULT_OK(ul_net_get(n, "c", &g));
    assert_int_equal(g.id, c.id);
    assert_string_equal(g.name, "c");
    assert_int_equal(g.version, 1);
    assert_int_equal(g.created_seq, 3);
    assert_string_equal(g.arch, SPEC);
    assert_int_equal(g.ap.in_c, 1);
    assert_int_equal(g.ap.in_w, 4);
    assert_int_equal(g.ap.classes, 3);
    assert_string_equal(g.ckpt, c.ckpt);
    assert_string_equal(g.fisher, c.fisher);
    assert_string_equal(g.own.data, "synthetic");
    assert_string_equal(g.own.labels, "0,1,2");
    assert_int_equal(g.own.shard, 2);
    assert_int_equal(g.own.nshards, 3);
    assert_true(g.own.shard_seed == 12345678901234567890ULL);
    assert_string_equal(g.own_hash, c.own_hash);
    assert_string_equal(g.learned, "0-2");
    assert_string_equal(g.inherited, "1-2");
    assert_int_equal(g.edge, UL_EDGE_AVG);
    assert_int_equal(g.nparents, 2);
    assert_string_equal(g.parents[0], "a");
    assert_string_equal(g.parents[1], "b");
    assert_int_equal(g.parent_ids[0], a.id);
    assert_int_equal(g.parent_ids[1], b.id);
    assert_string_equal(g.recipe, c.recipe);
    assert_int_equal(g.replaces, 0);
    assert_int_equal(g.request, 0);
    ULT_CLOSE(g.test_acc, 0.75, 0, 0);
    ul_node gd;
    ULT_OK(ul_net_get(n, "d", &gd));
    ULT_CLOSE(gd.test_acc, -1.0, 0, 0);
    assert_int_equal(gd.parent_ids[0], c.id);

    ul_node gv;
    ULT_OK(ul_net_get_version(n, b.id, &gv));
    assert_string_equal(gv.name, "b");
    ULT_FAILS(ul_net_get_version(n, 999, &gv), UL_E_NOTFOUND);
    ULT_FAILS(ul_net_get(n, "zz", &gv), UL_E_NOTFOUND);
    ULT_ERR_HAS("'zz'");

    ul_node *all = NULL;
    size_t k = 0;
    ULT_OK(ul_net_list(n, &all, &k));
    assert_int_equal(k, 4);
    assert_string_equal(all[0].name, "a");
    assert_string_equal(all[1].name, "b");
    assert_string_equal(all[2].name, "c");
    assert_string_equal(all[3].name, "d");
    free(all);
    ULT_OK(ul_net_history(n, "c", &all, &k));
    assert_int_equal(k, 1);
    free(all);
    ULT_FAILS(ul_net_history(n, "nope", &all, &k), UL_E_NOTFOUND);
    assert_null(all);

    /* load the checkpoint back */
    ul_model *m = NULL, *ref = NULL;
    ULT_OK(ul_net_load_model(n, &g, &m));
    ULT_OK(ul_model_create(SPEC, &AP, 7, &ref));
    char h1[65], h2[65];
    ul_model_hash(m, h1);
    ul_model_hash(ref, h2);
    assert_string_equal(h1, h2);
    ul_model_free(m);
    ul_model_free(ref);
    ul_node wrong = g;
    snprintf(wrong.arch, sizeof wrong.arch, "mlp:12-6-3");
    ULT_FAILS(ul_net_load_model(n, &wrong, &m), UL_E_SHAPE);
    assert_null(m);

    /* an empty network lists nothing */
    ul_net *e = create_net("add-empty", NULL);
    ULT_OK(ul_net_list(e, &all, &k));
    assert_int_equal(k, 0);
    free(all);
    ul_name_list l;
    ULT_OK(ul_net_topo_order(e, &l));
    assert_int_equal(l.n, 0);
    ul_name_list_free(&l);
    ul_net_close(e);
    ul_net_close(n);
    free(dir);
}

/* Expect ul_net_add(nd) to fail with `st` naming `needle`, with no row changed. */
static void refused(ul_net *n, const char *dir, ul_node nd, ul_status st, const char *needle) {
    char before[256], after[256];
    counts(dir, before);
    int64_t id = nd.id;
    ULT_FAILS(ul_net_add(n, &nd), st);
    ULT_ERR_HAS(needle);
    ULT_ERR_HAS(dir);
    counts(dir, after);
    assert_string_equal(before, after);
    assert_int_equal(nd.id, id);
}

static void test_add_invariants(void **state) {
    (void)state;
    char *dir = NULL;
    ul_net *n = create_net("invariants", &dir);
    add(n, "p", UL_EDGE_NONE, NULL, "0");
    add(n, "q", UL_EDGE_NONE, NULL, "1");

    refused(n, dir, mknode(n, "c", UL_EDGE_FINETUNE, "ghost", "0", 1), UL_E_NOTFOUND, "parents[0]");
    refused(n, dir, mknode(n, "c", UL_EDGE_FINETUNE, "c", "0", 1), UL_E_ARG, "own parent");
    refused(n, dir, mknode(n, "p", UL_EDGE_NONE, NULL, "0", 1), UL_E_ARG, "already exists");
    refused(n, dir, mknode(n, "c", UL_EDGE_AVG, "p,q,p", "0", 1), UL_E_ARG, "parents[2]");
    refused(n, dir, mknode(n, "c", UL_EDGE_FINETUNE, "p,q", "0", 1), UL_E_ARG, "edge");
    refused(n, dir, mknode(n, "c", UL_EDGE_TRANSFER, NULL, "0", 1), UL_E_ARG, "edge");
    refused(n, dir, mknode(n, "c", UL_EDGE_AVG, "p", "0", 1), UL_E_ARG, "two or more");
    refused(n, dir, mknode(n, "c", UL_EDGE_NONE, "p", "0", 1), UL_E_ARG, "edge 'none'");

    /* architecture mismatch with a parent: other spec, other class count */
    ul_node c = mknode(n, "c", UL_EDGE_FINETUNE, "p", "0", 1);
    snprintf(c.arch, sizeof c.arch, "mlp:12-6-3");
    put_ckpt(n, "mlp:12-6-3", &AP, 1, c.ckpt);
    refused(n, dir, c, UL_E_SHAPE, "arch");
    c = mknode(n, "c", UL_EDGE_FINETUNE, "p", "0", 1);
    c.ap.classes = 4;
    snprintf(c.arch, sizeof c.arch, "mlp:12-8-4");
    refused(n, dir, c, UL_E_SHAPE, "'p'");

    /* checkpoint object missing or corrupt */
    c = mknode(n, "c", UL_EDGE_FINETUNE, "p", "0", 1);
    ul_sha256_hex("no such object", 14, c.ckpt);
    refused(n, dir, c, UL_E_NOTFOUND, "ckpt");
    c = mknode(n, "c", UL_EDGE_FINETUNE, "p", "0", 4242);
    char path[1024];
    obj_path(dir, c.ckpt, "safetensors", path, sizeof path);
    flip_byte(path);
    refused(n, dir, c, UL_E_FORMAT, "corrupt");
    c = mknode(n, "c", UL_EDGE_FINETUNE, "p", "0", 1);
    snprintf(c.ckpt, sizeof c.ckpt, "ABC");
    refused(n, dir, c, UL_E_ARG, "ckpt");
    c = mknode(n, "c", UL_EDGE_FINETUNE, "p", "0", 1);
    ul_sha256_hex("no fisher", 9, c.fisher);
    refused(n, dir, c, UL_E_NOTFOUND, "fisher");

    /* names */
    const char *bad[] = {"../x", "a/b", "", ".hidden", "a b", "x\\y",
                         "a123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c = mknode(n, "c", UL_EDGE_NONE, NULL, "0", 1);
        snprintf(c.name, sizeof c.name, "%s", bad[i]);
        if (strlen(bad[i]) >= UL_NET_NAME_MAX) memcpy(c.name, bad[i], sizeof c.name); /* not NUL-terminated */
        refused(n, dir, c, UL_E_ARG, "name");
    }
    c = mknode(n, "c", UL_EDGE_FINETUNE, "p", "0", 1);
    snprintf(c.parents[0], UL_NET_NAME_MAX, "../p");
    refused(n, dir, c, UL_E_ARG, "parents[0]");

    /* label sets, recipe, selector */
    c = mknode(n, "c", UL_EDGE_NONE, NULL, "0", 1);
    snprintf(c.learned, sizeof c.learned, "5");
    refused(n, dir, c, UL_E_ARG, "learned");
    c = mknode(n, "c", UL_EDGE_NONE, NULL, "0", 1);
    snprintf(c.recipe, sizeof c.recipe, "{not json");
    refused(n, dir, c, UL_E_ARG, "recipe");
    c = mknode(n, "c", UL_EDGE_NONE, NULL, "0", 1);
    c.own.shard = 3;
    c.own.nshards = 3;
    refused(n, dir, c, UL_E_ARG, "shard");
    c = mknode(n, "c", UL_EDGE_NONE, NULL, "0", 1);
    c.ap.in_h = 0;
    refused(n, dir, c, UL_E_ARG, "ap");

    /* the longest valid name is accepted, and a valid child after all the refusals */
    c = mknode(n, "c", UL_EDGE_NONE, NULL, "0", 1);
    memset(c.name, 'n', UL_NET_NAME_MAX - 1);
    c.name[UL_NET_NAME_MAX - 1] = '\0';
    ULT_OK(ul_net_add(n, &c));
    ul_node ok = mknode(n, "child.v1-x_2", UL_EDGE_AVG, "p,q", "0-1", 1);
    ULT_OK(ul_net_add(n, &ok));
    assert_int_equal(ok.created_seq, 4);
    ul_net_close(n);
    free(dir);
}

/* ---- graph queries ------------------------------------------------------------------------ */

static void check_relatives(ul_net *n, const char *name, const char *anc, const char *desc) {
    ul_name_list l;
    ULT_OK(ul_net_ancestors(n, name, &l));
    assert_names(&l, anc);
    ul_name_list_free(&l);
    ULT_OK(ul_net_descendants(n, name, &l));
    assert_names(&l, desc);
    ul_name_list_free(&l);
}

static void check_roots(ul_net *n, const char *labels, const char *expect) {
    int32_t lab[8];
    size_t k = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", labels);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) lab[k++] = atoi(t);
    ul_name_list l;
    ULT_OK(ul_net_roots(n, lab, k, &l));
    assert_names(&l, expect);
    ul_name_list_free(&l);
}

static void check_closure(ul_net *n, const char *roots, const char *expect) {
    ul_name_list r = {0}, l;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", roots);
    r.names = calloc(16, sizeof *r.names);
    assert_non_null(r.names);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        snprintf(r.names[r.n++], UL_NET_NAME_MAX, "%s", t);
    ULT_OK(ul_net_closure(n, &r, &l));
    assert_names(&l, expect);
    ul_name_list_free(&l);
    ul_name_list_free(&r);
}

/* The FL-single DAG of fiun.md §1.4 (one-parent averages written as finetune), labels 0..2 with
 * label 0 first learned by r1. */
static void test_graph_fl(void **state) {
    (void)state;
    ul_net *n = create_net("fl", NULL);
    add(n, "d", UL_EDGE_NONE, NULL, "1-2");
    add(n, "s", UL_EDGE_NONE, NULL, "1-2");
    add(n, "r1", UL_EDGE_AVG, "d,s", "0-2");
    add(n, "r2", UL_EDGE_FINETUNE, "r1", "0-2");
    add(n, "r4", UL_EDGE_AVG, "r1,r2", "0-2");
    add(n, "r3", UL_EDGE_AVG, "d,r2", "1-2");
    add(n, "r5", UL_EDGE_AVG, "d,r2", "1-2");
    add(n, "r6", UL_EDGE_AVG, "s,r3", "1-2");

    check_relatives(n, "d", "", "r1,r2,r4,r3,r5,r6");
    check_relatives(n, "r1", "d,s", "r2,r4,r3,r5,r6");
    check_relatives(n, "r4", "d,s,r1,r2", "");
    check_relatives(n, "r3", "d,s,r1,r2", "r6");
    check_relatives(n, "r6", "d,s,r1,r2,r3", "");
    ul_name_list l;
    ULT_OK(ul_net_topo_order(n, &l));
    assert_names(&l, "d,s,r1,r2,r4,r3,r5,r6");
    ul_name_list_free(&l);
    ULT_FAILS(ul_net_ancestors(n, "r9", &l), UL_E_NOTFOUND);
    ULT_ERR_HAS("r9");
    assert_int_equal(l.n, 0);

    check_roots(n, "0", "r1");           /* r2 and r4 learned 0 too, below r1 */
    check_roots(n, "1", "d,s");          /* two independent roots */
    check_roots(n, "0,1", "d,s,r1");
    check_roots(n, "", "");
    check_closure(n, "r1", "r1,r2,r4,r3,r5,r6");
    check_closure(n, "r3", "r3,r6");
    check_closure(n, "r4,r3", "r4,r3,r6");
    check_closure(n, "", "");

    /* label 0 learned independently on a separate branch: a second root */
    add(n, "x", UL_EDGE_NONE, NULL, "0");
    add(n, "y", UL_EDGE_CONTINUE, "x", "0-1");
    check_roots(n, "0", "r1,x");
    check_roots(n, "1", "d,s,y");
    check_closure(n, "r1,x", "r1,r2,r4,r3,r5,r6,x,y");

    int32_t neg = -1;
    ULT_FAILS(ul_net_roots(n, &neg, 1, &l), UL_E_ARG);
    ul_name_list r = {0};
    r.names = calloc(1, sizeof *r.names);
    assert_non_null(r.names);
    snprintf(r.names[0], UL_NET_NAME_MAX, "ghost");
    r.n = 1;
    ULT_FAILS(ul_net_closure(n, &r, &l), UL_E_NOTFOUND);
    ULT_ERR_HAS("ghost");
    ul_name_list_free(&r);
    ul_net_close(n);
}

static void test_graph_chain_star(void **state) {
    (void)state;
    ul_net *n = create_net("chain-star", NULL);
    /* IL chain: each continues the previous one on a wider label set; all learned label 0 */
    add(n, "u0", UL_EDGE_NONE, NULL, "0");
    add(n, "u1", UL_EDGE_CONTINUE, "u0", "0-1");
    add(n, "u2", UL_EDGE_CONTINUE, "u1", "0-2");
    add(n, "u3", UL_EDGE_CONTINUE, "u2", "0,2");
    /* TL star from t0 */
    add(n, "t0", UL_EDGE_NONE, NULL, "2");
    add(n, "t1", UL_EDGE_TRANSFER, "t0", "1");
    add(n, "t2", UL_EDGE_TRANSFER, "t0", "2");
    add(n, "t3", UL_EDGE_FINETUNE, "t0", "");
    check_relatives(n, "u0", "", "u1,u2,u3");
    check_relatives(n, "u2", "u0,u1", "u3");
    check_relatives(n, "u3", "u0,u1,u2", "");
    check_relatives(n, "t0", "", "t1,t2,t3");
    check_relatives(n, "t2", "t0", "");
    check_roots(n, "0", "u0");
    check_roots(n, "1", "u1,t1");
    check_roots(n, "2", "u2,t0");
    check_closure(n, "u1", "u1,u2,u3");
    check_closure(n, "t1", "t1");
    check_closure(n, "u2,t0", "u2,u3,t0,t1,t2,t3");
    ul_name_list l;
    ULT_OK(ul_net_topo_order(n, &l));
    assert_names(&l, "u0,u1,u2,u3,t0,t1,t2,t3");
    ul_name_list_free(&l);
    ul_net_close(n);
}

/* ---- request transactions ----------------------------------------------------------------- */

static void test_txn(void **state) {
    (void)state;
    char *dir = NULL;
    ul_net *n = create_net("txn", &dir);
    ul_node a = add(n, "a", UL_EDGE_NONE, NULL, "0-1");
    ul_node b = add(n, "b", UL_EDGE_FINETUNE, "a", "0-2");
    ul_net *other = NULL;
    ULT_OK(ul_net_open(dir, true, &other));

    char ka[65], kb[65];
    put_ckpt(n, SPEC, &AP, 501, ka);
    put_ckpt(n, SPEC, &AP, 502, kb);
    ul_net_txn *t = NULL;
    ULT_OK(ul_net_begin(n, "forget", "{\"labels\":[0]}", &t));
    int64_t va = 0, vb = 0;
    ULT_OK(ul_net_txn_replace(t, "a", ka, NULL, 0.5, &va));
    ul_node g;
    ULT_OK(ul_net_get(n, "a", &g)); /* the writer sees its own new version */
    assert_int_equal(g.version, 2);
    ULT_OK(ul_net_get(other, "a", &g)); /* the other connection does not, yet */
    assert_int_equal(g.version, 1);
    assert_int_equal(g.id, a.id);
    /* a failed replace (missing object, twice the same model, unknown model) leaves the txn usable */
    char missing[65];
    ul_sha256_hex("missing", 7, missing);
    ULT_FAILS(ul_net_txn_replace(t, "b", missing, NULL, -1, &vb), UL_E_NOTFOUND);
    ULT_ERR_HAS("ckpt");
    ULT_FAILS(ul_net_txn_replace(t, "a", ka, NULL, -1, &vb), UL_E_ARG);
    ULT_ERR_HAS("already replaced");
    ULT_FAILS(ul_net_txn_replace(t, "zz", ka, NULL, -1, &vb), UL_E_NOTFOUND);
    ULT_FAILS(ul_net_add(n, &a), UL_E_ARG); /* no adds while a request is open on the handle */
    ULT_ERR_HAS("transaction");
    ULT_OK(ul_net_txn_replace(t, "b", kb, NULL, -1, &vb));
    int64_t rid = 0;
    ULT_OK(ul_net_commit(t, "{\"forgot\":[0]}", &rid));
    assert_true(rid > 0);

    ULT_OK(ul_net_get(other, "a", &g));
    assert_int_equal(g.version, 2);
    assert_int_equal(g.id, va);
    assert_int_equal(g.replaces, a.id);
    assert_int_equal(g.request, rid);
    assert_string_equal(g.ckpt, ka);
    ULT_CLOSE(g.test_acc, 0.5, 0, 0);
    assert_string_equal(g.learned, "0-1"); /* model fields carry over */
    ULT_OK(ul_net_get(other, "b", &g));
    assert_int_equal(g.version, 2);
    assert_int_equal(g.replaces, b.id);
    assert_int_equal(g.parent_ids[0], va); /* parent replaced earlier in the same request */
    ul_node *h = NULL;
    size_t k = 0;
    ULT_OK(ul_net_history(other, "a", &h, &k));
    assert_int_equal(k, 2);
    assert_int_equal(h[0].id, a.id);
    assert_int_equal(h[1].id, va);
    free(h);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM requests WHERE id = %lld AND kind = 'forget' AND receipt = "
                              "'{\"forgot\":[0]}'",
             (long long)rid);
    assert_int_equal(raw_int(dir, sql), 1);

    /* abort leaves nothing */
    char before[256], after[256];
    counts(dir, before);
    ULT_OK(ul_net_begin(n, "forget", NULL, &t));
    ULT_OK(ul_net_txn_replace(t, "a", kb, NULL, -1, NULL));
    ul_net_abort(t);
    counts(dir, after);
    assert_string_equal(before, after);
    ULT_OK(ul_net_get(n, "a", &g));
    assert_int_equal(g.version, 2);
    /* a bad receipt aborts too */
    ULT_OK(ul_net_begin(n, "forget", NULL, &t));
    ULT_OK(ul_net_txn_replace(t, "a", kb, NULL, -1, NULL));
    ULT_FAILS(ul_net_commit(t, "[1,2", &rid), UL_E_ARG);
    counts(dir, after);
    assert_string_equal(before, after);
    ULT_FAILS(ul_net_begin(n, "forget", "not json", &t), UL_E_ARG);
    assert_null(t);

    /* a second writer waits for the busy timeout, then fails clearly */
    ul_net *w2 = NULL;
    ULT_OK(ul_net_open(dir, false, &w2));
    ul_net_set_busy_timeout(w2, 200);
    ULT_OK(ul_net_begin(n, "forget", NULL, &t));
    ul_net_txn *t2 = NULL;
    double t0 = ul_now();
    ULT_FAILS(ul_net_begin(w2, "forget", NULL, &t2), UL_E_BUSY);
    double waited = ul_now() - t0;
    ULT_ERR_HAS("network is busy: another process is writing (waited 0.2 s)");
    assert_null(t2);
    assert_true(waited >= 0.15 && waited < 3.0); /* the 200 ms timeout, not the 10 s default */
    ul_node extra = mknode(w2, "extra", UL_EDGE_NONE, NULL, "0", 9);
    ULT_FAILS(ul_net_add(w2, &extra), UL_E_BUSY);
    ULT_ERR_HAS("busy");
    ULT_OK(ul_net_get(w2, "a", &g)); /* readers are not blocked */
    ul_net_abort(t);
    ULT_OK(ul_net_add(w2, &extra));
    ULT_OK(ul_net_begin(w2, "forget", NULL, &t2));
    ul_net_close(w2); /* closing aborts the open request */
    ULT_OK(ul_net_get(n, "a", &g));
    assert_int_equal(g.version, 2);

    /* the log */
    int64_t logs = raw_int(dir, "SELECT COUNT(*) FROM log");
    ULT_OK(ul_net_log(n, "build", "{\"models\":2}"));
    ULT_OK(ul_net_log(n, "note", NULL));
    ULT_FAILS(ul_net_log(n, "bad", "{"), UL_E_ARG);
    ULT_FAILS(ul_net_log(other, "ro", NULL), UL_E_ARG);
    assert_int_equal(raw_int(dir, "SELECT COUNT(*) FROM log"), logs + 2);
    ul_net_close(other);
    ul_net_close(n);
    free(dir);
}

/* ---- check ----------------------------------------------------------------------------------- */

static size_t run_check(const char *dir, char **report) {
    ul_net *n = NULL;
    ULT_OK(ul_net_open(dir, true, &n));
    size_t problems = 99;
    ULT_OK(ul_net_check(n, report, &problems));
    ul_net_close(n);
    /* one line per problem */
    size_t lines = 0;
    for (const char *p = *report; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, problems);
    return problems;
}

static void expect_problem(const char *dir, const char *needle) {
    char *rep = NULL;
    size_t k = run_check(dir, &rep);
    if (k != 1 || !strstr(rep, needle)) fail_msg("check found %zu problems:\n%s\nexpected one with '%s'", k, rep, needle);
    free(rep);
}

static void test_check(void **state) {
    (void)state;
    char *dir = NULL;
    ul_net *n = create_net("check", &dir);
    ul_node a = add(n, "a", UL_EDGE_NONE, NULL, "0");
    add(n, "b", UL_EDGE_NONE, NULL, "1");
    ul_node c = add(n, "c", UL_EDGE_AVG, "a,b", "0-2");
    char k2[65], ids[65], named[64 + 32];
    put_ckpt(n, SPEC, &AP, 77, k2);
    ULT_OK(ul_net_put_object(n, "1\n2\n", 4, "ids", ids)); /* referenced from the request JSON */
    snprintf(named, sizeof named, "{\"forget_ids\":\"%s\"}", ids);
    ul_net_txn *t = NULL;
    ULT_OK(ul_net_begin(n, "forget", named, &t));
    ULT_OK(ul_net_txn_replace(t, "a", k2, NULL, -1, NULL));
    ULT_OK(ul_net_commit(t, "{}", NULL));
    ul_net_close(n);

    char h0[65], h1[65];
    logical_hash(dir, h0);
    char *rep = NULL;
    assert_int_equal(run_check(dir, &rep), 0);
    assert_string_equal(rep, "");
    free(rep);
    logical_hash(dir, h1);
    assert_string_equal(h0, h1); /* check changes nothing */

    /* a corrupt checkpoint, then a missing one */
    char path[1024];
    obj_path(dir, c.ckpt, "safetensors", path, sizeof path);
    uint8_t *orig = NULL;
    size_t olen = 0;
    ULT_OK(ul_read_file(path, 0, &orig, &olen));
    flip_byte(path);
    char needle[200];
    snprintf(needle, sizeof needle, "corrupt: objects/%s.safetensors (checkpoint of model 'c' v1)", c.ckpt);
    expect_problem(dir, needle);
    assert_int_equal(unlink(path), 0);
    snprintf(needle, sizeof needle, "missing: objects/%s.safetensors", c.ckpt);
    expect_problem(dir, needle);
    ult_write(path, orig, olen);
    free(orig);
    assert_int_equal(run_check(dir, &rep), 0);
    free(rep);

    /* orphan, temporary and stray files */
    ULT_OK(ul_net_open(dir, false, &n));
    char orphan[65];
    ULT_OK(ul_net_put_object(n, "{\"x\":1}", 7, "json", orphan));
    ul_net_close(n);
    snprintf(needle, sizeof needle, "orphan: objects/%s.json is not referenced", orphan);
    expect_problem(dir, needle);
    obj_path(dir, orphan, "json", path, sizeof path);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/objects/%s.safetensors.tmp.123.0", dir, a.ckpt);
    ult_write(path, "partial", 7);
    expect_problem(dir, "temp: objects/");
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/objects/notes.txt", dir);
    ult_write(path, "hi", 2);
    expect_problem(dir, "stray: objects/notes.txt");
    assert_int_equal(unlink(path), 0);

    /* registry damage: a version gap, then a cycle with a younger parent */
    logical_hash(dir, h0);
    raw_exec(dir, "UPDATE versions SET version = 3 WHERE name = 'a' AND version = 2");
    expect_problem(dir, "version: model 'a': versions are not numbered 1..k");
    raw_exec(dir, "UPDATE versions SET version = 2 WHERE name = 'a' AND version = 3");
    logical_hash(dir, h1);
    assert_string_equal(h0, h1);
    raw_exec(dir, "UPDATE models SET edge = 'continue' WHERE name = 'a';"
                  "INSERT INTO parents(child, pos, parent) VALUES('a', 0, 'c')");
    assert_true(run_check(dir, &rep) >= 3);
    if (!strstr(rep, "graph: cycle") || !strstr(rep, "parent 'c' is not older") || !strstr(rep, "parent versions"))
        fail_msg("report misses the cycle:\n%s", rep);
    free(rep);
    /* graph queries refuse the damaged registry instead of looping */
    ULT_OK(ul_net_open(dir, true, &n));
    ul_name_list l;
    ULT_FAILS(ul_net_descendants(n, "a", &l), UL_E_FORMAT);
    ULT_ERR_HAS("check");
    ul_net_close(n);
    free(dir);
}

/* ---- store ------------------------------------------------------------------------------------ */

static void test_store(void **state) {
    (void)state;
    char *dir = NULL;
    ul_net *n = create_net("store", &dir);
    char h[65], h2[65], expect[65];
    ULT_OK(ul_net_put_object(n, "hello", 5, "json", h));
    ul_sha256_hex("hello", 5, expect);
    assert_string_equal(h, expect);
    char path[1024], want[1024];
    ULT_OK(ul_net_object_path(n, h, path, sizeof path));
    obj_path(dir, h, "json", want, sizeof want);
    assert_string_equal(path, want);
    struct stat s1, s2;
    assert_int_equal(stat(path, &s1), 0);
    ULT_OK(ul_net_put_object(n, "hello", 5, "json", h2)); /* a no-op: same file */
    assert_string_equal(h, h2);
    assert_int_equal(stat(path, &s2), 0);
    assert_true(s1.st_ino == s2.st_ino);
    /* a damaged copy is replaced */
    ult_write(path, "jello", 5);
    ULT_OK(ul_net_put_object(n, "hello", 5, "json", h2));
    char got[65];
    ULT_OK(ul_sha256_file(path, got));
    assert_string_equal(got, h);
    /* other extensions are found too */
    ULT_OK(ul_net_put_object(n, "abc", 3, "npy2", h));
    ULT_OK(ul_net_object_path(n, h, path, sizeof path));
    assert_non_null(strstr(path, ".npy2"));
    ul_sha256_hex("absent", 6, h);
    ULT_FAILS(ul_net_object_path(n, h, path, sizeof path), UL_E_NOTFOUND);
    ULT_FAILS(ul_net_object_path(n, "xyz", path, sizeof path), UL_E_ARG);
    ULT_FAILS(ul_net_put_object(n, "a", 1, "../x", h), UL_E_ARG);
    ULT_FAILS(ul_net_put_object(n, "a", 1, "", h), UL_E_ARG);
    ULT_FAILS(ul_net_put_object(n, "a", 1, "JSON", h), UL_E_ARG);
    ul_net_close(n);
    free(dir);
}

/* ---- selectors --------------------------------------------------------------------------------- */

static ul_dataset *synth(size_t n, uint8_t salt) {
    uint8_t *px = malloc(n * 4);
    int32_t *lab = malloc(n * sizeof *lab);
    assert_non_null(px);
    assert_non_null(lab);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)(i % 5);
        for (int k = 0; k < 4; k++) px[i * 4 + (size_t)k] = (uint8_t)(i * 7 + (size_t)k + salt);
    }
    ul_dataset *d = NULL;
    ULT_OK(ul_dataset_from_memory("synth", UL_PIX_U8, px, lab, n, 1, 2, 2, 5, &d));
    free(px);
    free(lab);
    return d;
}

static ul_data_selector sel_of(const char *labels, int shard, int nshards, uint64_t seed) {
    ul_data_selector s;
    memset(&s, 0, sizeof s);
    snprintf(s.data, sizeof s.data, "synth");
    snprintf(s.split, sizeof s.split, "train");
    snprintf(s.labels, sizeof s.labels, "%s", labels);
    s.shard = shard;
    s.nshards = nshards;
    s.shard_seed = seed;
    return s;
}

static void test_selector_resolve(void **state) {
    (void)state;
    const size_t N = 103;
    ul_dataset *d = synth(N, 0);
    ul_view *v = NULL;
    ul_data_selector s = sel_of("", 0, 0, 0);
    ULT_OK(ul_selector_resolve(&s, d, &v));
    assert_int_equal(v->n, N);
    ul_view_free(v);
    s = sel_of("1-3", 0, 0, 0);
    ULT_OK(ul_selector_resolve(&s, d, &v));
    size_t nf = v->n;
    assert_int_equal(nf, 62); /* labels i % 5 in {1,2,3} for i < 103 */
    for (size_t i = 0; i < v->n; i++) assert_true(v->idx[i] % 5 >= 1 && v->idx[i] % 5 <= 3);
    ul_view_free(v);

    /* 4 shards: disjoint, covering, near-equal, sorted, deterministic */
    int seen[103] = {0};
    size_t total = 0;
    for (int k = 0; k < 4; k++) {
        s = sel_of("1-3", k, 4, 2024);
        ul_view *a = NULL, *b = NULL;
        ULT_OK(ul_selector_resolve(&s, d, &a));
        ULT_OK(ul_selector_resolve(&s, d, &b));
        assert_int_equal(a->n, b->n);
        assert_memory_equal(a->idx, b->idx, a->n * sizeof *a->idx);
        assert_true(a->n == nf / 4 || a->n == nf / 4 + 1);
        for (size_t i = 0; i < a->n; i++) {
            assert_true(a->idx[i] % 5 >= 1 && a->idx[i] % 5 <= 3);
            if (i) assert_true(a->idx[i - 1] < a->idx[i]);
            seen[a->idx[i]]++;
        }
        total += a->n;
        ul_view_free(a);
        ul_view_free(b);
    }
    assert_int_equal(total, nf);
    for (size_t i = 0; i < N; i++) assert_int_equal(seen[i], (i % 5 >= 1 && i % 5 <= 3) ? 1 : 0);
    /* not just a contiguous cut of the filtered list */
    s = sel_of("1-3", 0, 4, 2024);
    ULT_OK(ul_selector_resolve(&s, d, &v));
    assert_true(v->idx[v->n - 1] - v->idx[0] > 40);
    /* another seed gives another shard */
    ul_view *w = NULL;
    s.shard_seed = 2025;
    ULT_OK(ul_selector_resolve(&s, d, &w));
    assert_false(v->n == w->n && memcmp(v->idx, w->idx, v->n * sizeof *v->idx) == 0);
    ul_view_free(v);
    ul_view_free(w);

    /* invalid selectors */
    s = sel_of("1-3", 4, 4, 1);
    ULT_FAILS(ul_selector_resolve(&s, d, &v), UL_E_ARG);
    ULT_ERR_HAS("shard");
    assert_null(v);
    s = sel_of("1-3", 1, 0, 1);
    ULT_FAILS(ul_selector_resolve(&s, d, &v), UL_E_ARG);
    s = sel_of("7", 0, 0, 1);
    ULT_FAILS(ul_selector_resolve(&s, d, &v), UL_E_ARG);
    ULT_ERR_HAS("labels");
    s = sel_of("1-", 0, 0, 1);
    ULT_FAILS(ul_selector_resolve(&s, d, &v), UL_E_ARG);
    ul_dataset_free(d);
}

static void test_selector_json(void **state) {
    (void)state;
    ul_data_selector s = sel_of("0-4", 1, 3, 42);
    snprintf(s.data, sizeof s.data, "fashion-mnist");
    char *j = ul_selector_to_json(&s);
    assert_non_null(j);
    assert_string_equal(j, "{\"data\":\"fashion-mnist\",\"split\":\"train\",\"labels\":\"0-4\",\"shard\":1,"
                           "\"nshards\":3,\"shard_seed\":42,\"exclude\":\"\"}");
    ul_data_selector back;
    ULT_OK(ul_selector_from_json(j, &back));
    assert_memory_equal(&back, &s, sizeof s);
    free(j);

    uint64_t seeds[] = {0, 9007199254740992ULL, 9007199254740993ULL, UINT64_MAX};
    const char *form[] = {"\"shard_seed\":0,", "\"shard_seed\":9007199254740992,", "\"shard_seed\":\"9007199254740993\",",
                          "\"shard_seed\":\"18446744073709551615\","};
    for (int i = 0; i < 4; i++) {
        s.shard_seed = seeds[i];
        ul_sha256_hex("ids", 3, s.exclude);
        j = ul_selector_to_json(&s);
        assert_non_null(j);
        if (!strstr(j, form[i])) fail_msg("%s lacks %s", j, form[i]);
        ULT_OK(ul_selector_from_json(j, &back));
        assert_memory_equal(&back, &s, sizeof s);
        free(j);
    }
    /* minimal form: defaults */
    ULT_OK(ul_selector_from_json("{\"data\":\"x\",\"split\":\"test\"}", &back));
    assert_string_equal(back.labels, "");
    assert_int_equal(back.nshards, 0);
    const char *bad[] = {"[]", "{\"split\":\"train\"}", "{\"data\":\"x\",\"split\":\"t\",\"extra\":1}",
                         "{\"data\":\"x\",\"split\":\"t\",\"shard_seed\":-1}",
                         "{\"data\":\"x\",\"split\":\"t\",\"shard_seed\":\"99999999999999999999\"}",
                         "{\"data\":\"x\",\"split\":\"t\",\"shard\":2,\"nshards\":2}",
                         "{\"data\":\"x\",\"split\":\"t\",\"shard\":0.5}", "{\"data\":\"x\",\"split\":\"t\",\"exclude\":\"ab\"}",
                         "{\"data\":\"x\",\"split\":\"a-split-name-too-long\"}", "{\"data\":3,\"split\":\"t\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ul_status st = ul_selector_from_json(bad[i], &back);
        if (st != UL_E_FORMAT) fail_msg("'%s' -> %s, expected a format error", bad[i], ul_status_str(st));
    }

    ul_edge_type e;
    for (int i = 0; i < UL_EDGE_COUNT; i++) {
        ULT_OK(ul_edge_parse(ul_edge_name((ul_edge_type)i), &e));
        assert_int_equal(e, i);
    }
    assert_string_equal(ul_edge_name(UL_EDGE_TRANSFER), "transfer");
    ULT_FAILS(ul_edge_parse("average", &e), UL_E_ARG);
    ULT_ERR_HAS("average");
}

static void test_selector_hash(void **state) {
    (void)state;
    ul_dataset *d = synth(50, 0), *d2 = synth(50, 1);
    int32_t idx[] = {3, 9, 17, 40};
    ul_view *v = NULL, *r = NULL, *less = NULL, *o = NULL;
    ULT_OK(ul_view_from_indices(d, idx, 4, &v));
    int32_t rev[] = {40, 17, 3, 9};
    ULT_OK(ul_view_from_indices(d, rev, 4, &r));
    ULT_OK(ul_view_from_indices(d, idx, 3, &less));
    ULT_OK(ul_view_from_indices(d2, idx, 4, &o));
    char h[65], hr[65], hl[65], ho[65], again[65];
    ul_selector_hash(v, h);
    ul_selector_hash(v, again);
    ul_selector_hash(r, hr);
    ul_selector_hash(less, hl);
    ul_selector_hash(o, ho);
    assert_string_equal(h, again);
    assert_string_equal(h, hr); /* order does not matter */
    assert_string_not_equal(h, hl);
    assert_string_not_equal(h, ho);
    /* the definition: SHA-256(dataset hash text || sorted indices as int32 LE) */
    ul_sha256 c;
    ul_sha256_init(&c);
    const char *dh = ul_dataset_hash(d);
    ul_sha256_update(&c, dh, 64);
    for (int i = 0; i < 4; i++) {
        uint8_t b[4] = {(uint8_t)idx[i], 0, 0, 0};
        ul_sha256_update(&c, b, 4);
    }
    uint8_t dg[32];
    char want[65];
    ul_sha256_final(&c, dg);
    ul_sha256_to_hex(dg, want);
    assert_string_equal(h, want);
    ul_view_free(v);
    ul_view_free(r);
    ul_view_free(less);
    ul_view_free(o);
    ul_dataset_free(d);
    ul_dataset_free(d2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_open),     cmocka_unit_test(test_schema_version),
        cmocka_unit_test(test_add_get_list),    cmocka_unit_test(test_add_invariants),
        cmocka_unit_test(test_graph_fl),        cmocka_unit_test(test_graph_chain_star),
        cmocka_unit_test(test_txn),             cmocka_unit_test(test_check),
        cmocka_unit_test(test_store),           cmocka_unit_test(test_selector_resolve),
        cmocka_unit_test(test_selector_json),   cmocka_unit_test(test_selector_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
