/* Tests for src/train/{optim,sched,clip}.c: SGD and AdamW updates against hand-computed values
 * and an independent double-precision reference written here, a pasted PyTorch 1.13 trajectory,
 * learning-rate schedules at known steps, gradient clipping, parameter validation, and
 * bit-identical results for 1 and 2 OpenMP threads.
 */
#include "ul_test.h"

#include "unlearn/train.h"

#define ATOL 1e-7
#define RTOL 1e-6
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- independent double-precision references ------------------------------------------ */

typedef struct ref_sgd {
    double lr, momentum, dampening, wd;
    int nesterov;
    double buf[16];
    int started;
} ref_sgd;

/* One SGD step in double, in the textbook form: effective gradient, then momentum. */
static void ref_sgd_step(ref_sgd *r, double *theta, const double *g, const double *mask, size_t n) {
    assert_true(n <= N_OF(r->buf));
    for (size_t i = 0; i < n; i++) {
        double grad = g[i] * (mask ? mask[i] : 1.0);
        grad += r->wd * theta[i];
        double dir = grad;
        if (r->momentum != 0.0) {
            if (!r->started) r->buf[i] = grad;
            else r->buf[i] = r->momentum * r->buf[i] + (1.0 - r->dampening) * grad;
            dir = r->nesterov ? grad + r->momentum * r->buf[i] : r->buf[i];
        }
        theta[i] -= r->lr * dir;
    }
    r->started = 1;
}

typedef struct ref_adamw {
    double b1, b2, eps, wd;
    double m[16], v[16];
    int t;
} ref_adamw;

/* One AdamW step in double, written with explicit bias-corrected moments m_hat, v_hat. */
static void ref_adamw_step(ref_adamw *r, double lr, double *theta, const double *g, const double *mask,
                           size_t n) {
    assert_true(n <= N_OF(r->m));
    r->t++;
    for (size_t i = 0; i < n; i++) {
        double grad = g[i] * (mask ? mask[i] : 1.0);
        theta[i] -= lr * r->wd * theta[i];
        r->m[i] = r->b1 * r->m[i] + (1.0 - r->b1) * grad;
        r->v[i] = r->b2 * r->v[i] + (1.0 - r->b2) * grad * grad;
        double m_hat = r->m[i] / (1.0 - pow(r->b1, r->t));
        double v_hat = r->v[i] / (1.0 - pow(r->b2, r->t));
        theta[i] -= lr * m_hat / (sqrt(v_hat) + r->eps);
    }
}

static void to_double(const float *a, double *b, size_t n) {
    for (size_t i = 0; i < n; i++) b[i] = (double)a[i];
}

static void expect_close_vec(const float *got, const double *want, size_t n) {
    for (size_t i = 0; i < n; i++) ULT_CLOSE(got[i], want[i], ATOL, RTOL);
}

static ul_optim *make_sgd(double lr, double momentum, double dampening, double wd, bool nesterov,
                          size_t n) {
    ul_optim_params p = ul_optim_defaults(UL_OPT_SGD);
    p.lr = lr;
    p.momentum = momentum;
    p.dampening = dampening;
    p.weight_decay = wd;
    p.nesterov = nesterov;
    ul_optim *o = NULL;
    ULT_OK(ul_optim_create(&p, n, &o));
    assert_non_null(o);
    return o;
}

static ul_optim *make_adamw(double lr, double b1, double b2, double eps, double wd, size_t n) {
    ul_optim_params p = ul_optim_defaults(UL_OPT_ADAMW);
    p.lr = lr;
    p.beta1 = b1;
    p.beta2 = b2;
    p.eps = eps;
    p.weight_decay = wd;
    ul_optim *o = NULL;
    ULT_OK(ul_optim_create(&p, n, &o));
    assert_non_null(o);
    return o;
}

/* ---- defaults --------------------------------------------------------------------------- */

static void test_defaults(void **state) {
    (void)state;
    ul_optim_params s = ul_optim_defaults(UL_OPT_SGD);
    assert_int_equal(s.kind, UL_OPT_SGD);
    assert_true(s.lr == 0.01);
    assert_true(s.momentum == 0.0 && s.dampening == 0.0 && s.weight_decay == 0.0 && !s.nesterov);
    ul_optim_params a = ul_optim_defaults(UL_OPT_ADAMW);
    assert_int_equal(a.kind, UL_OPT_ADAMW);
    assert_true(a.lr == 1e-3 && a.beta1 == 0.9 && a.beta2 == 0.999 && a.eps == 1e-8);
    assert_true(a.weight_decay == 0.01);
    ul_optim *o = NULL;
    ULT_OK(ul_optim_create(&s, 4, &o));
    ul_optim_free(o);
    ULT_OK(ul_optim_create(&a, 4, &o));
    ul_optim_free(o);
    ul_optim_free(NULL); /* no-op */
}

/* ---- SGD: hand-computed steps ------------------------------------------------------------ */

static void test_sgd_plain(void **state) {
    (void)state;
    ul_optim *o = make_sgd(0.1, 0.0, 0.0, 0.0, false, 3);
    float th[3] = {1.0f, -2.0f, 0.5f};
    const float g[3] = {0.5f, 0.25f, -1.0f};
    ul_optim_step(o, th, g, NULL, 0.1);
    ULT_CLOSE(th[0], 0.95, ATOL, RTOL);
    ULT_CLOSE(th[1], -2.025, ATOL, RTOL);
    ULT_CLOSE(th[2], 0.6, ATOL, RTOL);
    /* the step's lr argument (the schedule's value), not params.lr, is used */
    ul_optim_step(o, th, g, NULL, 0.2);
    ULT_CLOSE(th[0], 0.85, ATOL, RTOL);
    ULT_CLOSE(th[1], -2.075, ATOL, RTOL);
    ULT_CLOSE(th[2], 0.8, ATOL, RTOL);
    assert_int_equal(ul_optim_steps(o), 2);
    size_t ns = 99;
    (void)ul_optim_state(o, &ns);
    assert_int_equal(ns, 0); /* plain SGD keeps no state */
    ul_optim_free(o);
}

/* theta0 = 1, grads 1, 0.5, -1, lr 0.1 (values worked out by hand in the comments). */
static const float k_g3[3] = {1.0f, 0.5f, -1.0f};

static void test_sgd_momentum(void **state) {
    (void)state;
    ul_optim *o = make_sgd(0.1, 0.9, 0.0, 0.0, false, 1);
    float th = 1.0f;
    /* buf = 1            -> theta = 1 - 0.1*1 = 0.9 */
    ul_optim_step(o, &th, &k_g3[0], NULL, 0.1);
    ULT_CLOSE(th, 0.9, ATOL, RTOL);
    /* buf = 0.9 + 0.5 = 1.4   -> theta = 0.9 - 0.14 = 0.76 */
    ul_optim_step(o, &th, &k_g3[1], NULL, 0.1);
    ULT_CLOSE(th, 0.76, ATOL, RTOL);
    /* buf = 1.26 - 1 = 0.26   -> theta = 0.76 - 0.026 = 0.734 */
    ul_optim_step(o, &th, &k_g3[2], NULL, 0.1);
    ULT_CLOSE(th, 0.734, ATOL, RTOL);
    size_t ns = 0;
    float *buf = ul_optim_state(o, &ns);
    assert_int_equal(ns, 1);
    ULT_CLOSE(buf[0], 0.26, ATOL, RTOL);
    ul_optim_free(o);
}

static void test_sgd_dampening(void **state) {
    (void)state;
    ul_optim *o = make_sgd(0.1, 0.9, 0.5, 0.0, false, 1);
    float th = 1.0f;
    /* first step: buf = g undamped (as PyTorch) = 1 -> theta = 0.9 */
    ul_optim_step(o, &th, &k_g3[0], NULL, 0.1);
    ULT_CLOSE(th, 0.9, ATOL, RTOL);
    /* buf = 0.9 + 0.5*0.5 = 1.15 -> theta = 0.9 - 0.115 = 0.785 */
    ul_optim_step(o, &th, &k_g3[1], NULL, 0.1);
    ULT_CLOSE(th, 0.785, ATOL, RTOL);
    /* buf = 1.035 - 0.5 = 0.535 -> theta = 0.785 - 0.0535 = 0.7315 */
    ul_optim_step(o, &th, &k_g3[2], NULL, 0.1);
    ULT_CLOSE(th, 0.7315, ATOL, RTOL);
    ul_optim_free(o);
}

static void test_sgd_nesterov(void **state) {
    (void)state;
    ul_optim *o = make_sgd(0.1, 0.9, 0.0, 0.0, true, 1);
    float th = 1.0f;
    /* buf = 1, d = 1 + 0.9 = 1.9 -> theta = 0.81 */
    ul_optim_step(o, &th, &k_g3[0], NULL, 0.1);
    ULT_CLOSE(th, 0.81, ATOL, RTOL);
    /* buf = 1.4, d = 0.5 + 1.26 = 1.76 -> theta = 0.634 */
    ul_optim_step(o, &th, &k_g3[1], NULL, 0.1);
    ULT_CLOSE(th, 0.634, ATOL, RTOL);
    /* buf = 0.26, d = -1 + 0.234 = -0.766 -> theta = 0.7106 */
    ul_optim_step(o, &th, &k_g3[2], NULL, 0.1);
    ULT_CLOSE(th, 0.7106, ATOL, RTOL);
    ul_optim_free(o);
}

static void test_sgd_weight_decay(void **state) {
    (void)state;
    ul_optim *o = make_sgd(0.1, 0.0, 0.0, 0.1, false, 1);
    float th = 2.0f;
    const float g = 0.5f;
    /* d = 0.5 + 0.1*2 = 0.7 -> theta = 1.93 */
    ul_optim_step(o, &th, &g, NULL, 0.1);
    ULT_CLOSE(th, 1.93, ATOL, RTOL);
    /* d = 0.5 + 0.193 = 0.693 -> theta = 1.8607 */
    ul_optim_step(o, &th, &g, NULL, 0.1);
    ULT_CLOSE(th, 1.8607, ATOL, RTOL);
    ul_optim_free(o);
}

/* All SGD variants over 3 steps on a vector against the double reference. */
static void test_sgd_reference(void **state) {
    (void)state;
    static const struct { double mom, damp, wd; bool nest; } cfg[] = {
        {0.0, 0.0, 0.0, false}, {0.9, 0.0, 0.0, false}, {0.8, 0.3, 0.0, false},
        {0.9, 0.0, 0.0, true},  {0.0, 0.0, 0.05, false}, {0.9, 0.0, 5e-4, true},
        {0.5, 0.1, 0.02, false},
    };
    const float th0[5] = {0.3f, -1.7f, 2.5f, 0.0f, -0.04f};
    const float gs[3][5] = {{0.2f, -0.6f, 1.1f, -0.3f, 0.05f},
                            {-0.4f, 0.9f, 0.25f, 0.7f, -0.8f},
                            {0.15f, 0.35f, -1.2f, 0.6f, 0.45f}};
    const double lrs[3] = {0.1, 0.05, 0.02};
    for (size_t c = 0; c < N_OF(cfg); c++) {
        ul_optim *o = make_sgd(0.1, cfg[c].mom, cfg[c].damp, cfg[c].wd, cfg[c].nest, 5);
        ref_sgd r = {.lr = 0, .momentum = cfg[c].mom, .dampening = cfg[c].damp, .wd = cfg[c].wd,
                     .nesterov = cfg[c].nest};
        float th[5];
        double rth[5], rg[5];
        memcpy(th, th0, sizeof th);
        to_double(th0, rth, 5);
        for (int k = 0; k < 3; k++) {
            ul_optim_step(o, th, gs[k], NULL, lrs[k]);
            r.lr = lrs[k];
            to_double(gs[k], rg, 5);
            ref_sgd_step(&r, rth, rg, NULL, 5);
            expect_close_vec(th, rth, 5);
        }
        ul_optim_free(o);
    }
}

/* A mask multiplies the gradient only: weight decay and momentum still act (as PyTorch). */
static void test_sgd_mask(void **state) {
    (void)state;
    /* no weight decay, no momentum: a zero mask freezes the value exactly */
    ul_optim *o = make_sgd(0.1, 0.0, 0.0, 0.0, false, 3);
    float th[3] = {1.0f, 2.0f, 3.0f};
    const float g[3] = {1.0f, 1.0f, 1.0f};
    const float mask[3] = {1.0f, 0.0f, 0.5f};
    ul_optim_step(o, th, g, mask, 0.1);
    ULT_CLOSE(th[0], 0.9, ATOL, RTOL);
    assert_true(th[1] == 2.0f);
    ULT_CLOSE(th[2], 2.95, ATOL, RTOL);
    ul_optim_free(o);

    /* weight decay still moves a masked value: d = 0 + 0.1*2 -> theta = 2 - 0.02 = 1.98 */
    o = make_sgd(0.1, 0.0, 0.0, 0.1, false, 3);
    th[0] = 1.0f, th[1] = 2.0f, th[2] = 3.0f;
    ul_optim_step(o, th, g, mask, 0.1);
    ULT_CLOSE(th[1], 1.98, ATOL, RTOL);
    ul_optim_free(o);

    /* momentum carries a masked value: buf = 1 then 0.9 -> theta = 1 - 0.1 - 0.09 = 0.81 */
    o = make_sgd(0.1, 0.9, 0.0, 0.0, false, 1);
    float t1 = 1.0f;
    const float one = 1.0f, zero = 0.0f;
    ul_optim_step(o, &t1, &one, &one, 0.1);
    ul_optim_step(o, &t1, &one, &zero, 0.1);
    ULT_CLOSE(t1, 0.81, ATOL, RTOL);
    ul_optim_free(o);

    /* the full combination against the reference */
    o = make_sgd(0.1, 0.9, 0.0, 5e-4, true, 3);
    ref_sgd r = {.lr = 0.1, .momentum = 0.9, .wd = 5e-4, .nesterov = 1};
    float v[3] = {0.5f, -1.5f, 2.0f};
    double rv[3], rg[3], rm[3];
    to_double(v, rv, 3);
    to_double(mask, rm, 3);
    const float gk[3][3] = {{0.3f, -0.2f, 0.7f}, {-0.1f, 0.9f, 0.4f}, {0.6f, 0.6f, -0.5f}};
    for (int k = 0; k < 3; k++) {
        ul_optim_step(o, v, gk[k], mask, 0.1);
        to_double(gk[k], rg, 3);
        ref_sgd_step(&r, rv, rg, rm, 3);
        expect_close_vec(v, rv, 3);
    }
    ul_optim_free(o);
}

/* ---- AdamW ------------------------------------------------------------------------------- */

static void test_adamw_first_step(void **state) {
    (void)state;
    /* Step 1 without decay: m_hat = g and v_hat = g^2, so theta -= lr * g/(|g| + eps). */
    ul_optim *o = make_adamw(0.01, 0.9, 0.999, 1e-8, 0.0, 2);
    float th[2] = {1.0f, -1.0f};
    const float g[2] = {0.5f, -2.0f};
    ul_optim_step(o, th, g, NULL, 0.01);
    ULT_CLOSE(th[0], 1.0 - 0.01 * 0.5 / (0.5 + 1e-8), ATOL, RTOL);
    ULT_CLOSE(th[1], -1.0 + 0.01 * 2.0 / (2.0 + 1e-8), ATOL, RTOL);
    assert_int_equal(ul_optim_steps(o), 1);
    ul_optim_free(o);

    /* Decoupled decay alone (zero gradient): theta *= 1 - lr*wd = 1 - 0.01*0.5 */
    o = make_adamw(0.01, 0.9, 0.999, 1e-8, 0.5, 1);
    float t = 4.0f;
    const float z = 0.0f;
    ul_optim_step(o, &t, &z, NULL, 0.01);
    ULT_CLOSE(t, 4.0 * 0.995, ATOL, RTOL);
    ul_optim_free(o);
}

static void test_adamw_reference(void **state) {
    (void)state;
    const size_t n = 6;
    ul_optim *o = make_adamw(1e-2, 0.9, 0.99, 1e-6, 0.1, n);
    ref_adamw r = {.b1 = 0.9, .b2 = 0.99, .eps = 1e-6, .wd = 0.1};
    float th[6] = {0.3f, -1.7f, 2.5f, 0.0f, -0.04f, 1.0f};
    const float gs[3][6] = {{0.2f, -0.6f, 1.1f, -0.3f, 0.05f, 1e-3f},
                            {-0.4f, 0.9f, 0.25f, 0.7f, -0.8f, 2e-3f},
                            {0.15f, 0.35f, -1.2f, 0.6f, 0.45f, -1e-3f}};
    const double lrs[3] = {1e-2, 5e-3, 2e-2};
    double rth[6], rg[6];
    to_double(th, rth, n);
    for (int k = 0; k < 3; k++) {
        ul_optim_step(o, th, gs[k], NULL, lrs[k]);
        to_double(gs[k], rg, n);
        ref_adamw_step(&r, lrs[k], rth, rg, NULL, n);
        expect_close_vec(th, rth, n);
    }
    assert_int_equal(ul_optim_steps(o), 3);
    size_t ns = 0;
    float *st = ul_optim_state(o, &ns);
    assert_int_equal(ns, 2 * n);
    for (size_t i = 0; i < n; i++) {
        ULT_CLOSE(st[i], r.m[i], ATOL, RTOL);     /* exp_avg first */
        ULT_CLOSE(st[n + i], r.v[i], 1e-10, RTOL); /* then exp_avg_sq */
    }
    ul_optim_free(o);
}

static void test_adamw_mask(void **state) {
    (void)state;
    const size_t n = 3;
    const float mask[3] = {1.0f, 0.0f, 0.25f};
    ul_optim *o = make_adamw(1e-2, 0.9, 0.999, 1e-8, 0.0, n);
    float th[3] = {1.0f, 1.0f, 1.0f};
    const float g[3] = {0.5f, 0.5f, 0.5f};
    /* fresh state, no decay: the masked value does not move */
    ul_optim_step(o, th, g, mask, 1e-2);
    assert_true(th[1] == 1.0f);
    ul_optim_free(o);

    /* with decay, and after unmasked steps, a masked value keeps moving (mask hits grads only) */
    o = make_adamw(1e-2, 0.9, 0.999, 1e-8, 0.01, n);
    ref_adamw r = {.b1 = 0.9, .b2 = 0.999, .eps = 1e-8, .wd = 0.01};
    th[0] = 0.5f, th[1] = -0.5f, th[2] = 2.0f;
    double rth[3], rg[3], rm[3] = {1.0, 1.0, 1.0};
    to_double(th, rth, n);
    to_double(g, rg, n);
    ul_optim_step(o, th, g, NULL, 1e-2);
    ref_adamw_step(&r, 1e-2, rth, rg, NULL, n);
    to_double(mask, rm, n);
    float before = th[1];
    for (int k = 0; k < 2; k++) {
        ul_optim_step(o, th, g, mask, 1e-2);
        ref_adamw_step(&r, 1e-2, rth, rg, rm, n);
        expect_close_vec(th, rth, n);
    }
    assert_true(th[1] != before);
    ul_optim_free(o);
}

/* ---- PyTorch 1.13 cross-check ---------------------------------------------------------- */

/* Produced once with /usr/bin/python3 (torch 1.13.0a0, Debian), torch.set_num_threads(1):
 *
 *   theta0 = [0.5, -1.25, 2.0, 0.0, -0.375, 0.001, 3.75, -2.25]
 *   def grad(k):  # exactly representable: ((7*i + 3*k) % 11 - 5) / 8
 *       return torch.tensor([((7*i + 3*k) % 11 - 5) / 8.0 for i in range(8)], dtype=torch.float32)
 *   def run(make_opt):
 *       p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float32))
 *       opt = make_opt([p]); out = []
 *       for k in range(5):
 *           opt.zero_grad(); p.grad = grad(k); opt.step(); out.append(p.detach().clone())
 *       return out
 *   run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4))
 *   run(lambda ps: torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.01))
 *
 * and printed with "%.9g" per float32 element after each step. AdamW matches these bit for bit;
 * SGD differs by at most 1 ulp in a few elements because torch's AVX2 kernels fuse a + alpha*b
 * into an FMA while our reference build (no -march) rounds the product separately. */
static const float k_torch_theta0[8] = {0.5f, -1.25f, 2.0f, 0.0f, -0.375f, 0.001f, 3.75f, -2.25f};
static const float k_torch_sgd[5][8] = {
    {0.559351265f, -1.27369058f, 2.02365494f, -0.0593749993f, -0.386857182f, 0.0366249532f, 3.70232177f, -2.24989319f},
    {0.608377099f, -1.34310472f, 2.02176833f, -0.0490596779f, -0.439393699f, 0.051810693f, 3.72932005f, -2.28536582f},
    {0.629359007f, -1.34179235f, 1.97814488f, -0.0566498935f, -0.416664422f, 0.0298512224f, 3.74289966f, -2.24098325f},
    {0.606351495f, -1.35745275f, 2.00883532f, -0.0991045013f, -0.406823158f, 0.0863374472f, 3.72565246f, -2.20535898f},
    {0.655630112f, -1.40713775f, 2.02578068f, -0.0610602163f, -0.42733106f, 0.132796615f, 3.6619122f, -2.19636774f},
};
static const float k_torch_adamw[5][8] = {
    {0.50099498f, -1.25098753f, 2.0009799f, -0.000999999931f, -0.375996232f, 0.00199999008f, 3.7489624f, -2.24997759f},
    {0.501888573f, -1.25191474f, 2.00122619f, -0.001191488f, -0.376876861f, 0.00267002848f, 3.74897766f, -2.25069928f},
    {0.502449751f, -1.25222564f, 2.00074887f, -0.00133950461f, -0.376918674f, 0.002584134f, 3.74909163f, -2.25042462f},
    {0.502476037f, -1.25247812f, 2.00082898f, -0.001713434f, -0.376851946f, 0.00298191817f, 3.74898005f, -2.25001812f},
    {0.502771199f, -1.25290585f, 2.00098109f, -0.00163352676f, -0.37697503f, 0.00346274651f, 3.74854755f, -2.24976254f},
};

static void torch_grad(int k, float *g) {
    for (int i = 0; i < 8; i++) g[i] = (float)((7 * i + 3 * k) % 11 - 5) / 8.0f;
}

static void check_torch_run(ul_optim *o, double lr, const float want[5][8]) {
    float th[8], g[8];
    memcpy(th, k_torch_theta0, sizeof th);
    for (int k = 0; k < 5; k++) {
        torch_grad(k, g);
        ul_optim_step(o, th, g, NULL, lr);
        for (int i = 0; i < 8; i++) ULT_CLOSE(th[i], want[k][i], ATOL, RTOL);
    }
}

static void test_torch_sgd(void **state) {
    (void)state;
    ul_optim *o = make_sgd(0.05, 0.9, 0.0, 5e-4, true, 8);
    check_torch_run(o, 0.05, k_torch_sgd);
    ul_optim_free(o);
}

static void test_torch_adamw(void **state) {
    (void)state;
    ul_optim_params p = ul_optim_defaults(UL_OPT_ADAMW); /* torch's defaults: betas, eps, wd */
    ul_optim *o = NULL;
    ULT_OK(ul_optim_create(&p, 8, &o));
    check_torch_run(o, 1e-3, k_torch_adamw);
    ul_optim_free(o);
}

/* ---- state, reset ------------------------------------------------------------------------ */

static void test_reset_and_state(void **state) {
    (void)state;
    const float g[4] = {0.5f, -0.25f, 1.0f, 2.0f};
    const float th0[4] = {1.0f, 2.0f, -3.0f, 0.5f};
    for (int kind = 0; kind < 2; kind++) {
        ul_optim *o = kind == 0 ? make_sgd(0.1, 0.9, 0.1, 0.01, false, 4)
                                : make_adamw(1e-2, 0.9, 0.999, 1e-8, 0.01, 4);
        size_t ns = 0;
        float *st = ul_optim_state(o, &ns);
        assert_int_equal(ns, kind == 0 ? 4 : 8);
        for (size_t i = 0; i < ns; i++) assert_true(st[i] == 0.0f);
        float a[4], b[4];
        memcpy(a, th0, sizeof a);
        ul_optim_step(o, a, g, NULL, 0.1);
        ul_optim_step(o, a, g, NULL, 0.1);
        assert_int_equal(ul_optim_steps(o), 2);
        int nonzero = 0;
        for (size_t i = 0; i < ns; i++) nonzero += st[i] != 0.0f;
        assert_true(nonzero > 0);

        ul_optim_reset(o);
        assert_int_equal(ul_optim_steps(o), 0);
        for (size_t i = 0; i < ns; i++) assert_true(st[i] == 0.0f);
        /* after reset a step behaves as the very first step of a fresh optimizer */
        memcpy(a, th0, sizeof a);
        memcpy(b, th0, sizeof b);
        ul_optim_step(o, a, g, NULL, 0.1);
        ul_optim *fresh = kind == 0 ? make_sgd(0.1, 0.9, 0.1, 0.01, false, 4)
                                    : make_adamw(1e-2, 0.9, 0.999, 1e-8, 0.01, 4);
        ul_optim_step(fresh, b, g, NULL, 0.1);
        assert_memory_equal(a, b, sizeof a);
        ul_optim_free(fresh);
        ul_optim_free(o);
    }
}

/* ---- schedules --------------------------------------------------------------------------- */

static void test_sched_cosine(void **state) {
    (void)state;
    ul_sched s = {.kind = UL_SCHED_COSINE, .base_lr = 0.1, .total = 100, .eta_min = 0.001};
    ULT_CLOSE(ul_sched_lr(&s, 0), 0.1, 1e-15, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 50), (0.1 + 0.001) / 2, 1e-15, 1e-12);
    /* t = 25: eta_min + (base - eta_min) * (1 + cos(pi/4)) / 2 */
    ULT_CLOSE(ul_sched_lr(&s, 25), 0.001 + 0.099 * (1 + sqrt(0.5)) / 2, 1e-15, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 100), 0.001, 1e-15, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 150), 0.001, 1e-15, 1e-12); /* clamped, not rising again */
    ULT_CLOSE(ul_sched_lr(&s, -5), 0.1, 1e-15, 1e-12);
    assert_true(ul_sched_lr(&s, 10) > ul_sched_lr(&s, 11));
    s.total = 0; /* degenerate: the base rate */
    ULT_CLOSE(ul_sched_lr(&s, 7), 0.1, 0, 0);
    s.total = -3;
    ULT_CLOSE(ul_sched_lr(&s, 7), 0.1, 0, 0);
}

static void test_sched_multistep(void **state) {
    (void)state;
    ul_sched s = {.kind = UL_SCHED_MULTISTEP, .base_lr = 0.1, .gamma = 0.1, .nmilestones = 2,
                  .milestones = {30, 80}};
    ULT_CLOSE(ul_sched_lr(&s, 0), 0.1, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 29), 0.1, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 30), 0.01, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 31), 0.01, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 79), 0.01, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 80), 0.001, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 1000), 0.001, 0, 1e-12);
    s.nmilestones = 0;
    ULT_CLOSE(ul_sched_lr(&s, 1000), 0.1, 0, 0);
    s.total = 0; /* total is irrelevant to multistep */
    s.nmilestones = 1;
    s.gamma = 0.5;
    ULT_CLOSE(ul_sched_lr(&s, 30), 0.05, 0, 1e-12);
}

static void test_sched_warmup(void **state) {
    (void)state;
    ul_sched c = {.kind = UL_SCHED_CONST, .base_lr = 0.2, .warmup = 4};
    ULT_CLOSE(ul_sched_lr(&c, 0), 0.05, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&c, 1), 0.10, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&c, 3), 0.20, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&c, 4), 0.20, 0, 1e-12);
    ULT_CLOSE(ul_sched_lr(&c, 100), 0.20, 0, 1e-12);
    c.warmup = 0;
    ULT_CLOSE(ul_sched_lr(&c, 0), 0.20, 0, 0);
    /* warmup multiplies the base rule at t */
    ul_sched s = {.kind = UL_SCHED_COSINE, .base_lr = 1.0, .total = 10, .eta_min = 0.0, .warmup = 5};
    ULT_CLOSE(ul_sched_lr(&s, 2), (1 + cos(3.14159265358979323846 * 0.2)) / 2 * 3.0 / 5.0, 1e-15, 1e-12);
    ULT_CLOSE(ul_sched_lr(&s, 5), (1 + cos(3.14159265358979323846 * 0.5)) / 2, 1e-15, 1e-12);
    ul_sched m = {.kind = UL_SCHED_MULTISTEP, .base_lr = 1.0, .gamma = 0.5, .nmilestones = 1,
                  .milestones = {1}, .warmup = 2};
    ULT_CLOSE(ul_sched_lr(&m, 0), 0.5, 0, 1e-12);  /* 1 * 1/2 */
    ULT_CLOSE(ul_sched_lr(&m, 1), 0.5, 0, 1e-12);  /* 0.5 * 2/2 */
    assert_true(ul_sched_lr(NULL, 3) == 0.0);
}

/* ---- clipping ---------------------------------------------------------------------------- */

static void test_clip(void **state) {
    (void)state;
    float g[2] = {3.0f, 4.0f};
    double norm = ul_clip_grad_norm(g, 2, 1.0);
    ULT_CLOSE(norm, 5.0, 0, 1e-15);
    ULT_CLOSE(g[0], 3.0 / (5.0 + 1e-6), ATOL, RTOL);
    ULT_CLOSE(g[1], 4.0 / (5.0 + 1e-6), ATOL, RTOL);
    ULT_CLOSE(ul_clip_grad_norm(g, 2, 0.0), 1.0, 1e-6, 0); /* norm after the first clip */

    float h[3] = {1.0f, -2.0f, 2.0f};
    const float h0[3] = {1.0f, -2.0f, 2.0f};
    ULT_CLOSE(ul_clip_grad_norm(h, 3, 10.0), 3.0, 0, 1e-15); /* below: no-op */
    assert_memory_equal(h, h0, sizeof h);
    ULT_CLOSE(ul_clip_grad_norm(h, 3, 3.0), 3.0, 0, 1e-15); /* scale 3/(3+1e-6) */
    ULT_CLOSE(h[1], -2.0 * 3.0 / (3.0 + 1e-6), ATOL, 1e-9);
    memcpy(h, h0, sizeof h);
    ULT_CLOSE(ul_clip_grad_norm(h, 3, 0.0), 3.0, 0, 1e-15); /* max_norm <= 0: no-op */
    ULT_CLOSE(ul_clip_grad_norm(h, 3, -1.0), 3.0, 0, 1e-15);
    assert_memory_equal(h, h0, sizeof h);
    ULT_CLOSE(ul_clip_grad_norm(h, 0, 1.0), 0.0, 0, 0);
    ULT_CLOSE(ul_clip_grad_norm(NULL, 5, 1.0), 0.0, 0, 0);

    /* a long vector with a known norm (crosses the parallel threshold): 1e5 * 0.5^2 = 25000 */
    const size_t n = 100000;
    float *big = malloc(n * sizeof *big);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) big[i] = (i & 1) ? -0.5f : 0.5f;
    ULT_CLOSE(ul_clip_grad_norm(big, n, 1.0), sqrt(25000.0), 0, 1e-14);
    ULT_CLOSE(ul_clip_grad_norm(big, n, 0.0), 1.0, 1e-6, 0);
    free(big);

    /* non-finite norm: returned as is, grads untouched */
    float bad[2] = {INFINITY, 1.0f};
    assert_true(isinf(ul_clip_grad_norm(bad, 2, 1.0)));
    assert_true(bad[1] == 1.0f);
}

/* ---- validation -------------------------------------------------------------------------- */

static ul_optim *const k_sentinel = (ul_optim *)&k_sentinel;

static void expect_bad(const ul_optim_params *p, const char *field) {
    ul_optim *o = k_sentinel;
    ULT_FAILS(ul_optim_create(p, 4, &o), UL_E_ARG);
    ULT_ERR_HAS(field);
    assert_null(o);
}

static void test_validation(void **state) {
    (void)state;
    ul_optim_params p = ul_optim_defaults(UL_OPT_SGD);
    ULT_FAILS(ul_optim_create(&p, 4, NULL), UL_E_ARG);
    ULT_ERR_HAS("out");
    expect_bad(NULL, "params");

    ul_optim_params q = p;
    q.lr = -0.1;
    expect_bad(&q, "lr");
    q.lr = NAN;
    expect_bad(&q, "lr");
    q = p, q.weight_decay = -1e-4;
    expect_bad(&q, "weight_decay");
    q = p, q.momentum = 1.0;
    expect_bad(&q, "momentum");
    q = p, q.momentum = -0.1;
    expect_bad(&q, "momentum");
    q = p, q.momentum = 0.9, q.dampening = 1.5;
    expect_bad(&q, "dampening");
    q = p, q.nesterov = true; /* momentum 0 */
    expect_bad(&q, "nesterov");
    q = p, q.nesterov = true, q.momentum = 0.9, q.dampening = 0.1;
    expect_bad(&q, "nesterov");
    q = p, q.kind = (ul_optim_kind)7;
    expect_bad(&q, "kind");
    /* AdamW-only fields are ignored for SGD, and the other way round */
    q = p, q.beta1 = 5.0, q.eps = 0.0;
    ul_optim *o = NULL;
    ULT_OK(ul_optim_create(&q, 4, &o));
    ul_optim_free(o);

    ul_optim_params a = ul_optim_defaults(UL_OPT_ADAMW);
    q = a, q.beta1 = 1.0;
    expect_bad(&q, "beta1");
    q = a, q.beta1 = -0.5;
    expect_bad(&q, "beta1");
    q = a, q.beta2 = 1.0;
    expect_bad(&q, "beta2");
    q = a, q.eps = 0.0;
    expect_bad(&q, "eps");
    q = a, q.lr = -1.0;
    expect_bad(&q, "lr");
    q = a, q.momentum = 2.0, q.nesterov = true;
    ULT_OK(ul_optim_create(&q, 4, &o));
    ul_optim_free(o);
    q = a, q.beta1 = 0.0, q.beta2 = 0.0; /* 0 is allowed */
    ULT_OK(ul_optim_create(&q, 0, &o));
    ul_optim_free(o);
}

/* ---- determinism across thread counts --------------------------------------------------- */

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static float rnd(void) { /* xorshift64*, uniform in [-1, 1) */
    g_rng ^= g_rng >> 12, g_rng ^= g_rng << 25, g_rng ^= g_rng >> 27;
    return (float)((double)((g_rng * 2685821657736338717ull) >> 40) / (double)(1 << 23)) - 1.0f;
}

typedef struct det_out {
    float *th_sgd, *th_adam, *st_sgd, *st_adam, *clipped;
    double norm;
} det_out;

static void det_run(int threads, const float *th0, const float *const *gs, const float *mask,
                    size_t n, det_out *out) {
    ul_set_threads(threads);
    assert_int_equal(ul_get_threads(), threads);
    ul_optim *s = make_sgd(0.05, 0.9, 0.0, 5e-4, true, n);
    ul_optim *a = make_adamw(1e-3, 0.9, 0.999, 1e-8, 0.01, n);
    out->th_sgd = malloc(n * sizeof(float));
    out->th_adam = malloc(n * sizeof(float));
    out->clipped = malloc(n * sizeof(float));
    assert_non_null(out->th_sgd);
    assert_non_null(out->th_adam);
    assert_non_null(out->clipped);
    memcpy(out->th_sgd, th0, n * sizeof(float));
    memcpy(out->th_adam, th0, n * sizeof(float));
    for (int k = 0; k < 3; k++) {
        ul_optim_step(s, out->th_sgd, gs[k], k == 1 ? mask : NULL, 0.05);
        ul_optim_step(a, out->th_adam, gs[k], k == 2 ? mask : NULL, 1e-3);
    }
    size_t ns = 0, na = 0;
    const float *ss = ul_optim_state(s, &ns), *sa = ul_optim_state(a, &na);
    assert_int_equal(ns, n);
    assert_int_equal(na, 2 * n);
    out->st_sgd = malloc(ns * sizeof(float));
    out->st_adam = malloc(na * sizeof(float));
    assert_non_null(out->st_sgd);
    assert_non_null(out->st_adam);
    memcpy(out->st_sgd, ss, ns * sizeof(float));
    memcpy(out->st_adam, sa, na * sizeof(float));
    memcpy(out->clipped, gs[0], n * sizeof(float));
    out->norm = ul_clip_grad_norm(out->clipped, n, 1.0);
    ul_optim_free(s);
    ul_optim_free(a);
}

static void det_free(det_out *o) {
    free(o->th_sgd), free(o->th_adam), free(o->st_sgd), free(o->st_adam), free(o->clipped);
}

static void test_threads_determinism(void **state) {
    (void)state;
    const size_t n = 100000;
    const int saved = ul_get_threads();
    float *th0 = malloc(n * sizeof(float)), *mask = malloc(n * sizeof(float));
    float *g[3];
    assert_non_null(th0);
    assert_non_null(mask);
    for (int k = 0; k < 3; k++) {
        g[k] = malloc(n * sizeof(float));
        assert_non_null(g[k]);
    }
    for (size_t i = 0; i < n; i++) {
        /* magnitudes spread over many octaves so a reordered sum would change the last bits */
        th0[i] = rnd() * 3.0f;
        mask[i] = (i % 3 == 0) ? 0.0f : 1.0f;
        for (int k = 0; k < 3; k++) g[k][i] = rnd() * ldexpf(1.0f, (int)(i % 17) - 8);
    }
    det_out one, two;
    det_run(1, th0, (const float *const *)g, mask, n, &one);
    det_run(2, th0, (const float *const *)g, mask, n, &two);
    ul_set_threads(saved);

    assert_memory_equal(one.th_sgd, two.th_sgd, n * sizeof(float));
    assert_memory_equal(one.th_adam, two.th_adam, n * sizeof(float));
    assert_memory_equal(one.st_sgd, two.st_sgd, n * sizeof(float));
    assert_memory_equal(one.st_adam, two.st_adam, 2 * n * sizeof(float));
    assert_memory_equal(one.clipped, two.clipped, n * sizeof(float));
    assert_memory_equal(&one.norm, &two.norm, sizeof one.norm);
    /* and the runs did something */
    assert_true(memcmp(one.th_sgd, th0, n * sizeof(float)) != 0);
    assert_true(memcmp(one.th_adam, th0, n * sizeof(float)) != 0);
    assert_true(one.norm > 1.0);
    /* spot-check the parallel path against the reference on a few elements */
    for (size_t i = 0; i < n; i += 9973) {
        ref_sgd r = {.lr = 0.05, .momentum = 0.9, .wd = 5e-4, .nesterov = 1};
        double th = th0[i], gg, m = mask[i];
        for (int k = 0; k < 3; k++) {
            gg = g[k][i];
            ref_sgd_step(&r, &th, &gg, k == 1 ? &m : NULL, 1);
        }
        ULT_CLOSE(two.th_sgd[i], th, 1e-6, 1e-5);
    }
    det_free(&one);
    det_free(&two);
    for (int k = 0; k < 3; k++) free(g[k]);
    free(th0);
    free(mask);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_sgd_plain),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_sgd_dampening),
        cmocka_unit_test(test_sgd_nesterov),
        cmocka_unit_test(test_sgd_weight_decay),
        cmocka_unit_test(test_sgd_reference),
        cmocka_unit_test(test_sgd_mask),
        cmocka_unit_test(test_adamw_first_step),
        cmocka_unit_test(test_adamw_reference),
        cmocka_unit_test(test_adamw_mask),
        cmocka_unit_test(test_torch_sgd),
        cmocka_unit_test(test_torch_adamw),
        cmocka_unit_test(test_reset_and_state),
        cmocka_unit_test(test_sched_cosine),
        cmocka_unit_test(test_sched_multistep),
        cmocka_unit_test(test_sched_warmup),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_threads_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
