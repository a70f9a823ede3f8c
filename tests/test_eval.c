/* Tests of the metrics module (src/eval/) and the CPython-compatible random split
 * (src/base/pyrandom.c). Every expected constant names the script that produced it:
 *   tests/ref/pyrandom_ref.py    CPython 3.11 random outputs (/usr/bin/python3)
 *   tests/ref/mia_lr_ref.py      the sklearn LogisticRegression optimum, solved in numpy float64
 *   tests/ref/svc_ref.py         the RBF C-SVC dual solved by an independent numpy SMO
 *   tests/ref/divergence_ref.py  KL and JS in numpy float64
 * or says how it was computed by hand. test_pyrandom_live_python re-runs CPython for a few seeds
 * when /usr/bin/python3 exists and skips otherwise.
 */
#include "ul_test.h"

#include <float.h>

#include "unlearn/data.h"
#include "unlearn/eval.h"
#include "unlearn/nn.h"
#include "unlearn/pyrandom.h"
#include "unlearn/rng.h"

/* ================================ CPython random ================================== */

static void shuffle_range(uint64_t seed, int64_t *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (int64_t)i;
    ul_pyrandom r;
    ul_pyrandom_seed(&r, seed);
    ul_pyrandom_shuffle_i64(&r, x, n);
}

static void expect_i64(const int64_t *got, const int64_t *want, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) fail_msg("%s: element %zu is %lld, expected %lld", what, i, (long long)got[i], (long long)want[i]);
}

/* random.seed(s); x = list(range(n)); random.shuffle(x); print(x)   (pyrandom_ref.py "shuffle") */
static void test_pyrandom_shuffle_small(void **state) {
    (void)state;
    static const struct {
        uint64_t seed;
        size_t n;
        int64_t x[10];
    } cases[] = {
        {0, 1, {0}},
        {0, 2, {0, 1}},
        {0, 10, {7, 8, 1, 5, 3, 4, 2, 0, 9, 6}},
        {1, 1, {0}},
        {1, 2, {1, 0}},
        {1, 10, {6, 8, 9, 7, 5, 3, 0, 4, 1, 2}},
        {42, 1, {0}},
        {42, 2, {1, 0}},
        {42, 10, {7, 3, 2, 8, 5, 6, 9, 4, 0, 1}},
        {(1ULL << 40) + 7, 1, {0}},
        {(1ULL << 40) + 7, 2, {0, 1}},
        {(1ULL << 40) + 7, 10, {0, 5, 2, 3, 6, 1, 8, 4, 7, 9}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t x[10];
        shuffle_range(cases[c].seed, x, cases[c].n);
        char what[64];
        snprintf(what, sizeof what, "seed %llu n %zu", (unsigned long long)cases[c].seed, cases[c].n);
        expect_i64(x, cases[c].x, cases[c].n, what);
    }
    /* n = 0 draws nothing and does nothing */
    ul_pyrandom r;
    ul_pyrandom_seed(&r, 0);
    ul_pyrandom_shuffle_i64(&r, NULL, 0);
    assert_int_equal(ul_pyrandom_u32(&r), 0xd82c07cdu); /* first output of seed 0, see below */
}

/* random.seed(s); x = list(range(1000)); random.shuffle(x)
 * print(x[:10], x[-5:], sum(i * v for i, v in enumerate(x)))   (pyrandom_ref.py "shuffle ... 1000") */
static void test_pyrandom_shuffle_1000(void **state) {
    (void)state;
    static const struct {
        uint64_t seed;
        int64_t head[10], tail[5];
        long long wsum;
    } cases[] = {
        {0, {439, 621, 160, 549, 237, 389, 658, 507, 124, 290}, {430, 911, 776, 394, 864}, 251292570},
        {1, {852, 836, 280, 575, 208, 609, 932, 725, 47, 985}, {782, 821, 867, 582, 137}, 249757595},
        {42, {776, 507, 895, 922, 33, 483, 85, 750, 354, 523}, {281, 759, 25, 114, 654}, 250181598},
        {(1ULL << 40) + 7, {612, 556, 729, 117, 273, 379, 661, 186, 930, 477}, {967, 960, 834, 765, 628}, 254459909},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t x[1000];
        shuffle_range(cases[c].seed, x, 1000);
        expect_i64(x, cases[c].head, 10, "head");
        expect_i64(x + 995, cases[c].tail, 5, "tail");
        long long s = 0;
        for (int i = 0; i < 1000; i++) s += (long long)i * x[i];
        assert_int_equal(s, cases[c].wsum);
        /* the int32 variant draws the same permutation */
        int32_t y[1000];
        for (int i = 0; i < 1000; i++) y[i] = i;
        ul_pyrandom r;
        ul_pyrandom_seed(&r, cases[c].seed);
        ul_pyrandom_shuffle_i32(&r, y, 1000);
        for (int i = 0; i < 1000; i++) assert_int_equal(y[i], x[i]);
    }
}

/* random.seed(s); print(hex(random.getrandbits(32)), hex(random.getrandbits(64)),
 *                       hex(random.getrandbits(100)), random.random().hex())   (pyrandom_ref.py "bits") */
static void test_pyrandom_bits_and_random(void **state) {
    (void)state;
    static const struct {
        uint64_t seed;
        uint32_t b32;
        uint64_t b64;
        uint32_t b100[4]; /* least significant word first */
        double rnd;
    } cases[] = {
        {0, 0xd82c07cdu, 0xc2094cac629f6fbeULL, {0xe3e70682u, 0x6baa9455u, 0x0a5d2f34u, 0x4u}, 0x1.ee5169e0b8b99p-1},
        {1, 0x2265b1f5u, 0xd8f16adf91b7584aULL, {0xcd613e30u, 0xc386bbc4u, 0x1027c4d1u, 0x4u}, 0x1.e2feb8fda9aa8p-4},
        {42, 0xa3b1799du, 0x06671ad11c80317fULL, {0xbdd640fbu, 0x46685257u, 0x3eb13b90u, 0x3u}, 0x1.1dc60fbc89608p-3},
        {(1ULL << 40) + 7, 0x9d1bb0dau, 0xd09e5ab5bf50a462ULL, {0xf01c56bbu, 0xf1ec4625u, 0xa3b7d241u, 0x9u},
         0x1.6943bb1e758a5p-1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ul_pyrandom r;
        ul_pyrandom_seed(&r, cases[c].seed);
        assert_int_equal(ul_pyrandom_bits64(&r, 32), cases[c].b32);
        assert_true(ul_pyrandom_bits64(&r, 64) == cases[c].b64);
        uint32_t w[4] = {0};
        ul_pyrandom_getrandbits(&r, 100, w);
        for (int i = 0; i < 4; i++) assert_int_equal(w[i], cases[c].b100[i]);
        double d = ul_pyrandom_random(&r);
        if (d != cases[c].rnd) fail_msg("seed %llu: random() = %a, expected %a", (unsigned long long)cases[c].seed, d, cases[c].rnd);
    }
    /* getrandbits(0) draws nothing */
    ul_pyrandom a, b;
    ul_pyrandom_seed(&a, 5);
    ul_pyrandom_seed(&b, 5);
    assert_true(ul_pyrandom_bits64(&a, 0) == 0);
    assert_int_equal(ul_pyrandom_u32(&a), ul_pyrandom_u32(&b));
}

/* random.seed(0); print([random._inst._randbelow(n) for n in (1, 2, 3, 5, 7, 1000, 2**31, 2**32 - 1,
 *                        2**32, 2**33 + 1, 2**63 + 5)])   (pyrandom_ref.py "randbelow") */
static void test_pyrandom_randbelow(void **state) {
    (void)state;
    static const uint64_t n[] = {1, 2, 3, 5, 7, 1000, 1ULL << 31, (1ULL << 32) - 1, 1ULL << 32, (1ULL << 33) + 1,
                                 (1ULL << 63) + 5};
    static const uint64_t want[] = {0, 1, 0, 2, 4, 497, 1739178872, 3943786419ULL, 2046968324, 3900315155ULL,
                                    2569146471088859254ULL};
    ul_pyrandom r;
    ul_pyrandom_seed(&r, 0);
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
        uint64_t v = ul_pyrandom_below(&r, n[i]);
        if (v != want[i]) fail_msg("_randbelow(%llu) = %llu, expected %llu", (unsigned long long)n[i], (unsigned long long)v,
                                   (unsigned long long)want[i]);
    }
    /* n = 0 is defined here as 0 without drawing (CPython would loop forever) */
    ul_pyrandom a, b;
    ul_pyrandom_seed(&a, 9);
    ul_pyrandom_seed(&b, 9);
    assert_true(ul_pyrandom_below(&a, 0) == 0);
    assert_int_equal(ul_pyrandom_u32(&a), ul_pyrandom_u32(&b));
}

/* Seeds as key arrays: 2**40 + 7 is the key [7, 256]; 2**70 + 3 is [3, 0, 64].
 * random.seed(2**70 + 3); x = list(range(10)); random.shuffle(x)   (pyrandom_ref.py last line) */
static void test_pyrandom_seed_key(void **state) {
    (void)state;
    ul_pyrandom a, b;
    ul_pyrandom_seed(&a, (1ULL << 40) + 7);
    ul_pyrandom_seed_key(&b, (const uint32_t[]){7, 256}, 2);
    assert_memory_equal(a.mt, b.mt, sizeof a.mt);
    ul_pyrandom_seed(&a, 0);
    ul_pyrandom_seed_key(&b, NULL, 0); /* empty key = seed 0 = key [0] */
    assert_memory_equal(a.mt, b.mt, sizeof a.mt);
    ul_pyrandom_seed_key(&b, (const uint32_t[]){3, 0, 64}, 3);
    int64_t x[10];
    for (int i = 0; i < 10; i++) x[i] = i;
    ul_pyrandom_shuffle_i64(&b, x, 10);
    expect_i64(x, (const int64_t[]){6, 7, 4, 0, 1, 9, 8, 3, 5, 2}, 10, "seed 2**70+3");
}

/* The SFR-on split, seed 0, 50000 samples, 10% (pyrandom_ref.py "split"):
 *   random.seed(0); x = list(range(50000)); random.shuffle(x); k = int(50000 * 0.1)
 *   print(k, x[:10], sorted(x[:k])[:5], sum(x[:k]), x[k:k + 5]) */
static void test_forget_split_sfron(void **state) {
    (void)state;
    int32_t *f = NULL, *r = NULL;
    size_t nf = 0, nr = 0;
    ULT_OK(ul_forget_split_random(50000, 0.1, 0, UL_SPLIT_ORDER_CODE, &f, &nf, &r, &nr));
    assert_int_equal(nf, 5000);
    assert_int_equal(nr, 45000);
    static const int32_t head[10] = {6690, 6328, 33879, 1537, 24917, 38051, 10371, 42812, 116, 7393};
    static const int32_t rhead[5] = {2599, 45383, 30548, 47153, 45738};
    for (int i = 0; i < 10; i++) assert_int_equal(f[i], head[i]);
    for (int i = 0; i < 5; i++) assert_int_equal(r[i], rhead[i]);
    long long s = 0;
    for (size_t i = 0; i < nf; i++) s += f[i];
    assert_int_equal(s, 126520123LL);
    /* forget and retain partition 0..n-1 */
    unsigned char *seen = calloc(50000, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < nf; i++) seen[f[i]]++;
    for (size_t i = 0; i < nr; i++) seen[r[i]]++;
    for (int i = 0; i < 50000; i++) assert_int_equal(seen[i], 1);
    free(seen);

    /* sorted order: the same sets, ascending */
    int32_t *fs = NULL, *rs = NULL;
    ULT_OK(ul_forget_split_random(50000, 0.1, 0, UL_SPLIT_ORDER_SORTED, &fs, &nf, &rs, &nr));
    static const int32_t shead[5] = {6, 9, 12, 20, 37};
    for (int i = 0; i < 5; i++) assert_int_equal(fs[i], shead[i]);
    for (size_t i = 1; i < nf; i++) assert_true(fs[i - 1] < fs[i]);
    for (size_t i = 1; i < nr; i++) assert_true(rs[i - 1] < rs[i]);
    s = 0;
    for (size_t i = 0; i < nf; i++) s += fs[i];
    assert_int_equal(s, 126520123LL);
    free(fs);
    free(rs);

    /* nested: the 50% forget set starts with the 10% one (one permutation, prefixes) */
    int32_t *f50 = NULL;
    size_t n50 = 0;
    ULT_OK(ul_forget_split_random(50000, 0.5, 0, UL_SPLIT_ORDER_CODE, &f50, &n50, NULL, NULL));
    assert_int_equal(n50, 25000);
    assert_memory_equal(f50, f, 5000 * sizeof *f);
    free(f50);
    free(f);
    free(r);
}

/* k = int(n * frac) truncates the double product: int(100 * 0.29) = 28, int(100 * 0.07) = 7
 * (pyrandom_ref.py), and the edges. */
static void test_forget_split_counts_and_errors(void **state) {
    (void)state;
    int32_t *f = NULL, *r = NULL;
    size_t nf = 99, nr = 99;
    ULT_OK(ul_forget_split_random(100, 0.29, 3, UL_SPLIT_ORDER_CODE, &f, &nf, &r, &nr));
    assert_int_equal(nf, 28);
    assert_int_equal(nr, 72);
    free(f);
    free(r);
    ULT_OK(ul_forget_split_random(100, 0.07, 3, UL_SPLIT_ORDER_CODE, &f, &nf, NULL, NULL));
    assert_int_equal(nf, 7);
    free(f);
    ULT_OK(ul_forget_split_random(10, 1.0, 0, UL_SPLIT_ORDER_CODE, &f, &nf, &r, &nr));
    assert_int_equal(nf, 10);
    assert_int_equal(nr, 0);
    /* the whole permutation, seed 0, n = 10: [7, 8, 1, 5, 3, 4, 2, 0, 9, 6] as above */
    static const int32_t p10[10] = {7, 8, 1, 5, 3, 4, 2, 0, 9, 6};
    for (int i = 0; i < 10; i++) assert_int_equal(f[i], p10[i]);
    free(f);
    free(r);
    ULT_OK(ul_forget_split_random(10, 0.0, 0, UL_SPLIT_ORDER_CODE, &f, &nf, &r, &nr));
    assert_int_equal(nf, 0);
    assert_int_equal(nr, 10);
    for (int i = 0; i < 10; i++) assert_int_equal(r[i], p10[i]);
    free(f);
    free(r);
    ULT_OK(ul_forget_split_random(0, 0.5, 0, UL_SPLIT_ORDER_SORTED, &f, &nf, &r, &nr));
    assert_int_equal(nf, 0);
    assert_int_equal(nr, 0);
    free(f);
    free(r);
    f = r = (int32_t *)1; /* outputs are reset on failure */
    ULT_FAILS(ul_forget_split_random(10, -0.1, 0, UL_SPLIT_ORDER_CODE, &f, &nf, &r, &nr), UL_E_ARG);
    ULT_ERR_HAS("fraction");
    assert_null(f);
    assert_null(r);
    assert_int_equal(nf, 0);
    ULT_FAILS(ul_forget_split_random(10, 1.5, 0, UL_SPLIT_ORDER_CODE, &f, &nf, &r, &nr), UL_E_ARG);
    ULT_FAILS(ul_forget_split_random(10, NAN, 0, UL_SPLIT_ORDER_CODE, &f, &nf, &r, &nr), UL_E_ARG);
    ULT_FAILS(ul_forget_split_random(10, 0.1, 0, (ul_split_order)7, &f, &nf, &r, &nr), UL_E_ARG);
    ULT_FAILS(ul_forget_split_random((size_t)INT32_MAX + 1, 0.1, 0, UL_SPLIT_ORDER_CODE, &f, &nf, &r, &nr), UL_E_ARG);
}

/* Live cross-check against /usr/bin/python3 for seeds drawn from a fixed ul_rng stream. */
static const char *k_live_py =
    "import random, sys\n"
    "for a in sys.argv[1:]:\n"
    "    r = random.Random(int(a, 0)); x = list(range(37)); r.shuffle(x); v = r.getrandbits(77)\n"
    "    print(*x, v & 0xffffffff, (v >> 32) & 0xffffffff, v >> 64, r.random().hex(), r._randbelow(10**12),\n"
    "          r._randbelow(2**64 - 59))\n";

static void test_pyrandom_live_python(void **state) {
    (void)state;
    if (access("/usr/bin/python3", X_OK) != 0) skip();
    enum { NSEED = 5 };
    uint32_t key[NSEED][3];
    size_t nkey[NSEED];
    ul_rng g;
    ul_rng_seed(&g, 20240917);
    char cmd[2048];
    int at = snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c '%s'", k_live_py);
    for (int s = 0; s < NSEED; s++) {
        uint64_t v = ul_rng_u64(&g);
        key[s][0] = (uint32_t)v;
        key[s][1] = (uint32_t)(v >> 32);
        key[s][2] = (uint32_t)ul_rng_u64(&g) | 1u;
        /* widths 32, 40, 64, 96 and 96 bits */
        nkey[s] = s == 0 ? 1 : s == 1 ? 2 : s == 2 ? 2 : 3;
        if (s == 1) key[s][1] &= 0xffu;
        if (nkey[s] == 2 && key[s][1] == 0) key[s][1] = 1;
        if (nkey[s] == 3)
            at += snprintf(cmd + at, sizeof cmd - (size_t)at, " 0x%x%08x%08x", key[s][2], key[s][1], key[s][0]);
        else
            at += snprintf(cmd + at, sizeof cmd - (size_t)at, " 0x%llx",
                           (unsigned long long)key[s][0] | ((unsigned long long)(nkey[s] > 1 ? key[s][1] : 0) << 32));
    }
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096];
    for (int s = 0; s < NSEED; s++) {
        if (!fgets(line, sizeof line, p)) fail_msg("python3 gave %d of %d lines", s, NSEED);
        ul_pyrandom r;
        ul_pyrandom_seed_key(&r, key[s], nkey[s]);
        if (nkey[s] <= 2) { /* the uint64 entry point seeds the same state */
            ul_pyrandom r2;
            ul_pyrandom_seed(&r2, (uint64_t)key[s][0] | ((uint64_t)(nkey[s] > 1 ? key[s][1] : 0) << 32));
            assert_memory_equal(r.mt, r2.mt, sizeof r.mt);
        }
        int64_t x[37];
        for (int i = 0; i < 37; i++) x[i] = i;
        ul_pyrandom_shuffle_i64(&r, x, 37);
        uint32_t w[3] = {0};
        ul_pyrandom_getrandbits(&r, 77, w);
        double d = ul_pyrandom_random(&r);
        uint64_t b1 = ul_pyrandom_below(&r, 1000000000000ULL), b2 = ul_pyrandom_below(&r, UINT64_MAX - 58);
        char *q = line, *e;
        for (int i = 0; i < 37; i++, q = e) {
            long long v = strtoll(q, &e, 10);
            if (e == q || v != x[i]) fail_msg("seed %d: shuffle[%d] = %lld, python says %lld", s, i, (long long)x[i], v);
        }
        for (int i = 0; i < 3; i++, q = e) {
            unsigned long long v = strtoull(q, &e, 10);
            if (e == q || v != w[i]) fail_msg("seed %d: getrandbits(77) word %d = %u, python says %llu", s, i, w[i], v);
        }
        double pd = strtod(q, &e);
        if (e == q || pd != d) fail_msg("seed %d: random() = %a, python says %a", s, d, pd);
        q = e;
        unsigned long long v1 = strtoull(q, &e, 10);
        q = e;
        unsigned long long v2 = strtoull(q, &e, 10);
        if (v1 != b1 || v2 != b2) fail_msg("seed %d: _randbelow = %llu, %llu; python says %llu, %llu", s,
                                           (unsigned long long)b1, (unsigned long long)b2, v1, v2);
    }
    assert_int_equal(pclose(p), 0);
}

/* ================================ predictions ===================================== */

/* A 5-sample dataset of 1x1x4 float pixels in 3 classes and an "mlp:4-3" with hand-set weights. */
static const float k_px[5][4] = {{0.0f, 1.0f, 0.5f, 0.25f}, {1.0f, 0.0f, 0.0f, 1.0f}, {0.2f, 0.4f, 0.6f, 0.8f},
                                 {0.9f, 0.1f, 0.3f, 0.7f}, {0.5f, 0.5f, 0.5f, 0.5f}};
static const int32_t k_lb[5] = {0, 2, 1, 1, 2};
static const float k_W[3][4] = {{1.0f, -0.5f, 0.25f, 0.0f}, {-1.0f, 0.5f, 2.0f, -0.25f}, {0.3f, 0.3f, -0.6f, 1.2f}};
static const float k_b[3] = {0.1f, -0.2f, 0.05f};

static ul_model *tiny_model(void) {
    ul_model *m = NULL;
    ul_arch_params ap = {.in_c = 1, .in_h = 1, .in_w = 4, .classes = 3};
    ULT_OK(ul_model_create("mlp:4-3", &ap, 1, &m));
    const ul_tensor_info *w = ul_model_find_tensor(m, "fc1.weight"), *b = ul_model_find_tensor(m, "fc1.bias");
    assert_non_null(w);
    assert_non_null(b);
    float *P = ul_model_params(m);
    memcpy(P + w->offset, k_W, sizeof k_W);
    memcpy(P + b->offset, k_b, sizeof k_b);
    return m;
}

static void test_predict_tiny_model(void **state) {
    (void)state;
    ul_dataset *d = NULL;
    ULT_OK(ul_dataset_from_memory("tiny", UL_PIX_F32, k_px, k_lb, 5, 1, 1, 4, 3, &d));
    ul_model *m = tiny_model();
    ul_view *v = NULL;
    ULT_OK(ul_view_from_indices(d, (const int32_t[]){4, 0, 3, 1, 2}, 5, &v));
    /* normalisation x' = (x - 0.5) / 2; the augmentation fields must be ignored */
    ul_transform tf = {.nchan = 1, .mean = {0.5f}, .std = {2.0f}, .crop_pad = 2, .hflip = true};
    ul_predictions p = {0};
    ULT_OK(ul_predict(m, v, &tf, 2, &p)); /* batches of 2, 2 and 1 */
    assert_int_equal(p.n, 5);
    assert_int_equal(p.classes, 3);
    assert_ptr_equal(p.ds, d);
    for (size_t i = 0; i < 5; i++) {
        int s = v->idx[i];
        assert_int_equal(p.idx[i], s);
        assert_int_equal(p.labels[i], k_lb[s]);
        double z[3], mx = -INFINITY, den = 0.0;
        for (int c = 0; c < 3; c++) { /* logits computed by hand: W x' + b */
            z[c] = k_b[c];
            for (int j = 0; j < 4; j++) z[c] += (double)k_W[c][j] * ((double)k_px[s][j] - 0.5) / 2.0;
            ULT_CLOSE(p.logits[i * 3 + c], z[c], 1e-6, 1e-6);
            if (z[c] > mx) mx = z[c];
        }
        for (int c = 0; c < 3; c++) den += exp(z[c] - mx);
        double psum = 0.0;
        for (int c = 0; c < 3; c++) {
            ULT_CLOSE(p.probs[i * 3 + c], exp(z[c] - mx) / den, 1e-7, 1e-6);
            psum += p.probs[i * 3 + c];
        }
        ULT_CLOSE(psum, 1.0, 1e-6, 0);
    }
    /* no augmentation: the same predictions without the augmentation fields, any batch size */
    ul_transform tf2 = {.nchan = 1, .mean = {0.5f}, .std = {2.0f}};
    ul_predictions p2 = {0};
    ULT_OK(ul_predict(m, v, &tf2, 0, &p2));
    assert_memory_equal(p.logits, p2.logits, 15 * sizeof(float));
    ul_predictions_free(&p2);
    assert_null(p2.probs);

    /* an empty view predicts nothing, and the metrics refuse it */
    ul_view *ve = NULL;
    ULT_OK(ul_view_from_indices(d, NULL, 0, &ve));
    ULT_OK(ul_predict(m, ve, NULL, 8, &p2));
    assert_int_equal(p2.n, 0);
    double acc;
    ULT_FAILS(ul_top1_accuracy(&p2, &acc), UL_E_ARG);
    ULT_ERR_HAS("empty");
    ul_predictions_free(&p2);
    ul_view_free(ve);

    /* a model whose input shape differs */
    ul_model *m9 = NULL;
    ULT_OK(ul_model_create("mlp:9-3", &(ul_arch_params){.in_c = 1, .in_h = 3, .in_w = 3, .classes = 3}, 1, &m9));
    ULT_FAILS(ul_predict(m9, v, NULL, 8, &p2), UL_E_SHAPE);
    ULT_ERR_HAS("tiny");
    assert_null(p2.probs);
    ULT_FAILS(ul_predict(m, NULL, NULL, 8, &p2), UL_E_ARG);
    ul_model_free(m9);

    ul_predictions_free(&p);
    ul_predictions_free(&p); /* idempotent */
    ul_view_free(v);
    ul_model_free(m);
    ul_dataset_free(d);
}

static void test_predictions_from_memory(void **state) {
    (void)state;
    ul_predictions p = {0};
    /* softmax([0, ln 3]) = [1/4, 3/4] */
    const float z[2] = {0.0f, (float)log(3.0)};
    ULT_OK(ul_predictions_from_logits(z, (const int32_t[]){1}, 1, 2, &p));
    ULT_CLOSE(p.probs[0], 0.25, 1e-7, 0);
    ULT_CLOSE(p.probs[1], 0.75, 1e-7, 0);
    assert_null(p.idx);
    ul_predictions_free(&p);
    ULT_FAILS(ul_predictions_from_logits((const float[]){0.0f, NAN}, (const int32_t[]){0}, 1, 2, &p), UL_E_NUMERIC);
    ULT_FAILS(ul_predictions_from_logits(z, (const int32_t[]){0}, 1, 0, &p), UL_E_ARG);
    ULT_FAILS(ul_predictions_from_logits(NULL, NULL, 3, 2, &p), UL_E_ARG);
    ULT_FAILS(ul_predictions_from_probs((const float[]){0.5f, -0.1f}, (const int32_t[]){0}, 1, 2, &p), UL_E_ARG);
    ULT_ERR_HAS("not in [0, 1]");
    ULT_FAILS(ul_predictions_from_probs((const float[]){0.5f, NAN}, (const int32_t[]){0}, 1, 2, &p), UL_E_ARG);
    ULT_FAILS(ul_predictions_from_probs((const float[]){1.5f, 0.0f}, (const int32_t[]){0}, 1, 2, &p), UL_E_ARG);
    assert_null(p.probs);
    ULT_OK(ul_predictions_from_probs(NULL, NULL, 0, 4, &p)); /* an empty set is representable */
    assert_int_equal(p.n, 0);
    ul_predictions_free(&p);
}

/* ================================ accuracies ====================================== */

static ul_predictions preds_logits(const float *z, const int32_t *y, size_t n, int k) {
    ul_predictions p = {0};
    ULT_OK(ul_predictions_from_logits(z, y, n, k, &p));
    return p;
}

static ul_predictions preds_probs(const float *q, const int32_t *y, size_t n, int k) {
    ul_predictions p = {0};
    ULT_OK(ul_predictions_from_probs(q, y, n, k, &p));
    return p;
}

static void test_accuracies(void **state) {
    (void)state;
    /* forget: 4 samples, predictions 0, 1, 0 (tie 1 = 1 goes to class 0), 2 vs labels 0, 1, 1, 1
     * -> 2 of 4 right: FA 50, UA 50 */
    const float zf[12] = {3, 1, 0, 0, 2, 1, 1, 1, 0, 0, 1, 2};
    ul_predictions f = preds_logits(zf, (const int32_t[]){0, 1, 1, 1}, 4, 3);
    /* retain: 5 samples, 4 right (the last has label 3 >= 3 classes: always wrong) -> RA 80 */
    const float zr[15] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 5, 0, 0, 0, 0, 9};
    ul_predictions r = preds_logits(zr, (const int32_t[]){0, 1, 2, 0, 3}, 5, 3);
    /* test: 6 samples, labels 2, 2, 0, 1, 0, 1, predictions 2, 0, 0, 1, 1, 1 -> 4 of 6 right.
     * forget class 2: the remaining-class samples are 4, 3 right (75 %); class 2: 1 of 2 (50 %) */
    const float zt[18] = {0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0};
    ul_predictions t = preds_logits(zt, (const int32_t[]){2, 2, 0, 1, 0, 1}, 6, 3);
    ul_acc_metrics a;
    ULT_OK(ul_eval_accuracies(&f, &r, &t, NULL, 0, &a));
    ULT_CLOSE(a.fa, 50.0, 1e-12, 0);
    ULT_CLOSE(a.ua, 50.0, 1e-12, 0);
    ULT_CLOSE(a.ra, 80.0, 1e-12, 0);
    ULT_CLOSE(a.ta, 100.0 * 4 / 6, 1e-12, 0);
    assert_true(isnan(a.ta_remain) && isnan(a.ta_forget));
    assert_int_equal(a.n_test_remain, 6);
    ULT_OK(ul_eval_accuracies(&f, &r, &t, (const int32_t[]){2}, 1, &a));
    ULT_CLOSE(a.ta, 100.0 * 4 / 6, 1e-12, 0); /* the full test set is still reported */
    ULT_CLOSE(a.ta_remain, 75.0, 1e-12, 0);
    ULT_CLOSE(a.ta_forget, 50.0, 1e-12, 0);
    assert_int_equal(a.n_test_remain, 4);
    /* a forget class absent from the test set: ta_forget is NaN, ta_remain = ta */
    ULT_OK(ul_eval_accuracies(&f, &r, &t, (const int32_t[]){7}, 1, &a));
    assert_true(isnan(a.ta_forget));
    ULT_CLOSE(a.ta_remain, a.ta, 1e-12, 0);
    /* per class on the test set: class 0 1 of 2, class 1 2 of 2, class 2 1 of 2; a class without
     * samples is NaN; labels outside [0, classes) are not counted */
    double pc[4];
    ULT_OK(ul_per_class_accuracy(&t, 4, pc));
    ULT_CLOSE(pc[0], 50.0, 1e-12, 0);
    ULT_CLOSE(pc[1], 100.0, 1e-12, 0);
    ULT_CLOSE(pc[2], 50.0, 1e-12, 0);
    assert_true(isnan(pc[3]));
    ULT_OK(ul_per_class_accuracy(&r, 3, pc)); /* the label-3 sample is skipped: classes 0..2 all right */
    ULT_CLOSE(pc[0], 100.0, 1e-12, 0);
    ULT_CLOSE(pc[1], 100.0, 1e-12, 0);
    ULT_CLOSE(pc[2], 100.0, 1e-12, 0);
    ULT_FAILS(ul_per_class_accuracy(&t, 0, pc), UL_E_ARG);
    /* every test sample forgotten */
    ULT_FAILS(ul_eval_accuracies(&f, &r, &t, (const int32_t[]){0, 1, 2}, 3, &a), UL_E_ARG);
    ULT_ERR_HAS("forgotten");
    /* empty sets are errors naming the set */
    ul_predictions e = {0};
    ULT_OK(ul_predictions_from_logits(NULL, NULL, 0, 3, &e));
    ULT_FAILS(ul_eval_accuracies(&e, &r, &t, NULL, 0, &a), UL_E_ARG);
    ULT_ERR_HAS("forget");
    ULT_FAILS(ul_eval_accuracies(&f, &e, &t, NULL, 0, &a), UL_E_ARG);
    ULT_ERR_HAS("retain");
    ULT_FAILS(ul_eval_accuracies(&f, &r, &e, NULL, 0, &a), UL_E_ARG);
    ULT_ERR_HAS("test");
    ULT_FAILS(ul_eval_accuracies(&f, &r, NULL, NULL, 0, &a), UL_E_ARG);
    /* without logits the argmax runs over the probabilities */
    ul_predictions q = preds_probs((const float[]){0.2f, 0.8f, 0.6f, 0.4f, 0.5f, 0.5f}, (const int32_t[]){1, 1, 0}, 3, 2);
    double acc;
    ULT_OK(ul_top1_accuracy(&q, &acc));
    ULT_CLOSE(acc, 100.0 * 2 / 3, 1e-12, 0);
    ul_predictions_free(&q);
    ul_predictions_free(&e);
    ul_predictions_free(&f);
    ul_predictions_free(&r);
    ul_predictions_free(&t);
}

/* ================================ MIA: entropy + logistic regression =============== */

static void test_entropy_rows(void **state) {
    (void)state;
    /* by hand: H(1,0,0) = 0, H(.5,.5,0) = ln 2, H(uniform 3) = ln 3,
     * H(.7,.2,.1) = -(.7 ln .7 + .2 ln .2 + .1 ln .1) = 0.80181855254... (of the float32 values) */
    const float p[12] = {1, 0, 0, 0.5f, 0.5f, 0, 1.0f / 3, 1.0f / 3, 1.0f / 3, 0.7f, 0.2f, 0.1f};
    double h[4];
    ul_entropy_rows(p, 4, 3, h);
    ULT_CLOSE(h[0], 0.0, 0, 0);
    ULT_CLOSE(h[1], log(2.0), 1e-15, 0);
    ULT_CLOSE(h[2], log(3.0), 1e-7, 0);
    double want = -((double)0.7f * log((double)0.7f) + (double)0.2f * log((double)0.2f) + (double)0.1f * log((double)0.1f));
    ULT_CLOSE(h[3], want, 1e-15, 1e-15);
    ULT_CLOSE(h[3], 0.8018185525433373, 1e-7, 0);
}

/* tests/ref/mia_lr_ref.py, dataset "small":
 *   coef_ = -0.7606048051123177 intercept_ = 0.5579479615452335 threshold = 0.7335582917634106
 *   members 4/7 -> rate 57.142857142857146 %; train acc 70.0 % */
static void test_mia_lr_small(void **state) {
    (void)state;
    const double xm[12] = {0.05, 0.10, 0.12, 0.20, 0.25, 0.31, 0.40, 0.52, 0.60, 0.75, 0.90, 1.30};
    const double xn[8] = {0.15, 0.45, 0.70, 0.85, 1.10, 1.40, 1.75, 2.05};
    const double xt[7] = {0.02, 0.30, 0.55, 0.66, 0.80, 1.00, 1.60};
    ul_mia_lr_result r;
    ULT_OK(ul_mia_entropy_lr_features(xm, 12, xn, 8, xt, 7, &r));
    ULT_CLOSE(r.coef, -0.7606048051123177, 1e-10, 1e-9);
    ULT_CLOSE(r.intercept, 0.5579479615452335, 1e-10, 1e-9);
    ULT_CLOSE(r.threshold, 0.7335582917634106, 1e-10, 1e-9);
    assert_int_equal(r.n_member, 4);
    assert_int_equal(r.n_forget, 7);
    ULT_CLOSE(r.rate, 57.142857142857146, 1e-12, 0);
    ULT_CLOSE(r.train_acc, 70.0, 1e-12, 0);
    ULT_CLOSE(r.weight_member, 20.0 / 24.0, 1e-15, 0); /* balanced: n / (2 n_c) */
    ULT_CLOSE(r.weight_nonmember, 20.0 / 16.0, 1e-15, 0);
    assert_true(r.iters > 0 && r.iters < 50);
}

/* tests/ref/mia_lr_ref.py, dataset "large" (500 members 0.6 + 0.5 sin(0.37 i), 300 non-members
 * 1.2 + 0.7 cos(1.3 i + 0.2), targets 0.01 i for i < 230):
 *   coef_ = -1.4813715985239613 intercept_ = 1.2994767006745398 threshold = 0.8772118366312264
 *   members 88/230 -> rate 38.26086956521739 %; train acc 68.375 % */
static void test_mia_lr_large(void **state) {
    (void)state;
    double xm[500], xn[300], xt[230];
    for (int i = 0; i < 500; i++) xm[i] = 0.6 + 0.5 * sin(0.37 * i);
    for (int i = 0; i < 300; i++) xn[i] = 1.2 + 0.7 * cos(1.3 * i + 0.2);
    for (int i = 0; i < 230; i++) xt[i] = 0.01 * i;
    ul_mia_lr_result r;
    ULT_OK(ul_mia_entropy_lr_features(xm, 500, xn, 300, xt, 230, &r));
    ULT_CLOSE(r.coef, -1.4813715985239613, 1e-10, 1e-9);
    ULT_CLOSE(r.intercept, 1.2994767006745398, 1e-10, 1e-9);
    ULT_CLOSE(r.threshold, 0.8772118366312264, 1e-10, 1e-9);
    assert_int_equal(r.n_member, 88);
    ULT_CLOSE(r.rate, 38.26086956521739, 1e-12, 0);
    ULT_CLOSE(r.train_acc, 68.375, 1e-12, 0);
}

static void test_mia_lr_predictions_and_errors(void **state) {
    (void)state;
    /* Two classes, rows [p, 1 - p]. Retain rows are confident (low entropy), test rows are not:
     * a confident forget set is all "member" (100), an uncertain one all "non-member" (0). */
    float pr[16], pt[12], pf[8];
    int32_t yr[8] = {0}, yt[6] = {0}, yf[4] = {0};
    for (int i = 0; i < 8; i++) { pr[2 * i] = 0.97f + 0.003f * (float)i; pr[2 * i + 1] = 1.0f - pr[2 * i]; }
    for (int i = 0; i < 6; i++) { pt[2 * i] = 0.45f + 0.02f * (float)i; pt[2 * i + 1] = 1.0f - pt[2 * i]; }
    for (int i = 0; i < 4; i++) { pf[2 * i] = 0.99f; pf[2 * i + 1] = 1.0f - 0.99f; }
    ul_predictions r = preds_probs(pr, yr, 8, 2), t = preds_probs(pt, yt, 6, 2), f = preds_probs(pf, yf, 4, 2);
    ul_mia_lr_result m, m2;
    ULT_OK(ul_mia_entropy_lr(&r, &f, &t, &m));
    ULT_CLOSE(m.rate, 100.0, 0, 0);
    assert_true(m.coef < 0); /* low entropy = member */
    /* identical to the feature-level call on the entropies */
    double hr[8], ht[6], hf[4];
    ul_entropy_rows(pr, 8, 2, hr);
    ul_entropy_rows(pt, 6, 2, ht);
    ul_entropy_rows(pf, 4, 2, hf);
    ULT_OK(ul_mia_entropy_lr_features(hr, 8, ht, 6, hf, 4, &m2));
    assert_true(m.coef == m2.coef && m.intercept == m2.intercept && m.n_member == m2.n_member);
    ul_predictions_free(&f);
    for (int i = 0; i < 4; i++) { pf[2 * i] = 0.5f; pf[2 * i + 1] = 0.5f; }
    f = preds_probs(pf, yf, 4, 2);
    ULT_OK(ul_mia_entropy_lr(&r, &f, &t, &m));
    ULT_CLOSE(m.rate, 0.0, 0, 0);

    /* a single class in the attack training data is a clear error, not a crash */
    ul_predictions e = {0};
    ULT_OK(ul_predictions_from_probs(NULL, NULL, 0, 2, &e));
    ULT_FAILS(ul_mia_entropy_lr(&r, &f, &e, &m), UL_E_ARG);
    ULT_ERR_HAS("single class");
    ULT_FAILS(ul_mia_entropy_lr(&e, &f, &t, &m), UL_E_ARG);
    ULT_ERR_HAS("single class");
    ULT_FAILS(ul_mia_entropy_lr(&r, &e, &t, &m), UL_E_ARG);
    ULT_ERR_HAS("forget set is empty");
    ULT_FAILS(ul_mia_entropy_lr(&r, &f, NULL, &m), UL_E_ARG);
    /* identical features in both classes: the optimum is coef = 0, nobody is a member */
    const double same[3] = {0.3, 0.3, 0.3};
    ULT_OK(ul_mia_entropy_lr_features(same, 3, same, 3, same, 3, &m));
    ULT_CLOSE(m.coef, 0.0, 1e-12, 0);
    ULT_CLOSE(m.intercept, 0.0, 1e-12, 0);
    ULT_CLOSE(m.rate, 0.0, 0, 0);
    /* perfectly separable data stays finite (the L2 penalty bounds the coefficient) */
    const double lo[3] = {0.0, 0.01, 0.02}, hi[3] = {2.0, 2.1, 2.2};
    ULT_OK(ul_mia_entropy_lr_features(lo, 3, hi, 3, (const double[]){0.0, 2.2}, 2, &m));
    assert_true(isfinite(m.coef) && m.coef < 0);
    assert_int_equal(m.n_member, 1);
    ULT_FAILS(ul_mia_entropy_lr_features(lo, 3, (const double[]){1.0, NAN}, 2, lo, 3, &m), UL_E_NUMERIC);
    ULT_ERR_HAS("not finite");
    ul_predictions_free(&e);
    ul_predictions_free(&r);
    ul_predictions_free(&t);
    ul_predictions_free(&f);
}

/* ================================ MIA: confidence + SVC =========================== */

static double frac_part(double v) { return v - floor(v); }

/* tests/ref/svc_ref.py: 30 members 0.97 - 0.45 frac(0.6180339887 i)^2, 20 non-members
 * 0.15 + 0.8 frac(0.4142135624 i + 0.1), targets 0.05 i for i <= 20; decision values of the exact
 * dual optimum (> 0 member); 12 of 21 non-members -> 57.142857142857146 %. */
static const double k_svc_dec[21] = {-2.151249513, -2.036344705, -1.900766668, -1.745787022, -1.573145756,
                                     -1.385024382, -1.184004073, -0.973009738, -0.755241649, -0.534096759,
                                     -0.313082370, -0.095725144, 0.114521260,  0.314366612,  0.500769287,
                                     0.671013152,  0.822773426,  0.954169307,  1.063801685,  1.150774938,
                                     1.214702473};

static void svc_data(double *xm, double *xn, double *xt) {
    for (int i = 0; i < 30; i++) {
        double f = frac_part(0.6180339887 * i);
        xm[i] = 0.97 - 0.45 * (f * f);
    }
    for (int i = 0; i < 20; i++) xn[i] = 0.15 + 0.8 * frac_part(0.4142135624 * i + 0.1);
    for (int i = 0; i < 21; i++) xt[i] = 0.05 * i;
}

static void test_mia_svc_reference(void **state) {
    (void)state;
    double xm[30], xn[20], xt[21], dec[21];
    svc_data(xm, xn, xt);
    ul_mia_svc_result r;
    /* SalUn's settings (libsvm stops at a 1e-3 KKT gap) */
    ULT_OK(ul_mia_svc_features(xm, 30, xn, 20, xt, 21, NULL, dec, &r));
    for (int i = 0; i < 21; i++) ULT_CLOSE(dec[i], k_svc_dec[i], 5e-3, 0);
    assert_int_equal(r.n_nonmember, 12);
    ULT_CLOSE(r.rate, 57.142857142857146, 1e-12, 0);
    assert_int_equal(r.n_shadow_in, 30);
    assert_int_equal(r.n_shadow_out, 20);
    assert_true(r.n_sv > 0 && r.n_sv <= 50);
    /* a tight tolerance reaches the reference optimum closely: the same dual problem */
    ul_mia_svc_params p = ul_mia_svc_defaults();
    assert_true(p.C == 3.0 && p.tol == 1e-3);
    p.tol = 1e-10;
    ULT_OK(ul_mia_svc_features(xm, 30, xn, 20, xt, 21, &p, dec, &r));
    for (int i = 0; i < 21; i++) ULT_CLOSE(dec[i], k_svc_dec[i], 2e-6, 0);
    assert_int_equal(r.n_nonmember, 12);
}

static void test_mia_svc_predictions_and_errors(void **state) {
    (void)state;
    /* 3 classes; the feature is the probability of the TRUE label. Retain (12 samples) confident on
     * their label, test (5) unsure: only the first 5 retain samples are used as members. */
    float pr[36], pt[15], pf[12];
    int32_t yr[12], yt[5], yf[4];
    for (int i = 0; i < 12; i++) {
        yr[i] = i % 3;
        for (int c = 0; c < 3; c++) pr[3 * i + c] = c == yr[i] ? 0.96f : 0.02f;
    }
    for (int i = 0; i < 5; i++) {
        yt[i] = (i + 1) % 3;
        for (int c = 0; c < 3; c++) pt[3 * i + c] = c == yt[i] ? 0.30f + 0.02f * (float)i : (0.70f - 0.02f * (float)i) / 2;
    }
    for (int i = 0; i < 4; i++) { /* forget: confident on label 2 but label 0 -> confidence 0.02 -> non-member */
        yf[i] = i < 2 ? 2 : 0;
        pf[3 * i] = 0.02f;
        pf[3 * i + 1] = 0.02f;
        pf[3 * i + 2] = 0.96f;
    }
    ul_predictions r = preds_probs(pr, yr, 12, 3), t = preds_probs(pt, yt, 5, 3), f = preds_probs(pf, yf, 4, 3);
    ul_mia_svc_result m;
    ULT_OK(ul_mia_svc_confidence(&r, &f, &t, NULL, &m));
    assert_int_equal(m.n_shadow_in, 5); /* min(|test|, |retain|) */
    assert_int_equal(m.n_shadow_out, 5);
    assert_int_equal(m.n_forget, 4);
    assert_int_equal(m.n_nonmember, 2); /* the two samples labelled 0 have confidence 0.02 */
    ULT_CLOSE(m.rate, 50.0, 0, 0);
    /* retain shorter than test: used whole */
    r.n = 3;
    ULT_OK(ul_mia_svc_confidence(&r, &f, &t, NULL, &m));
    assert_int_equal(m.n_shadow_in, 3);
    r.n = 12;
    /* errors */
    ul_predictions e = {0};
    ULT_OK(ul_predictions_from_probs(NULL, NULL, 0, 3, &e));
    ULT_FAILS(ul_mia_svc_confidence(&r, &f, &e, NULL, &m), UL_E_ARG);
    ULT_ERR_HAS("single class");
    ULT_FAILS(ul_mia_svc_confidence(&e, &f, &t, NULL, &m), UL_E_ARG);
    ULT_ERR_HAS("single class");
    ULT_FAILS(ul_mia_svc_confidence(&r, &e, &t, NULL, &m), UL_E_ARG);
    ULT_ERR_HAS("forget set is empty");
    f.labels[3] = 3; /* outside the 3 classes */
    ULT_FAILS(ul_mia_svc_confidence(&r, &f, &t, NULL, &m), UL_E_ARG);
    ULT_ERR_HAS("label 3");
    ul_mia_svc_params bad = ul_mia_svc_defaults();
    bad.C = 0;
    ULT_FAILS(ul_mia_svc_features((const double[]){0.9}, 1, (const double[]){0.1}, 1, (const double[]){0.5}, 1, &bad,
                                  NULL, &m), UL_E_ARG);
    ULT_FAILS(ul_mia_svc_features((const double[]){0.9}, 1, (const double[]){NAN}, 1, (const double[]){0.5}, 1, NULL, NULL,
                                  &m), UL_E_NUMERIC);
    ul_predictions_free(&e);
    ul_predictions_free(&r);
    ul_predictions_free(&t);
    ul_predictions_free(&f);
}

/* ================================ KL / JS ========================================= */

/* tests/ref/divergence_ref.py: p = retrained, q = unlearned, float32 rows
 *   KL rows 1.0325533598277281, 0.12177725317719063, 0.6931471805599453; mean 0.615825931188288
 *   JS rows 0.20503803061862225, 0.02786561400226195, 0.21576155433883568; mean 0.14955506631990664
 *   KL(q||p) mean 7.74443467226446 (row 3: q = .5 where p = 0 -> .5 (ln .5 - ln 1e-20))
 * Row 3 by hand: KL = 1 ln(1 / .5) = ln 2; m = (.75, .25, 0, 0),
 *   JS = 1/2 ln(1/.75) + 1/2 (.5 ln(.5/.75) + .5 ln(.5/.25)) = 0.2157615543... */
static const float k_p[12] = {0.7f, 0.2f, 0.1f, 0.0f, 0.25f, 0.25f, 0.25f, 0.25f, 1.0f, 0.0f, 0.0f, 0.0f};
static const float k_q[12] = {0.1f, 0.6f, 0.3f, 0.0f, 0.4f, 0.3f, 0.2f, 0.1f, 0.5f, 0.5f, 0.0f, 0.0f};

static void test_divergences(void **state) {
    (void)state;
    const int32_t y[3] = {0, 1, 0};
    ul_predictions p = preds_probs(k_p, y, 3, 4), q = preds_probs(k_q, y, 3, 4);
    double v;
    ULT_OK(ul_kl_div(&p, &q, &v));
    ULT_CLOSE(v, 0.615825931188288, 1e-14, 1e-13);
    ULT_OK(ul_js_div(&p, &q, &v));
    ULT_CLOSE(v, 0.14955506631990664, 1e-14, 1e-13);
    ULT_OK(ul_js_div(&q, &p, &v)); /* symmetric */
    ULT_CLOSE(v, 0.14955506631990664, 1e-14, 1e-13);
    ULT_OK(ul_kl_div(&q, &p, &v)); /* zeros in the reference: large but finite (eps rule) */
    ULT_CLOSE(v, 7.74443467226446, 1e-12, 1e-12);
    ULT_OK(ul_kl_div(&p, &p, &v));
    ULT_CLOSE(v, 0.0, 0, 0);
    ULT_OK(ul_js_div(&p, &p, &v));
    ULT_CLOSE(v, 0.0, 0, 0);
    /* disjoint supports: JS = ln 2, its maximum */
    ul_predictions a = preds_probs((const float[]){1, 0}, (const int32_t[]){0}, 1, 2),
                   b = preds_probs((const float[]){0, 1}, (const int32_t[]){0}, 1, 2);
    ULT_OK(ul_js_div(&a, &b, &v));
    ULT_CLOSE(v, log(2.0), 1e-15, 0);
    ULT_OK(ul_kl_div(&a, &b, &v)); /* ln(1 / 1e-20) = 46.0517... */
    ULT_CLOSE(v, log(1.0 / UL_DIV_EPS), 1e-12, 0);
    /* mismatches */
    ul_predictions q2 = preds_probs(k_q, y, 2, 4);
    ULT_FAILS(ul_kl_div(&p, &q2, &v), UL_E_SHAPE);
    ULT_FAILS(ul_js_div(&a, &q2, &v), UL_E_SHAPE);
    ul_predictions q3 = preds_probs(k_q, (const int32_t[]){0, 1, 1}, 3, 4);
    ULT_FAILS(ul_kl_div(&p, &q3, &v), UL_E_ARG);
    ULT_ERR_HAS("label");
    /* predictions of different views of one dataset */
    p.idx = malloc(3 * sizeof(int32_t));
    q.idx = malloc(3 * sizeof(int32_t));
    assert_non_null(p.idx);
    assert_non_null(q.idx);
    for (int i = 0; i < 3; i++) p.idx[i] = q.idx[i] = i;
    ULT_OK(ul_js_div(&p, &q, &v));
    q.idx[2] = 7;
    ULT_FAILS(ul_js_div(&p, &q, &v), UL_E_ARG);
    ULT_ERR_HAS("different samples");
    ul_predictions e = {0};
    ULT_OK(ul_predictions_from_probs(NULL, NULL, 0, 4, &e));
    ULT_FAILS(ul_kl_div(&e, &e, &v), UL_E_ARG);
    ULT_ERR_HAS("empty");
    ULT_FAILS(ul_kl_div(&p, NULL, &v), UL_E_ARG);
    ul_predictions_free(&e);
    ul_predictions_free(&q3);
    ul_predictions_free(&q2);
    ul_predictions_free(&a);
    ul_predictions_free(&b);
    ul_predictions_free(&p);
    ul_predictions_free(&q);
}

/* ================================ summaries ======================================= */

static void test_avg_gap_and_mean_std(void **state) {
    (void)state;
    /* by hand: (|5 - 6| + |99 - 100| + |94 - 94.5| + |70 - 76|) / 4 = (1 + 1 + 0.5 + 6) / 4 = 2.125 */
    ul_gap_metrics m = {.ua = 5, .ra = 99, .ta = 94, .mia = 70}, rt = {.ua = 6, .ra = 100, .ta = 94.5, .mia = 76};
    double g;
    ULT_OK(ul_avg_gap(&m, &rt, &g));
    ULT_CLOSE(g, 2.125, 1e-15, 0);
    ULT_OK(ul_avg_gap(&rt, &m, &g)); /* symmetric */
    ULT_CLOSE(g, 2.125, 1e-15, 0);
    m.mia = NAN;
    ULT_FAILS(ul_avg_gap(&m, &rt, &g), UL_E_NUMERIC);
    ULT_ERR_HAS("MIA");

    /* numpy: x = [76.1, 75.3, 77.0, 76.6, 75.9]; np.mean(x) = 76.17999999999999,
     * np.std(x, ddof=1) = 0.6534523701081812, np.std(x) = 0.5844655678480979 */
    const double x[5] = {76.1, 75.3, 77.0, 76.6, 75.9};
    double mu, sd;
    ULT_OK(ul_mean_std(x, 5, 1, &mu, &sd));
    ULT_CLOSE(mu, 76.17999999999999, 1e-12, 0);
    ULT_CLOSE(sd, 0.6534523701081812, 1e-13, 0);
    ULT_OK(ul_mean_std(x, 5, 0, &mu, &sd));
    ULT_CLOSE(sd, 0.5844655678480979, 1e-13, 0);
    ULT_OK(ul_mean_std(x, 1, 1, &mu, &sd)); /* one seed: no spread estimate */
    ULT_CLOSE(mu, 76.1, 0, 0);
    assert_true(isnan(sd));
    ULT_OK(ul_mean_std(x, 1, 0, &mu, &sd));
    ULT_CLOSE(sd, 0.0, 0, 0);
    ULT_FAILS(ul_mean_std(x, 0, 1, &mu, &sd), UL_E_ARG);
    ULT_FAILS(ul_mean_std(x, 5, -1, &mu, &sd), UL_E_ARG);
    ULT_FAILS(ul_mean_std((const double[]){1.0, INFINITY}, 2, 1, &mu, &sd), UL_E_NUMERIC);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pyrandom_shuffle_small),
        cmocka_unit_test(test_pyrandom_shuffle_1000),
        cmocka_unit_test(test_pyrandom_bits_and_random),
        cmocka_unit_test(test_pyrandom_randbelow),
        cmocka_unit_test(test_pyrandom_seed_key),
        cmocka_unit_test(test_forget_split_sfron),
        cmocka_unit_test(test_forget_split_counts_and_errors),
        cmocka_unit_test(test_pyrandom_live_python),
        cmocka_unit_test(test_predict_tiny_model),
        cmocka_unit_test(test_predictions_from_memory),
        cmocka_unit_test(test_accuracies),
        cmocka_unit_test(test_entropy_rows),
        cmocka_unit_test(test_mia_lr_small),
        cmocka_unit_test(test_mia_lr_large),
        cmocka_unit_test(test_mia_lr_predictions_and_errors),
        cmocka_unit_test(test_mia_svc_reference),
        cmocka_unit_test(test_mia_svc_predictions_and_errors),
        cmocka_unit_test(test_divergences),
        cmocka_unit_test(test_avg_gap_and_mean_std),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
