/* ul_net_build (src/net/build.c, scenarios.c) on a tiny synthetic IDX dataset: 10 classes of 1x8x8
 * images (a bright row or column per class plus noise, ult_write_pattern_idx), 800 training and 200 test samples, arch
 * mlp:64-32-10. Every scenario is built and checked for its shape (node count, edge types, depth),
 * label bookkeeping (learned, inherited), the roots of a label, a clean ul_net_check, transfer
 * training only the head, averaging, the max_samples cap, determinism (same seed: same checkpoint
 * hashes; other seed: other hashes), resuming after a build killed between two models (a forked
 * child that _exits from the node callback), the refusal of a different recipe, and argument errors.
 */
#include "ul_test.h"

#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "unlearn/data.h"
#include "unlearn/io.h"
#include "unlearn/rng.h"
#include "unlearn/train.h"
#include "unlearn/net.h"

#define N_TRAIN 800
#define N_TEST 200
#define SIDE 8
#define ARCH "mlp:64-32-10"

static char g_dir[256];
static char g_data[512];

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int setup(void **state) {
    (void)state;
    if (snprintf(g_dir, sizeof g_dir, "%s", ult_tmpdir("test_net_build")) >= (int)sizeof g_dir ||
        snprintf(g_data, sizeof g_data, "%s/data", g_dir) >= (int)sizeof g_data)
        return -1;
    mkdir(g_data, 0755);
    ult_write_pattern_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), N_TRAIN,
                          SIDE, 11);
    ult_write_pattern_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), N_TEST, SIDE,
                          12);
    ul_set_threads(2);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------- */

typedef struct done_log {
    int calls, kept;
    int exit_after; /* > 0: _exit(0) after this many models were built (simulated crash) */
} done_log;

static void on_done(const ul_node *node, double seconds, void *user) {
    done_log *d = user;
    assert_non_null(node);
    d->calls++;
    if (seconds < 0) d->kept++;
    if (d->exit_after > 0 && d->calls - d->kept >= d->exit_after) _exit(0);
}

static ul_build_params params(const char *scenario, done_log *dl) {
    ul_build_params p;
    memset(&p, 0, sizeof p);
    p.scenario = scenario;
    p.data = g_data;
    p.arch = ARCH;
    p.seed = 5;
    p.node_done = dl ? on_done : NULL;
    p.node_user = dl;
    return p;
}

static const char *net_dir(const char *name) {
    static char b[4][600];
    static int k;
    char *s = b[k++ & 3];
    snprintf(s, 600, "%s/%s", g_dir, name);
    return s;
}

/* Build, timing it; every scenario must build within 2 s on this data. */
static void build_ok(const char *dir, const ul_build_params *p) {
    double t0 = ul_now();
    ULT_OK(ul_net_build(dir, p));
    double dt = ul_now() - t0;
    print_message("  %s (%s): %.3f s\n", p->scenario, dir, dt);
    if (dt > 2.0) fail_msg("building %s took %.2f s, expected < 2 s", p->scenario, dt);
}

typedef struct netview {
    ul_net *n;
    ul_node *v;
    size_t count;
} netview;

static netview open_view(const char *dir) {
    netview nv = {0};
    ULT_OK(ul_net_open(dir, true, &nv.n));
    ULT_OK(ul_net_list(nv.n, &nv.v, &nv.count));
    return nv;
}

static void close_view(netview *nv) {
    free(nv->v);
    ul_net_close(nv->n);
}

static const ul_node *node_of(const netview *nv, const char *name) {
    for (size_t i = 0; i < nv->count; i++)
        if (strcmp(nv->v[i].name, name) == 0) return &nv->v[i];
    fail_msg("no model '%s' in the network", name);
    return NULL;
}

static void expect_node(const netview *nv, const char *name, ul_edge_type e, const char *parents, const char *learned,
                        const char *inherited) {
    const ul_node *x = node_of(nv, name);
    if (x->edge != e) fail_msg("%s: edge %s, expected %s", name, ul_edge_name(x->edge), ul_edge_name(e));
    char ps[512] = "";
    for (int i = 0; i < x->nparents; i++) {
        strcat(ps, i ? "," : "");
        strcat(ps, x->parents[i]);
    }
    if (strcmp(ps, parents) != 0) fail_msg("%s: parents '%s', expected '%s'", name, ps, parents);
    if (strcmp(x->learned, learned) != 0) fail_msg("%s: learned '%s', expected '%s'", name, x->learned, learned);
    if (strcmp(x->inherited, inherited) != 0) fail_msg("%s: inherited '%s', expected '%s'", name, x->inherited, inherited);
    if (!(x->test_acc >= 0.0 && x->test_acc <= 1.0)) fail_msg("%s: test_acc %g", name, x->test_acc);
    assert_int_equal(x->version, 1);
    assert_int_equal(strlen(x->ckpt), 64);
    assert_int_equal(strlen(x->fisher), 64); /* I_D cached at creation (per-sample, last layer) */
    assert_string_equal(x->own.split, "train");
    assert_string_equal(x->own.labels, learned);
}

/* Roots of one label as "a,b" (creation order). */
static void expect_roots(const netview *nv, int32_t label, const char *want) {
    ul_name_list l = {0};
    ULT_OK(ul_net_roots(nv->n, &label, 1, &l));
    char got[512] = "";
    for (size_t i = 0; i < l.n; i++) {
        strcat(got, i ? "," : "");
        strcat(got, l.names[i]);
    }
    ul_name_list_free(&l);
    if (strcmp(got, want) != 0) fail_msg("roots of label %d: '%s', expected '%s'", (int)label, got, want);
}

static void expect_clean(const netview *nv) {
    char *report = NULL;
    size_t problems = 99;
    ULT_OK(ul_net_check(nv->n, &report, &problems));
    if (problems != 0) fail_msg("ul_net_check found %zu problems:\n%s", problems, report ? report : "");
    free(report);
}

/* Longest parent chain (in edges) of the current graph. */
static int graph_depth(const netview *nv) {
    int *d = calloc(nv->count, sizeof *d), best = 0;
    assert_non_null(d);
    for (size_t i = 0; i < nv->count; i++) {
        for (int p = 0; p < nv->v[i].nparents; p++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(nv->v[j].name, nv->v[i].parents[p]) == 0 && d[j] + 1 > d[i]) d[i] = d[j] + 1;
        if (d[i] > best) best = d[i];
    }
    free(d);
    return best;
}

static int edge_types_present(const netview *nv) {
    int mask = 0;
    for (size_t i = 0; i < nv->count; i++) mask |= 1 << nv->v[i].edge;
    return mask;
}

static double recipe_num(const ul_node *x, const char *key) {
    cJSON *j = cJSON_Parse(x->recipe);
    if (!j) fail_msg("%s: recipe is not JSON: %s", x->name, x->recipe);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v)) fail_msg("%s: recipe lacks number '%s': %s", x->name, key, x->recipe);
    double r = v->valuedouble;
    cJSON_Delete(j);
    return r;
}

static bool recipe_bool(const ul_node *x, const char *key) {
    cJSON *j = cJSON_Parse(x->recipe);
    assert_non_null(j);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_true(cJSON_IsBool(v));
    bool r = cJSON_IsTrue(v);
    cJSON_Delete(j);
    return r;
}

/* ---- scenarios ------------------------------------------------------------------------ */

static void test_il(void **s) {
    (void)s;
    done_log dl = {0};
    ul_build_params p = params("il", &dl);
    build_ok(net_dir("il"), &p);
    assert_int_equal(dl.calls, 4);
    assert_int_equal(dl.kept, 0);
    netview nv = open_view(net_dir("il"));
    assert_int_equal(nv.count, 4);
    expect_node(&nv, "u0", UL_EDGE_NONE, "", "0-5", "");
    expect_node(&nv, "u1", UL_EDGE_CONTINUE, "u0", "0-6", "");
    expect_node(&nv, "u2", UL_EDGE_CONTINUE, "u1", "0-7", "");
    expect_node(&nv, "u3", UL_EDGE_CONTINUE, "u2", "0-9", "");
    assert_int_equal(graph_depth(&nv), 3);
    expect_roots(&nv, 0, "u0");
    expect_roots(&nv, 6, "u1");
    expect_roots(&nv, 9, "u3");
    /* continue uses lr 0.01, scratch models the default 0.05; 2 epochs by default */
    assert_int_equal((int)recipe_num(node_of(&nv, "u0"), "epochs"), 2);
    assert_false(recipe_bool(node_of(&nv, "u1"), "head_only"));
    /* every model has its own data: distinct selections */
    for (size_t i = 0; i < nv.count; i++)
        for (size_t j = 0; j < i; j++) assert_string_not_equal(nv.v[i].own_hash, nv.v[j].own_hash);
    expect_clean(&nv);
    close_view(&nv);
}

static void test_tl(void **s) {
    (void)s;
    ul_build_params p = params("tl", NULL);
    build_ok(net_dir("tl"), &p);
    netview nv = open_view(net_dir("tl"));
    assert_int_equal(nv.count, 4);
    expect_node(&nv, "u0", UL_EDGE_NONE, "", "0-5", "");
    expect_node(&nv, "u1", UL_EDGE_TRANSFER, "u0", "0-6", "");
    expect_node(&nv, "u2", UL_EDGE_TRANSFER, "u0", "0-7", "");
    expect_node(&nv, "u3", UL_EDGE_TRANSFER, "u0", "0-9", "");
    assert_int_equal(graph_depth(&nv), 1);
    expect_roots(&nv, 0, "u0");
    expect_roots(&nv, 8, "u3");
    /* transfer trains only the head: the children's fc1 equals the root's, fc2 differs */
    ul_model *root = NULL;
    ULT_OK(ul_net_load_model(nv.n, node_of(&nv, "u0"), &root));
    for (int k = 1; k <= 3; k++) {
        char name[8];
        snprintf(name, sizeof name, "u%d", k);
        const ul_node *x = node_of(&nv, name);
        assert_true(recipe_bool(x, "head_only"));
        ul_model *m = NULL;
        ULT_OK(ul_net_load_model(nv.n, x, &m));
        const ul_tensor_info *w1 = ul_model_find_tensor(m, "fc1.weight"), *w2 = ul_model_find_tensor(m, "fc2.weight");
        assert_non_null(w1);
        assert_non_null(w2);
        if (memcmp(ul_model_params_const(m) + w1->offset, ul_model_params_const(root) + w1->offset,
                   w1->numel * sizeof(float)) != 0)
            fail_msg("%s: transfer changed the backbone (fc1.weight)", name);
        if (memcmp(ul_model_params_const(m) + w2->offset, ul_model_params_const(root) + w2->offset,
                   w2->numel * sizeof(float)) == 0)
            fail_msg("%s: transfer did not train the head (fc2.weight unchanged)", name);
        ul_model_free(m);
    }
    ul_model_free(root);
    expect_clean(&nv);
    close_view(&nv);
}

static void test_fl(void **s) {
    (void)s;
    ul_build_params p = params("fl", NULL);
    build_ok(net_dir("fl"), &p);
    netview nv = open_view(net_dir("fl"));
    assert_int_equal(nv.count, 8);
    expect_node(&nv, "d", UL_EDGE_NONE, "", "1-9", "");
    expect_node(&nv, "s", UL_EDGE_NONE, "", "1-7", "");
    expect_node(&nv, "r1", UL_EDGE_AVG, "d,s", "0-9", "");
    expect_node(&nv, "r2", UL_EDGE_AVG, "s,r1", "0-9", "");
    expect_node(&nv, "r3", UL_EDGE_AVG, "d,r2", "0-6", "7-9");
    expect_node(&nv, "r4", UL_EDGE_AVG, "r1,r2", "0-6", "7-9");
    expect_node(&nv, "r5", UL_EDGE_AVG, "r3,r4", "1-7", "0,8-9");
    expect_node(&nv, "r6", UL_EDGE_AVG, "s,r5", "1-9", "0");
    assert_true(graph_depth(&nv) >= 3);
    /* label 0: r1 is the first client that holds it; r2..r5 hold it too but inherit it from r1 */
    expect_roots(&nv, 0, "r1");
    expect_roots(&nv, 9, "d");
    expect_roots(&nv, 3, "d,s");
    /* a client keeps its data across rounds: r1 and r2 (client 1) train on the same samples */
    assert_string_equal(node_of(&nv, "r1")->own_hash, node_of(&nv, "r2")->own_hash);
    assert_string_not_equal(node_of(&nv, "r1")->own_hash, node_of(&nv, "d")->own_hash);
    expect_clean(&nv);
    close_view(&nv);
}

/* agg starts from the element-wise mean of w1, w2, w3 (BN buffers included) and then trains one
 * short epoch, so it must lie much closer to that mean than to any single worker. */
static void expect_near_mean(const netview *nv, const char *child, const char *const *names, int np) {
    ul_model *w[UL_NET_MAX_PARENTS] = {NULL}, *c = NULL;
    for (int k = 0; k < np; k++) ULT_OK(ul_net_load_model(nv->n, node_of(nv, names[k]), &w[k]));
    ULT_OK(ul_net_load_model(nv->n, node_of(nv, child), &c));
    size_t nvals = ul_model_num_values(c);
    double dmean = 0, dpar[UL_NET_MAX_PARENTS] = {0};
    for (size_t i = 0; i < nvals; i++) {
        double mean = 0, a = ul_model_params_const(c)[i];
        for (int k = 0; k < np; k++) mean += ul_model_params_const(w[k])[i];
        mean /= np;
        dmean += (a - mean) * (a - mean);
        for (int k = 0; k < np; k++) {
            double d = a - ul_model_params_const(w[k])[i];
            dpar[k] += d * d;
        }
    }
    for (int k = 0; k < np; k++)
        if (!(dmean < 0.5 * dpar[k]))
            fail_msg("%s is not near the mean of its parents (squared distance %g) compared with %s (%g)", child, dmean,
                     names[k], dpar[k]);
    for (int k = 0; k < np; k++) ul_model_free(w[k]);
    ul_model_free(c);
}

static void test_ddpl(void **s) {
    (void)s;
    ul_build_params p = params("ddpl", NULL);
    build_ok(net_dir("ddpl"), &p);
    netview nv = open_view(net_dir("ddpl"));
    assert_int_equal(nv.count, 4);
    expect_node(&nv, "w1", UL_EDGE_NONE, "", "0-9", "");
    expect_node(&nv, "w2", UL_EDGE_NONE, "", "0-9", "");
    expect_node(&nv, "w3", UL_EDGE_NONE, "", "0-6", "");
    expect_node(&nv, "agg", UL_EDGE_AVG, "w1,w2,w3", "0-9", "");
    assert_int_equal((int)recipe_num(node_of(&nv, "agg"), "epochs"), 1); /* brief fine-tune */
    expect_roots(&nv, 0, "w1,w2,w3");                                      /* multi-root */
    expect_roots(&nv, 8, "w1,w2");
    /* workers on disjoint shards of the same label set */
    const ul_node *w1 = node_of(&nv, "w1"), *w2 = node_of(&nv, "w2");
    assert_int_equal(w1->own.nshards, w2->own.nshards);
    assert_int_not_equal(w1->own.shard, w2->own.shard);
    assert_true(w1->own.shard_seed == w2->own.shard_seed);
    static const char *const workers[3] = {"w1", "w2", "w3"};
    expect_near_mean(&nv, "agg", workers, 3);
    expect_clean(&nv);
    close_view(&nv);
}

/* Hashes of every current checkpoint, in creation order, concatenated. */
static char *hashes(const char *dir) {
    netview nv = open_view(dir);
    char *h = calloc(nv.count * 65 + 1, 1);
    assert_non_null(h);
    for (size_t i = 0; i < nv.count; i++) strcat(h, nv.v[i].ckpt);
    close_view(&nv);
    return h;
}

static void test_mixed(void **s) {
    (void)s;
    done_log dl = {0};
    ul_build_params p = params("mixed", &dl);
    build_ok(net_dir("mixed"), &p);
    netview nv = open_view(net_dir("mixed"));
    assert_true(nv.count >= 8);
    assert_int_equal(edge_types_present(&nv), (1 << UL_EDGE_NONE) | (1 << UL_EDGE_AVG) | (1 << UL_EDGE_CONTINUE) |
                                                  (1 << UL_EDGE_TRANSFER) | (1 << UL_EDGE_FINETUNE));
    assert_true(graph_depth(&nv) >= 3);
    expect_node(&nv, "a", UL_EDGE_NONE, "", "0-5", "");
    expect_node(&nv, "b", UL_EDGE_NONE, "", "3-9", "");
    expect_node(&nv, "c", UL_EDGE_AVG, "a,b", "0-7", "8-9");
    expect_node(&nv, "d", UL_EDGE_CONTINUE, "c", "0-9", "");
    expect_node(&nv, "e", UL_EDGE_TRANSFER, "c", "0-7", "8-9");
    expect_node(&nv, "f", UL_EDGE_FINETUNE, "d", "2-9", "0-1");
    expect_node(&nv, "g", UL_EDGE_AVG, "d,f", "0-9", "");
    expect_node(&nv, "h", UL_EDGE_TRANSFER, "g", "0-9", "");
    expect_roots(&nv, 0, "a");
    expect_roots(&nv, 4, "a,b");
    expect_roots(&nv, 9, "b");
    expect_clean(&nv);
    size_t count = nv.count;
    close_view(&nv);

    /* a rebuild is a no-op: every model kept, same checkpoints, no new versions */
    char *h1 = hashes(net_dir("mixed"));
    done_log d2 = {0};
    p = params("mixed", &d2);
    ULT_OK(ul_net_build(net_dir("mixed"), &p));
    assert_int_equal(d2.calls, (int)count);
    assert_int_equal(d2.kept, (int)count);
    char *h2 = hashes(net_dir("mixed"));
    assert_string_equal(h1, h2);
    netview again = open_view(net_dir("mixed"));
    for (size_t i = 0; i < again.count; i++) assert_int_equal(again.v[i].version, 1);
    close_view(&again);

    /* same seed in a fresh directory (and another thread count): identical checkpoints */
    ul_set_threads(1);
    p = params("mixed", NULL);
    ULT_OK(ul_net_build(net_dir("mixed-again"), &p));
    ul_set_threads(2);
    char *h3 = hashes(net_dir("mixed-again"));
    assert_string_equal(h1, h3);
    /* another seed: other checkpoints */
    p = params("mixed", NULL);
    p.seed = 6;
    ULT_OK(ul_net_build(net_dir("mixed-seed6"), &p));
    char *h4 = hashes(net_dir("mixed-seed6"));
    assert_string_not_equal(h1, h4);
    free(h1);
    free(h2);
    free(h3);
    free(h4);

    /* a different recipe on an existing network is refused, naming the model and the field */
    p = params("mixed", NULL);
    p.epochs = 3;
    ULT_FAILS(ul_net_build(net_dir("mixed"), &p), UL_E_ARG);
    ULT_ERR_HAS("'a'");
    ULT_ERR_HAS("epochs");
    p = params("mixed", NULL);
    p.max_samples = 10;
    ULT_FAILS(ul_net_build(net_dir("mixed"), &p), UL_E_ARG);
    ULT_ERR_HAS("'a'");
}

static void test_max_samples(void **s) {
    (void)s;
    ul_build_params p = params("mixed", NULL);
    p.max_samples = 20;
    p.epochs = 1;
    build_ok(net_dir("mixed-cap"), &p);
    netview nv = open_view(net_dir("mixed-cap"));
    for (size_t i = 0; i < nv.count; i++) {
        double n = recipe_num(&nv.v[i], "samples");
        if (!(n >= 1 && n <= 20)) fail_msg("%s: %g samples with max_samples 20", nv.v[i].name, n);
        assert_int_equal((int)recipe_num(&nv.v[i], "max_samples"), 20);
        assert_int_equal((int)recipe_num(&nv.v[i], "epochs"), 1);
        assert_true(nv.v[i].own.nshards > 8); /* the cap raises the shard count above the 8 owners */
        assert_true(nv.v[i].own.shard < 8);
    }
    /* the recorded selector reproduces the samples and their hash */
    ul_dataset *d = NULL;
    ULT_OK(ul_dataset_load(g_data, "train", &d));
    ul_view *v = NULL;
    ULT_OK(ul_selector_resolve(&nv.v[2].own, d, &v));
    char h[65];
    ul_selector_hash(v, h);
    assert_string_equal(h, nv.v[2].own_hash);
    assert_int_equal((int)v->n, (int)recipe_num(&nv.v[2], "samples"));
    ul_view_free(v);
    ul_dataset_free(d);
    close_view(&nv);
}

static void test_deep(void **s) {
    (void)s;
    ul_build_params p = params("chain", NULL);
    p.epochs = 1;
    build_ok(net_dir("chain"), &p);
    netview nv = open_view(net_dir("chain"));
    assert_int_equal(nv.count, 30); /* default depth */
    assert_int_equal(graph_depth(&nv), 29);
    expect_node(&nv, "u0", UL_EDGE_NONE, "", "0-5", "");
    expect_node(&nv, "u1", UL_EDGE_CONTINUE, "u0", "0-6", "");
    expect_node(&nv, "u29", UL_EDGE_CONTINUE, "u28", "0-9", "");
    expect_roots(&nv, 0, "u0");
    expect_roots(&nv, 9, "u4");
    expect_clean(&nv);
    close_view(&nv);

    p = params("dag", NULL);
    p.epochs = 1;
    build_ok(net_dir("dag"), &p);
    nv = open_view(net_dir("dag"));
    assert_int_equal(nv.count, 50);
    assert_int_equal(edge_types_present(&nv), (1 << UL_EDGE_NONE) | (1 << UL_EDGE_AVG) | (1 << UL_EDGE_CONTINUE) |
                                                  (1 << UL_EDGE_TRANSFER) | (1 << UL_EDGE_FINETUNE));
    int depth = graph_depth(&nv);
    if (depth < 10) fail_msg("dag depth %d, expected a deep DAG (>= 10)", depth);
    expect_clean(&nv);
    char *h1 = hashes(net_dir("dag"));
    close_view(&nv);

    /* the DAG's shape comes from the seed: same seed same graph, and depth is honoured */
    p = params("dag", NULL);
    p.epochs = 1;
    p.depth = 12;
    ULT_OK(ul_net_build(net_dir("dag12"), &p));
    nv = open_view(net_dir("dag12"));
    assert_int_equal(nv.count, 12);
    netview full = open_view(net_dir("dag"));
    for (size_t i = 0; i < nv.count; i++) {
        assert_string_equal(nv.v[i].name, full.v[i].name);
        assert_int_equal(nv.v[i].edge, full.v[i].edge);
        assert_int_equal(nv.v[i].nparents, full.v[i].nparents);
        assert_string_equal(nv.v[i].learned, full.v[i].learned);
    }
    close_view(&full);
    close_view(&nv);
    free(h1);
}

/* The child of test_resume: this executable run again (a fresh process: forking one that has
 * OpenMP threads is not safe) as `test_net_build --interrupted-build DIR DATA`; it builds mixed
 * and _exits from the node callback after 3 models, as if killed. */
static int interrupted_build(const char *dir, const char *data) {
    snprintf(g_data, sizeof g_data, "%s", data);
    ul_set_threads(2);
    done_log dl = {.exit_after = 3};
    ul_build_params p = params("mixed", &dl);
    ul_status st = ul_net_build(dir, &p);
    fprintf(stderr, "interrupted build: finished without being interrupted (%s: %s)\n", ul_status_str(st), ul_last_error());
    return 1;
}

/* Resume: a build killed after 3 models is completed by the same call, keeping the 3, with the
 * hashes of an uninterrupted build. */
static void test_resume(void **s) {
    (void)s;
    const char *ref = net_dir("resume-ref"), *dir = net_dir("resume");
    ul_build_params rp = params("mixed", NULL);
    ULT_OK(ul_net_build(ref, &rp));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/proc/self/exe", "test_net_build", "--interrupted-build", dir, g_data, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("the interrupted build exited with status %d", status);
    netview nv = open_view(dir);
    assert_int_equal(nv.count, 3);
    expect_clean(&nv);
    close_view(&nv);

    done_log dl = {0};
    ul_build_params p = params("mixed", &dl);
    ULT_OK(ul_net_build(dir, &p));
    assert_int_equal(dl.calls, 8);
    assert_int_equal(dl.kept, 3);
    char *a = hashes(ref), *b = hashes(dir);
    assert_string_equal(a, b);
    free(a);
    free(b);
    nv = open_view(dir);
    expect_clean(&nv);
    /* the log records each build: start of the first, start/done of the second */
    char *log = NULL;
    ULT_OK(ul_net_read_log(nv.n, &log));
    const char *q = log;
    int starts = 0, dones = 0;
    while ((q = strstr(q, "\"phase\":\"")) != NULL) {
        q += 9;
        starts += strncmp(q, "start", 5) == 0;
        dones += strncmp(q, "done", 4) == 0;
    }
    if (starts != 2 || dones != 1) fail_msg("log has %d starts and %d dones, expected 2 and 1:\n%s", starts, dones, log);
    free(log);
    close_view(&nv);
}

static void test_errors(void **s) {
    (void)s;
    ul_build_params p = params("bogus", NULL);
    ULT_FAILS(ul_net_build(net_dir("err1"), &p), UL_E_ARG);
    ULT_ERR_HAS("bogus");
    p = params("chain", NULL);
    p.depth = 1;
    ULT_FAILS(ul_net_build(net_dir("err2"), &p), UL_E_ARG);
    ULT_ERR_HAS("depth");
    p = params("mixed", NULL);
    p.arch = "mlp:784-32-10"; /* does not fit 8x8 inputs */
    assert_int_not_equal(ul_net_build(net_dir("err3"), &p), UL_OK);
    p = params("mixed", NULL);
    p.data = ult_path(g_dir, "no-such-data");
    ULT_FAILS(ul_net_build(net_dir("err4"), &p), UL_E_NOTFOUND);
    /* nothing was created by the failures above */
    struct stat sb;
    for (int i = 1; i <= 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "err%d", i);
        if (stat(net_dir(name), &sb) == 0) fail_msg("a failed build left directory %s", name);
    }
    /* a directory that is neither empty nor a network */
    const char *junk = net_dir("junk");
    mkdir(junk, 0755);
    ult_write(ult_path(junk, "readme.txt"), "x", 1);
    p = params("il", NULL);
    assert_int_not_equal(ul_net_build(junk, &p), UL_OK);
    /* fewer than 10 classes */
    const char *small = net_dir("data3");
    mkdir(small, 0755);
    uint8_t img[16 + 4 * 64] = {0}, lab[8 + 4] = {0};
    put_be32(img, 0x803);
    put_be32(img + 4, 4);
    put_be32(img + 8, 8);
    put_be32(img + 12, 8);
    put_be32(lab, 0x801);
    put_be32(lab + 4, 4);
    lab[9] = 1;
    lab[10] = 2;
    ult_write(ult_path(small, "train-images-idx3-ubyte"), img, sizeof img);
    ult_write(ult_path(small, "train-labels-idx1-ubyte"), lab, sizeof lab);
    ult_write(ult_path(small, "t10k-images-idx3-ubyte"), img, sizeof img);
    ult_write(ult_path(small, "t10k-labels-idx1-ubyte"), lab, sizeof lab);
    p = params("il", NULL);
    p.data = small;
    ULT_FAILS(ul_net_build(net_dir("err5"), &p), UL_E_ARG);
    ULT_ERR_HAS("10");
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--interrupted-build") == 0) return interrupted_build(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_il),         cmocka_unit_test(test_tl),     cmocka_unit_test(test_fl),
        cmocka_unit_test(test_ddpl),       cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_max_samples), cmocka_unit_test(test_deep),  cmocka_unit_test(test_resume),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
