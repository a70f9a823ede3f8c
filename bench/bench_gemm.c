/* bench_gemm: GEMM throughput of OpenBLAS and of unlearn's convolution/linear layers.
 *
 * 1. OpenBLAS cblas_sgemm, row-major, square n x n (--n, 2048), with 1 .. --threads OpenBLAS
 *    threads: GFLOP/s = 2 n^3 / s. Compare with the machine's peak (docs/performance.md).
 * 2. Per layer of each --arch (batch --batch, train mode): our forward + backward of every conv and
 *    linear layer (ul_conv_forward/backward, ul_linear_forward/backward at --threads, as training runs
 *    them) against OpenBLAS sgemm on the same GEMM shapes over the whole batch (forward, weight
 *    gradient and, when the layer needs it, input gradient; OpenBLAS threaded with --threads).
 *    Both are expressed as GFLOP/s of the same GEMM flop count, 2 * sum(M N K); the ratio
 *    ours / sgemm says how much of the GEMM speed the layer keeps after im2col/col2im, bias,
 *    ReLU, chunking and reductions. Each repetition times ours and sgemm back to back.
 * One JSON object per line on stdout (median/min/max over --reps), max RSS at the end.
 * Uses the library's internal headers (src/nn/layer.h), as the unit tests do.
 */
#include "nn/layer.h"
#include "tensor/blas.h"
#include "unlearn/base.h"
#include "unlearn/nn.h"

#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_REPS 100
#define MAX_ARCHS 8

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_stats(const char *key, const double *v, int n) {
    double s[MAX_REPS];
    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    double med = (n % 2) ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    printf("\"%s\": {\"median\": %.3f, \"min\": %.3f, \"max\": %.3f, \"runs\": [", key, med, s[0], s[n - 1]);
    for (int i = 0; i < n; i++) printf("%s%.3f", i ? ", " : "", v[i]);
    printf("]}");
}

static void fill(float *p, size_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
}

/* One GEMM shape, row-major C[M,N] = op(A) op(B). */
typedef struct shape {
    bool ta, tb;
    int M, N, K;
} shape;

typedef struct gemm_bufs {
    float *a, *b, *c;
    size_t na, nb, nc;
} gemm_bufs;

static int grow(float **p, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    free(*p);
    *p = ul_alloc_aligned(n, sizeof(float));
    if (!*p) return -1;
    fill(*p, n, (uint32_t)n);
    *cap = n;
    return 0;
}

static void run_shape(gemm_bufs *g, const shape *s) {
    const int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, s->M, s->N,
                s->K, 1.0f, g->a, lda, g->b, ldb, 0.0f, g->c, s->N);
}

/* Iterations so that one timing takes about 50 ms (from one untimed call). */
static int calibrate(double one) { return one <= 0.0 ? 50 : one >= 0.05 ? 1 : (int)(0.05 / one) + 1; }

typedef struct lay {
    ul_layer *l;
    char name[96];
} lay;

static void collect(ul_seq *s, lay *out, int *n, int cap, const char *prefix) {
    for (int i = 0; i < s->n; i++) {
        ul_layer *l = &s->l[i];
        if (l->type == UL_L_BLOCK) {
            char p[48];
            snprintf(p, sizeof p, "%sb%d.", prefix, i);
            collect(l->main, out, n, cap, p);
            if (l->shortcut) {
                char q[56];
                snprintf(q, sizeof q, "%ssc.", p);
                collect(l->shortcut, out, n, cap, q);
            }
        } else if ((l->type == UL_L_CONV || l->type == UL_L_LINEAR) && *n < cap) {
            lay *y = &out[(*n)++];
            y->l = l;
            if (l->type == UL_L_CONV)
                snprintf(y->name, sizeof y->name, "%s%d conv %d->%d k%d s%d %dx%d", prefix, i, l->in_c, l->out_c, l->k,
                         l->stride, l->in_h, l->in_w);
            else
                snprintf(y->name, sizeof y->name, "%s%d linear %zu->%zu", prefix, i, l->in_n, l->out_n);
        }
    }
}

/* The GEMMs of one layer's forward + backward over n samples. Returns how many. */
static int layer_shapes(const ul_layer *l, size_t n, shape *sh) {
    int k = 0;
    if (l->type == UL_L_CONV) {
        const int M = l->out_c, N = (int)n * l->out_h * l->out_w, K = l->in_c * l->k * l->k;
        sh[k++] = (shape){false, false, M, N, K}; /* y = W col */
        sh[k++] = (shape){false, true, M, K, N};  /* dW = dy col^T */
        if (l->need_din) sh[k++] = (shape){true, false, K, N, M}; /* dcol = W^T dy */
    } else {
        const int nb = (int)n, ni = (int)l->in_n, no = (int)l->out_n;
        sh[k++] = (shape){false, true, nb, no, ni}; /* y = x W^T */
        sh[k++] = (shape){true, false, no, ni, nb}; /* dW = dy^T x */
        if (l->need_din) sh[k++] = (shape){false, false, nb, ni, no}; /* dx = dy W */
    }
    return k;
}

static void layer_fb(ul_model *m, ul_layer *l, const float *x, const float *dout, size_t n) {
    if (l->type == UL_L_CONV) {
        ul_conv_forward(m, l, x, n);
        ul_conv_backward(m, l, dout, n);
    } else {
        ul_linear_forward(m, l, x, n);
        ul_linear_backward(m, l, dout, n);
    }
}

int main(int argc, char **argv) {
    int n = 2048, threads = 2, reps = 5, batch = 128;
    const char *archs[MAX_ARCHS];
    int narchs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: bench_gemm [--n N (2048; 0 = skip)] [--threads T (2)] [--reps R (5)] [--batch B (128)]\n"
                   "                  [--arch SPEC ... (cnn, resnet18@w=0.25, mlp:784-256-128-10)]\n"
                   "OpenBLAS sgemm GFLOP/s with 1..T threads, and per-layer forward+backward GFLOP/s of\n"
                   "unlearn's conv/linear layers vs sgemm on the same shapes; JSON lines on stdout.\n");
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_gemm: unknown option or missing value '%s'\n", a);
            return 2;
        }
        const char *v = argv[++i];
        char *end = NULL;
        errno = 0;
        long x = strtol(v, &end, 10);
        bool num_ok = !errno && end != v && !*end && x >= 0 && x <= 1 << 16;
        if (!strcmp(a, "--arch") && narchs < MAX_ARCHS) archs[narchs++] = v;
        else if (!strcmp(a, "--n") && num_ok) n = (int)x;
        else if (!strcmp(a, "--threads") && num_ok && x >= 1) threads = (int)x;
        else if (!strcmp(a, "--reps") && num_ok && x >= 1 && x <= MAX_REPS) reps = (int)x;
        else if (!strcmp(a, "--batch") && num_ok && x >= 1) batch = (int)x;
        else {
            fprintf(stderr, "bench_gemm: bad option or value: %s %s\n", a, v);
            return 2;
        }
    }
    if (narchs == 0) {
        archs[narchs++] = "cnn";
        archs[narchs++] = "resnet18@w=0.25";
        archs[narchs++] = "mlp:784-256-128-10";
    }
    ul_set_threads(threads);
    gemm_bufs g = {0};
    double r[MAX_REPS];

    /* 1. square sgemm */
    if (n > 0) {
        if (grow(&g.a, &g.na, (size_t)n * n) || grow(&g.b, &g.nb, (size_t)n * n) || grow(&g.c, &g.nc, (size_t)n * n)) {
            fprintf(stderr, "bench_gemm: out of memory\n");
            return 1;
        }
        const shape sq = {false, false, n, n, n};
        const double flops = 2.0 * n * (double)n * n;
        double gf[16][MAX_REPS];
        const int T = threads < 16 ? threads : 16;
        for (int t = 1; t <= T; t++) {
            openblas_set_num_threads(t);
            run_shape(&g, &sq); /* warm-up */
        }
        for (int rep = 0; rep < reps; rep++)
            for (int t = 1; t <= T; t++) {
                openblas_set_num_threads(t);
                double t0 = ul_now();
                run_shape(&g, &sq);
                gf[t - 1][rep] = flops / (ul_now() - t0) * 1e-9;
                fprintf(stderr, "bench_gemm: sgemm n=%d threads %d rep %d/%d: %.1f GFLOP/s\n", n, t, rep + 1, reps,
                        gf[t - 1][rep]);
            }
        for (int t = 1; t <= T; t++) {
            printf("{\"task\": \"sgemm\", \"n\": %d, \"threads\": %d, \"reps\": %d, \"openblas_core\": \"%s\", ", n, t,
                   reps, openblas_get_corename());
            print_stats("gflops", gf[t - 1], reps);
            printf("}\n");
        }
        fflush(stdout);
        ul_set_threads(threads); /* OpenBLAS back to 1 thread, OpenMP to --threads */
    }

    /* 2. per layer */
    for (int ai = 0; ai < narchs; ai++) {
        ul_arch_params ap = {.in_c = 1, .in_h = 28, .in_w = 28, .classes = 10, .width = 0.0f};
        ul_model *m = NULL;
        if (ul_model_create(archs[ai], &ap, 0, &m) != UL_OK) {
            fprintf(stderr, "bench_gemm: %s: %s\n", archs[ai], ul_last_error());
            return 1;
        }
        const size_t bs = (size_t)batch, in = 28 * 28;
        float *x = ul_alloc_aligned(bs * in, sizeof(float));
        float *logits = ul_malloc(bs * 10, sizeof(float)), *dl = ul_malloc(bs * 10, sizeof(float));
        fill(x, bs * in, 7);
        fill(dl, bs * 10, 8);
        ul_set_threads(threads);
        if (ul_model_forward(m, x, bs, true, logits) != UL_OK || ul_model_backward(m, dl) != UL_OK) {
            fprintf(stderr, "bench_gemm: %s: %s\n", archs[ai], ul_last_error());
            return 1;
        }
        lay ls[128];
        int nl = 0;
        collect(&m->top, ls, &nl, 128, "");
        for (int li = 0; li < nl; li++) {
            ul_layer *l = ls[li].l;
            shape sh[3];
            const int ns = layer_shapes(l, bs, sh);
            double flops = 0.0;
            for (int k = 0; k < ns; k++) {
                flops += 2.0 * sh[k].M * (double)sh[k].N * sh[k].K;
                size_t na = (size_t)sh[k].M * sh[k].K, nb = (size_t)sh[k].K * sh[k].N, nc = (size_t)sh[k].M * sh[k].N;
                if (grow(&g.a, &g.na, na) || grow(&g.b, &g.nb, nb) || grow(&g.c, &g.nc, nc)) {
                    fprintf(stderr, "bench_gemm: out of memory\n");
                    return 1;
                }
            }
            const float *lx = l->in; /* the layer's input from the model's forward pass */
            float *dout = ul_alloc_aligned(bs * l->out_n, sizeof(float));
            fill(dout, bs * l->out_n, (uint32_t)li);
            double t0 = ul_now();
            layer_fb(m, l, lx, dout, bs);
            const int it_o = calibrate(ul_now() - t0);
            openblas_set_num_threads(threads);
            t0 = ul_now();
            for (int k = 0; k < ns; k++) run_shape(&g, &sh[k]);
            const int it_b = calibrate(ul_now() - t0);
            ul_set_threads(threads); /* OpenBLAS back to 1 thread, OpenMP to --threads */
            double go[MAX_REPS], gb[MAX_REPS];
            for (int rep = 0; rep < reps; rep++) {
                t0 = ul_now();
                for (int it = 0; it < it_o; it++) layer_fb(m, l, lx, dout, bs);
                go[rep] = flops * it_o / (ul_now() - t0) * 1e-9;
                openblas_set_num_threads(threads);
                t0 = ul_now();
                for (int it = 0; it < it_b; it++)
                    for (int k = 0; k < ns; k++) run_shape(&g, &sh[k]);
                gb[rep] = flops * it_b / (ul_now() - t0) * 1e-9;
                ul_set_threads(threads); /* OpenBLAS back to 1 thread, OpenMP to --threads */
                r[rep] = go[rep] / gb[rep];
            }
            printf("{\"task\": \"layer\", \"arch\": \"%s\", \"layer\": \"%s\", \"batch\": %d, \"threads\": %d, "
                   "\"gemms\": %d, \"mflop\": %.1f, ",
                   ul_model_spec(m), ls[li].name, batch, threads, ns, flops * 1e-6);
            print_stats("ours_gflops", go, reps);
            printf(", ");
            print_stats("sgemm_gflops", gb, reps);
            printf(", ");
            print_stats("ratio", r, reps);
            printf("}\n");
            fflush(stdout);
            fprintf(stderr, "bench_gemm: %s %s: ours %.1f, sgemm %.1f GFLOP/s\n", ul_model_spec(m), ls[li].name,
                    go[0], gb[0]);
            free(dout);
        }
        free(x);
        free(logits);
        free(dl);
        ul_model_free(m);
    }
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"task\": \"rss\", \"max_rss_mib\": %.1f}\n", (double)ru.ru_maxrss / 1024.0);
    free(g.a);
    free(g.b);
    free(g.c);
    return 0;
}
