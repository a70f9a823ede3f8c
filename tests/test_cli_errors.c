/* The bad-input table of docs/errors.md, kept true: this test creates every fixture the table names
 * (broken data sets, checkpoints and networks, in $UL_TEST_TMP), parses the table from
 * docs/errors.md ($UL_TEST_SRC) and runs each row's command with the built `unlearn` ($UL_CLI).
 * A row passes when the command exits with the row's code and its stderr contains the row's
 * message (a stable substring) in an "unlearn <command>: error:" line. Every failing row is
 * listed, then the test fails; rows numbered "P<n>" describe behaviour that waits for
 * PROPOSED-forget.diff and are skipped with a message. A crash (a signal, or an exit status the
 * table does not use) always fails.
 *
 * Placeholders in the table's commands: $D good data (IDX, 10 classes, 1x8x8), $M a checkpoint
 * trained on it (mlp:64-16-10), $NET a network built on it (scenario il), $F the fixtures
 * directory, $OUT an empty writable directory. Set UL_ERRORS_VERBOSE=1 to print every row's
 * result.
 */
#include "ul_test.h"

#include <ctype.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "unlearn/io.h"
#include "unlearn/rng.h"

#define SIDE 8
#define ARCH "mlp:64-16-10"
#define MIN_ROWS 45

static const char *g_cli;
static char g_dir[320];
static char g_F[330], g_D[340], g_M[360], g_NET[340], g_OUT[340];

#include "ult_cli.h"

/* ---- fixture helpers ----------------------------------------------------------------- */

static void sh(const char *fmt, ...) UL_PRINTF(1, 2);
static void sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) fail_msg("fixture command failed: %s", cmd);
}

static const char *fx(const char *name) { return ult_path(g_F, name); }

static uint8_t *read_all(const char *path, size_t *n) {
    uint8_t *b = NULL;
    ULT_OK(ul_read_file(path, 0, &b, n));
    return b;
}

/* Overwrite bytes at `off` of a file. */
static void patch(const char *path, long off, const void *bytes, size_t n) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void truncate_to(const char *path, size_t len) {
    size_t n;
    uint8_t *b = read_all(path, &n);
    ult_write(path, b, len < n ? len : n);
    free(b);
}

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A copy of the good data set in $F/<name>. */
static const char *data_copy(const char *name) {
    const char *d = fx(name);
    sh("rm -rf '%s' && cp -r '%s' '%s'", d, g_D, d);
    return d;
}

/* An NPY v1.0 file. */
static void write_npy(const char *path, const char *descr, const int *shape, int ndim, const void *data, size_t nbytes) {
    char h[256], dims[96] = "";
    size_t k = 0;
    for (int i = 0; i < ndim; i++) k += (size_t)snprintf(dims + k, sizeof dims - k, "%d,%s", shape[i], i + 1 < ndim ? " " : "");
    int len = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    while ((10 + len + 1) % 64) h[len++] = ' ';
    h[len++] = '\n';
    uint8_t *b = malloc(10 + (size_t)len + nbytes);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)(len & 0xff);
    b[9] = (uint8_t)(len >> 8);
    memcpy(b + 10, h, (size_t)len);
    memcpy(b + 10 + len, data, nbytes);
    ult_write(path, b, 10 + (size_t)len + nbytes);
    free(b);
}

/* An NPY data set of n 1x8x8 samples: pixels u8 (or f32 when fvals), int64 labels. */
static void npy_set(const char *dir, int n, const float *fvals, const int64_t *labels, bool big_endian) {
    sh("rm -rf '%s' && mkdir -p '%s'", dir, dir);
    int ishape[4] = {n, 1, SIDE, SIDE}, lshape[1] = {n};
    const size_t px = (size_t)n * SIDE * SIDE;
    uint8_t *u8 = malloc(px);
    for (size_t i = 0; i < px; i++) u8[i] = (uint8_t)((i * 37u) % 251u);
    for (int s = 0; s < 2; s++) {
        char ip[700], lp[700];
        snprintf(ip, sizeof ip, "%s/%s_images.npy", dir, s ? "test" : "train");
        snprintf(lp, sizeof lp, "%s/%s_labels.npy", dir, s ? "test" : "train");
        if (fvals) write_npy(ip, big_endian ? ">f4" : "<f4", ishape, 4, fvals, px * sizeof(float));
        else write_npy(ip, "|u1", ishape, 4, u8, px);
        write_npy(lp, "<i8", lshape, 1, labels, (size_t)n * sizeof(int64_t));
    }
    free(u8);
}

/* Rewrite the checkpoint $M into `dst` with tweaks: metadata key `mkey` set to `mval` (NULL: no
 * change), tensor `drop` left out, the first value of tensor `poison` set to `value`. */
static void ckpt_variant(const char *dst, const char *mkey, const char *mval, const char *drop, const char *poison,
                         float value) {
    ul_st_file *f = NULL;
    ULT_OK(ul_st_read(g_M, &f));
    ul_st_writer *w = NULL;
    ULT_OK(ul_st_writer_create(&w));
    for (int i = 0; i < ul_st_count(f); i++) {
        const ul_st_tensor *t = ul_st_get(f, i);
        if (drop && strcmp(t->name, drop) == 0) continue;
        size_t nb = (size_t)(t->end - t->begin);
        uint8_t *data = malloc(nb ? nb : 1);
        memcpy(data, t->data, nb);
        if (poison && strcmp(t->name, poison) == 0) memcpy(data, &value, sizeof value);
        ULT_OK(ul_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, data));
        free(data);
    }
    for (int i = 0; i < ul_st_meta_count(f); i++) {
        const char *k = ul_st_meta_key(f, i);
        ULT_OK(ul_st_writer_meta(w, k, ul_st_meta(f, k)));
    }
    if (mkey) ULT_OK(ul_st_writer_meta(w, mkey, mval));
    ULT_OK(ul_st_writer_save(w, dst));
    ul_st_writer_free(w);
    ul_st_free(f);
}

static void sql(const char *netdir, const char *q) {
    sqlite3 *db = NULL;
    char path[700], *err = NULL;
    snprintf(path, sizeof path, "%s/umig.db", netdir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", q, err ? err : "?");
    sqlite3_close(db);
}

/* One text value from the registry of a network. */
static void sql_text(const char *netdir, const char *q, char *out, size_t cap) {
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    char path[700];
    snprintf(path, sizeof path, "%s/umig.db", netdir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* Put bytes into a network's store under their SHA-256; hex gets the name. */
static void put_object(const char *netdir, const void *b, size_t n, const char *ext, char hex[65]) {
    ul_sha256_hex(b, n, hex);
    char p[800];
    snprintf(p, sizeof p, "%s/objects/%s.%s", netdir, hex, ext);
    ult_write(p, b, n);
}

static const char *net_copy(const char *name) {
    const char *d = fx(name);
    sh("rm -rf '%s' && cp -r '%s' '%s'", d, g_NET, d);
    return d;
}

/* ---- the fixtures -------------------------------------------------------------------- */

static void make_data_fixtures(void) {
    char p[800];
    uint8_t b4[4];
    /* IDX: wrong magic, truncated pixels, absurd shape, label count mismatch, truncated labels */
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", data_copy("idx-magic"));
    be32(b4, 0x00000804);
    patch(p, 0, b4, 4);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", data_copy("idx-trunc"));
    truncate_to(p, 1000);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", data_copy("idx-absurd"));
    uint8_t dims[12];
    be32(dims, 0xffffffffu), be32(dims + 4, 0xffff), be32(dims + 8, 0xffff);
    patch(p, 4, dims, 12);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", data_copy("idx-count"));
    be32(b4, 300);
    patch(p, 4, b4, 4);
    truncate_to(p, 8 + 300);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", data_copy("idx-lab-trunc"));
    truncate_to(p, 200);
    /* labels missing, or a directory in their place */
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", data_copy("idx-nolabels"));
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", data_copy("idx-labelsdir"));
    assert_int_equal(unlink(p), 0);
    assert_int_equal(mkdir(p, 0755), 0);
    /* gzip cut short */
    const char *gz = data_copy("idx-gz");
    sh("cd '%s' && gzip -c train-images-idx3-ubyte | head -c 3000 > train-images-idx3-ubyte.gz && rm train-images-idx3-ubyte",
       gz);
    /* a label out of the range the scenarios need: only 4 classes */
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", data_copy("classes4"));
    size_t n;
    uint8_t *lb = read_all(p, &n);
    for (size_t i = 8; i < n; i++) lb[i] %= 4;
    ult_write(p, lb, n);
    free(lb);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", fx("classes4"));
    lb = read_all(p, &n);
    for (size_t i = 8; i < n; i++) lb[i] %= 4;
    ult_write(p, lb, n);
    free(lb);
    /* NPY: a negative label, NaN pixels, huge pixels (training diverges), big-endian floats,
     * label count that does not match; 3-channel images (a model of 1x8x8 does not fit) */
    enum { NN = 60 };
    int64_t labels[NN];
    for (int i = 0; i < NN; i++) labels[i] = i % 10;
    static float fv[NN * SIDE * SIDE];
    npy_set(fx("npy-good"), NN, NULL, labels, false);
    labels[3] = -1;
    npy_set(fx("npy-neglabel"), NN, NULL, labels, false);
    labels[3] = 3;
    for (int i = 0; i < NN * SIDE * SIDE; i++) fv[i] = (float)NAN;
    npy_set(fx("npy-nan"), NN, fv, labels, false);
    ul_rng r;
    ul_rng_seed(&r, 5);
    for (int i = 0; i < NN * SIDE * SIDE; i++) fv[i] = (float)((int)ul_rng_below(&r, 3) - 1) * 1e30f;
    npy_set(fx("npy-huge"), NN, fv, labels, false);
    for (int i = 0; i < NN * SIDE * SIDE; i++) fv[i] = 0.5f;
    npy_set(fx("npy-bigendian"), NN, fv, labels, true);
    npy_set(fx("npy-count"), NN, NULL, labels, false);
    int lshape[1] = {NN - 10};
    snprintf(p, sizeof p, "%s/train_labels.npy", fx("npy-count"));
    write_npy(p, "<i8", lshape, 1, labels, (NN - 10) * sizeof(int64_t));
    {
        const char *rgb = fx("npy-rgb");
        sh("rm -rf '%s' && mkdir -p '%s'", rgb, rgb);
        int shape[4] = {NN, 3, SIDE, SIDE}, ls[1] = {NN};
        uint8_t *px = calloc((size_t)NN * 3 * SIDE * SIDE, 1);
        for (int s = 0; s < 2; s++) {
            char ip[700], lp[700];
            snprintf(ip, sizeof ip, "%s/%s_images.npy", rgb, s ? "test" : "train");
            snprintf(lp, sizeof lp, "%s/%s_labels.npy", rgb, s ? "test" : "train");
            write_npy(ip, "|u1", shape, 4, px, (size_t)NN * 3 * SIDE * SIDE);
            write_npy(lp, "<i8", ls, 1, labels, sizeof labels);
        }
        free(px);
    }
    /* CIFAR-10 with only the first training batch */
    const char *cif = fx("cifar-one");
    sh("rm -rf '%s' && mkdir -p '%s'", cif, cif);
    uint8_t *rec = calloc(20 * 3073, 1);
    for (int i = 0; i < 20; i++) rec[i * 3073] = (uint8_t)(i % 10);
    snprintf(p, sizeof p, "%s/data_batch_1.bin", cif);
    ult_write(p, rec, 20 * 3073);
    snprintf(p, sizeof p, "%s/test_batch.bin", cif);
    ult_write(p, rec, 20 * 3073);
    free(rec);
    /* an empty directory, a non-empty directory, a plain file */
    sh("rm -rf '%s' && mkdir -p '%s'", fx("empty"), fx("empty"));
    sh("rm -rf '%s' && mkdir -p '%s' && echo notes > '%s/notes.txt'", fx("notempty"), fx("notempty"), fx("notempty"));
    sh("echo hello > '%s'", fx("afile"));
}

static void make_ckpt_fixtures(void) {
    ult_write(fx("empty.safetensors"), "", 0);
    size_t n;
    uint8_t *b = read_all(g_M, &n);
    ult_write(fx("trunc.safetensors"), b, 100);
    free(b);
    sh("cp '%s/train-labels-idx1-ubyte' '%s'", g_D, fx("idx.safetensors")); /* another format entirely */
    uint8_t hdr[8 + 16] = {16, 0, 0, 0, 0, 0, 0, 0};
    memcpy(hdr + 8, "{not json at all", 16);
    ult_write(fx("badjson.safetensors"), hdr, sizeof hdr);
    ckpt_variant(fx("nan.safetensors"), NULL, NULL, NULL, "fc1.bias", (float)NAN);
    ckpt_variant(fx("inf.safetensors"), NULL, NULL, NULL, "fc2.weight", (float)INFINITY);
    ckpt_variant(fx("unknown-arch.safetensors"), "arch", "transformer:12", NULL, NULL, 0.0f);
    ckpt_variant(fx("arch-mismatch.safetensors"), "arch", "mlp:64-32-10", NULL, NULL, 0.0f);
    ckpt_variant(fx("missing-tensor.safetensors"), NULL, NULL, "fc2.bias", NULL, 0.0f);
    ckpt_variant(fx("future.safetensors"), "format_version", "2", NULL, NULL, 0.0f);
    /* a safetensors file without our metadata (as PyTorch writes it) */
    ul_st_writer *w = NULL;
    ULT_OK(ul_st_writer_create(&w));
    float v[4] = {1, 2, 3, 4};
    int64_t shape[1] = {4};
    ULT_OK(ul_st_writer_add(w, "weight", UL_DT_F32, 1, shape, v));
    ULT_OK(ul_st_writer_save(w, fx("plain.safetensors")));
    ul_st_writer_free(w);
}

static void make_net_fixtures(void) {
    char u0[65], u1[65], path[800];
    sql_text(g_NET, "SELECT ckpt FROM versions WHERE name = 'u0' AND version = 1", u0, sizeof u0);
    sql_text(g_NET, "SELECT ckpt FROM versions WHERE name = 'u1' AND version = 1", u1, sizeof u1);
    /* a flipped byte in u0's checkpoint (it still parses), and u0's checkpoint gone */
    snprintf(path, sizeof path, "%s/objects/%s.safetensors", net_copy("net-corrupt"), u0);
    size_t n;
    uint8_t *b = read_all(path, &n);
    b[n - 5] ^= 0x40;
    ult_write(path, b, n);
    free(b);
    snprintf(path, sizeof path, "%s/objects/%s.safetensors", net_copy("net-noobject"), u0);
    assert_int_equal(unlink(path), 0);
    /* a cycle u3 -> u0, a parent that does not exist, a checkpoint name that walks out of the store */
    sql(net_copy("net-cycle"), "PRAGMA foreign_keys=OFF; UPDATE models SET edge='continue' WHERE name='u0';"
                               "INSERT INTO parents VALUES('u0', 0, 'u3');");
    sql(net_copy("net-ghost"), "PRAGMA foreign_keys=OFF; UPDATE parents SET parent='ghost' WHERE child='u2';");
    sql(net_copy("net-traversal"), "UPDATE versions SET ckpt='../../../../etc/passwd' WHERE name='u1';");
    /* checkpoints that hash right but are wrong: NaN weights, another architecture */
    char hex[65], q[400];
    const char *d = net_copy("net-nan");
    b = read_all(fx("nan.safetensors"), &n);
    put_object(d, b, n, "safetensors", hex);
    free(b);
    snprintf(q, sizeof q, "UPDATE versions SET ckpt='%s' WHERE name='u0';", hex);
    sql(d, q);
    d = net_copy("net-arch");
    b = read_all(fx("other.safetensors"), &n);
    put_object(d, b, n, "safetensors", hex);
    free(b);
    snprintf(q, sizeof q, "UPDATE versions SET ckpt='%s' WHERE name='u1';", hex);
    sql(d, q);
    /* a Fisher cache with negative and infinite values */
    d = net_copy("net-fisher");
    char fi[65];
    sql_text(d, "SELECT fisher FROM versions WHERE name = 'u0' AND version = 1", fi, sizeof fi);
    snprintf(path, sizeof path, "%s/objects/%s.fisher", d, fi);
    ul_st_file *f = NULL;
    ULT_OK(ul_st_read(path, &f));
    const ul_st_tensor *t = ul_st_find(f, "fisher");
    assert_non_null(t);
    size_t P = (size_t)t->shape[0];
    float *F = malloc(P * sizeof *F);
    for (size_t i = 0; i < P; i++) F[i] = i % 2 ? -1.0f : -INFINITY;
    ul_st_writer *w = NULL;
    ULT_OK(ul_st_writer_create(&w));
    int64_t shape[1] = {(int64_t)P};
    ULT_OK(ul_st_writer_add(w, "fisher", UL_DT_F32, 1, shape, F));
    for (int i = 0; i < ul_st_meta_count(f); i++) ULT_OK(ul_st_writer_meta(w, ul_st_meta_key(f, i), ul_st_meta(f, ul_st_meta_key(f, i))));
    uint8_t *buf = NULL;
    size_t len = 0;
    ULT_OK(ul_st_writer_to_buffer(w, &buf, &len));
    put_object(d, buf, len, "fisher", hex);
    snprintf(q, sizeof q, "UPDATE versions SET fisher='%s' WHERE name='u0' AND version = 1;", hex);
    sql(d, q);
    free(buf);
    free(F);
    ul_st_writer_free(w);
    ul_st_free(f);
    /* registries: random bytes, an SQLite file of something else, a future format version */
    d = net_copy("net-garbage");
    snprintf(path, sizeof path, "%s/umig.db", d);
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 131u + 7u);
    ult_write(path, junk, sizeof junk);
    d = net_copy("net-nometa");
    sql(d, "DROP TABLE meta;");
    d = net_copy("net-future");
    sql(d, "UPDATE meta SET value='99' WHERE key='version';");
    /* recipes (unlearn run) and a method-benchmark results file (unlearn report) */
    static const char rnj[] = "{\"recipe\": 1,";
    ult_write(fx("recipe-notjson.json"), rnj, strlen(rnj));
#define RECIPE_HEAD "{\"recipe\": 1, \"name\": \"r\", \"kind\": \"forget\", \"data\": \"x\", \"forget\": {\"labels\": \"3\"}, "
#define RECIPE_EXPECT "\"expect\": [{\"metric\": \"models\", \"min\": 1, \"source\": \"measured\"}]"
    static const char run_unknown[] = RECIPE_HEAD "\"network\": {\"scenario\": \"il\"}, " RECIPE_EXPECT ", \"colour\": 1}";
    ult_write(fx("recipe-unknown.json"), run_unknown, strlen(run_unknown));
    static const char run_type[] = RECIPE_HEAD "\"network\": {\"scenario\": \"il\", \"epochs\": \"2\"}, " RECIPE_EXPECT "}";
    ult_write(fx("recipe-type.json"), run_type, strlen(run_type));
#undef RECIPE_HEAD
#undef RECIPE_EXPECT
    static const char bench_bad[] = "{\"command\": \"bench methods\", \"config\": 5, \"runs\": [], \"summary\": []}";
    ult_write(fx("bench-bad.json"), bench_bad, strlen(bench_bad));
}

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    if (!g_cli || access(g_cli, X_OK) != 0 || !getenv("UL_TEST_SRC")) {
        fprintf(stderr, "test_cli_errors: UL_CLI and UL_TEST_SRC must be set\n");
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "%.300s", ult_tmpdir("test_cli_errors"));
    snprintf(g_F, sizeof g_F, "%.300s/fx", g_dir);
    snprintf(g_D, sizeof g_D, "%.300s/data", g_F);
    snprintf(g_M, sizeof g_M, "%.300s/model.safetensors", g_F);
    snprintf(g_NET, sizeof g_NET, "%.300s/net", g_F);
    snprintf(g_OUT, sizeof g_OUT, "%.300s/out", g_dir);
    mkdir(g_F, 0755);
    mkdir(g_D, 0755);
    mkdir(g_OUT, 0755);
    ult_write_pattern_idx(ult_path(g_D, "train-images-idx3-ubyte"), ult_path(g_D, "train-labels-idx1-ubyte"), 400, SIDE, 31);
    ult_write_pattern_idx(ult_path(g_D, "t10k-images-idx3-ubyte"), ult_path(g_D, "t10k-labels-idx1-ubyte"), 100, SIDE, 32);
    run_result r = run("train --data '%s' --arch " ARCH " --epochs 1 --threads 2 -q -o '%s'", g_D, g_M);
    int ok = r.code == 0;
    if (!ok) fprintf(stderr, "train failed:\n%s", r.err);
    run_free(&r);
    r = run("train --data '%s' --arch mlp:64-8-10 --epochs 0 -q -o '%s'", g_D, ult_path(g_F, "other.safetensors"));
    ok = ok && r.code == 0;
    run_free(&r);
    r = run("net build '%s' --scenario il --data '%s' --arch " ARCH " --epochs 1 --threads 2 -q", g_NET, g_D);
    if (r.code != 0) fprintf(stderr, "net build failed:\n%s", r.err);
    ok = ok && r.code == 0;
    run_free(&r);
    return ok ? 0 : -1;
}

/* ---- the table ----------------------------------------------------------------------- */

typedef struct row {
    char id[16];
    char what[256];
    char cmd[1024];
    int code;
    char msg[512];
} row;

/* The text between the first pair of backticks of a cell into out. */
static bool backticked(const char *cell, size_t len, char *out, size_t cap) {
    const char *a = memchr(cell, '`', len);
    if (!a) return false;
    const char *b = memchr(a + 1, '`', len - (size_t)(a + 1 - cell));
    if (!b || (size_t)(b - a - 1) >= cap) return false;
    memcpy(out, a + 1, (size_t)(b - a - 1));
    out[b - a - 1] = '\0';
    return true;
}

/* Table rows: "| <id> | <what> | `<command>` | <code> | `<message>` |", id a number or P<number>. */
static size_t parse_rows(const char *doc, row **out) {
    size_t n = 0, cap = 0;
    row *v = NULL;
    for (const char *line = doc; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *p = line;
        if (len > 2 && p[0] == '|' && p[1] == ' ' && (isdigit((unsigned char)p[2]) || (p[2] == 'P' && isdigit((unsigned char)p[3])))) {
            const char *cells[8];
            size_t clen[8];
            int nc = 0;
            const char *c = p + 1;
            for (const char *q = c; q < line + len && nc < 8; q++)
                if (*q == '|') {
                    cells[nc] = c;
                    clen[nc++] = (size_t)(q - c);
                    c = q + 1;
                }
            if (nc != 5) fail_msg("docs/errors.md: a table row does not have 5 cells: %.*s", (int)len, line);
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                v = realloc(v, cap * sizeof *v);
            }
            row *r = &v[n];
            memset(r, 0, sizeof *r);
            sscanf(cells[0], " %15s", r->id);
            size_t wl = clen[1] < sizeof r->what ? clen[1] : sizeof r->what - 1;
            memcpy(r->what, cells[1], wl);
            if (!backticked(cells[2], clen[2], r->cmd, sizeof r->cmd) || strncmp(r->cmd, "unlearn ", 8) != 0 ||
                sscanf(cells[3], " %d", &r->code) != 1 || !backticked(cells[4], clen[4], r->msg, sizeof r->msg) || !r->msg[0])
                fail_msg("docs/errors.md: cannot parse row %s: %.*s", r->id, (int)len, line);
            n++;
        }
        line = eol ? eol + 1 : NULL;
    }
    *out = v;
    return n;
}

/* Replace the placeholders with quoted paths. */
static void expand(const char *in, char *out, size_t cap) {
    static const struct {
        const char *name;
        const char *val;
    } ph[] = {{"$NET", g_NET}, {"$OUT", g_OUT}, {"$D", g_D}, {"$M", g_M}, {"$F", g_F}};
    size_t k = 0;
    for (const char *p = in; *p && k + 1 < cap;) {
        bool hit = false;
        for (size_t i = 0; i < sizeof ph / sizeof *ph && !hit; i++) {
            size_t l = strlen(ph[i].name);
            if (strncmp(p, ph[i].name, l) == 0) {
                k += (size_t)snprintf(out + k, cap - k, "'%s'", ph[i].val);
                p += l;
                hit = true;
            }
        }
        if (!hit) out[k++] = *p++;
    }
    out[k < cap ? k : cap - 1] = '\0';
}

static void test_table(void **s) {
    (void)s;
    char path[700];
    snprintf(path, sizeof path, "%s/docs/errors.md", getenv("UL_TEST_SRC"));
    char *doc = slurp(path, NULL);
    if (!doc) fail_msg("cannot read %s", path);
    make_data_fixtures();
    make_ckpt_fixtures();
    make_net_fixtures();
    row *rows = NULL;
    size_t n = parse_rows(doc, &rows);
    const bool verbose = getenv("UL_ERRORS_VERBOSE") && *getenv("UL_ERRORS_VERBOSE") == '1';
    size_t active = 0, pending = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        row *r = &rows[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(rows[j].id, r->id) == 0) fail_msg("docs/errors.md: row %s appears twice", r->id);
        if (r->id[0] == 'P') {
            pending++;
            print_message("row %s skipped: pending PROPOSED-forget.diff (%s)\n", r->id, r->what);
            continue;
        }
        active++;
        if (r->code == 4 || r->code == 0) fail_msg("docs/errors.md row %s: exit %d is not a bad-input status", r->id, r->code);
        char cmd[4096];
        expand(r->cmd + 8, cmd, sizeof cmd);
        run_result o = run("%s", cmd);
        const bool crashed = o.code < 0 || o.code > 6;
        /* the message is on stderr; `net check` lists its problems on stdout (and says how many on stderr) */
        const bool ok = !crashed && o.code == r->code && (strstr(o.err, r->msg) || strstr(o.out, r->msg)) &&
                        strstr(o.err, ": error: ") != NULL;
        if (verbose || !ok)
            print_message("%s row %s: %s\n  exit %d (table: %d), wanted '%s'%s\n  stderr: %s  stdout: %.600s\n",
                          ok ? "ok" : "FAILED", r->id, r->cmd, o.code, r->code, r->msg,
                          crashed ? " (crashed or an unknown exit status)" : "", o.err, o.out);
        failed += !ok;
        run_free(&o);
    }
    print_message("docs/errors.md: %zu rows run, %zu failed, %zu pending\n", active, failed, pending);
    free(rows);
    free(doc);
    if (active < MIN_ROWS) fail_msg("docs/errors.md lists %zu bad inputs, fewer than %d", active, MIN_ROWS);
    if (failed) fail_msg("%zu rows of docs/errors.md no longer hold (see above)", failed);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_table)};
    return cmocka_run_group_tests(tests, setup, NULL);
}
