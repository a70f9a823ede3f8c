/* bench_train: training, inference and per-sample Fisher throughput of unlearn's models on
 * Fashion-MNIST.
 *
 * For each --arch: load the training split (ul_dataset_load), build the model (PyTorch default
 * init statistics, seed 0), then R repetitions of
 *   training:  W warm-up batches, then K timed batches of
 *              batcher fill (shuffled, normalised) + forward(train) + softmax cross-entropy +
 *              backward + SGD step (momentum 0.9, lr 0.05, no weight decay)
 *   inference: W warm-up batches, then K timed eval-mode forwards (batcher fill included)
 * and print one JSON object per arch on stdout (samples/s median/min/max over the repetitions,
 * max RSS from getrusage). With --task fisher each repetition instead computes the per-sample
 * diagonal Fisher (ul_fisher, sample estimator, --scope last|all) of the untrained model over the
 * first --samples training samples (eval mode, batch --batch). bench/torch_peer.py measures the
 * same in PyTorch with the same JSON shape. With --lockstep each repetition waits for a line on
 * stdin and prints {"rep": r} when done, so bench/bench.py can alternate the repetitions of
 * unlearn and PyTorch; bench/run.sh drives it and bench/summarize.py makes the table
 * (docs/performance.md).
 * Not measured: evaluation metrics, data loading from disk, checkpointing.
 */
#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/fisher.h"
#include "unlearn/nn.h"
#include "unlearn/train.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_ARCHS 16
#define MAX_REPS 1000

static const char *const k_default_archs[] = {"mlp:784-256-128-10", "cnn", "resnet18@w=0.25"};

typedef struct opts {
    const char *archs[MAX_ARCHS];
    int narchs;
    const char *data;
    int batch, threads, reps, batches, warmup;
    uint64_t seed;
    bool fisher;            /* --task fisher */
    ul_fisher_scope scope;  /* --scope */
    int samples;            /* --samples (fisher), 0 = default */
    bool lockstep;
} opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_train [options]\n"
            "Training and inference samples/s of unlearn models on Fashion-MNIST; one JSON object per\n"
            "arch on stdout.\n"
            "  --arch SPEC      architecture; repeat for several [mlp:784-256-128-10, cnn, resnet18@w=0.25]\n"
            "  --data NAME      dataset name or folder for ul_dataset_load [fashion-mnist]\n"
            "  --batch N        batch size [128]\n"
            "  --threads N      OpenMP/OpenBLAS threads [2]\n"
            "  --reps N         repetitions; median/min/max are over these [5]\n"
            "  --batches N      timed batches per repetition [mlp 100, cnn 20, resnet18 8]\n"
            "  --warmup N       untimed batches before each timed run [3]\n"
            "  --seed N         model init and shuffling seed [0]\n"
            "  --task T         train (training + inference) or fisher [train]\n"
            "  --scope S        fisher: last or all [last]\n"
            "  --samples N      fisher: samples per repetition [last: mlp 32768, cnn 8192, resnet18 2048;\n"
            "                   all: mlp 16384, cnn 2048, resnet18 256]\n"
            "  --lockstep       before repetition r print {\"wait\": r} and wait for a line on stdin;\n"
            "                   print {\"rep\": r} after it (bench/bench.py alternates processes so)\n"
            "  --help           this text\n");
}

static int parse_int(const char *opt, const char *s, long lo, long hi, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_train: %s '%s' must be an integer in [%ld, %ld]\n", opt, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* 0 ok, 1 help printed, -1 usage error. */
static int parse_args(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->data = "fashion-mnist";
    o->batch = 128;
    o->threads = 2;
    o->reps = 5;
    o->batches = 0;
    o->warmup = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--lockstep")) {
            o->lockstep = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_train: unknown option or missing value: '%s'\n", a);
            usage(stderr);
            return -1;
        }
        const char *v = argv[++i];
        int seed = 0, rc = 0;
        if (!strcmp(a, "--arch")) {
            if (o->narchs == MAX_ARCHS) {
                fprintf(stderr, "bench_train: at most %d --arch options\n", MAX_ARCHS);
                return -1;
            }
            o->archs[o->narchs++] = v;
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--batch")) {
            rc = parse_int(a, v, 1, 1 << 16, &o->batch);
        } else if (!strcmp(a, "--threads")) {
            rc = parse_int(a, v, 1, 1024, &o->threads);
        } else if (!strcmp(a, "--reps")) {
            rc = parse_int(a, v, 1, MAX_REPS, &o->reps);
        } else if (!strcmp(a, "--batches")) {
            rc = parse_int(a, v, 1, 1 << 20, &o->batches);
        } else if (!strcmp(a, "--warmup")) {
            rc = parse_int(a, v, 0, 1 << 20, &o->warmup);
        } else if (!strcmp(a, "--task")) {
            if (strcmp(v, "train") && strcmp(v, "fisher")) {
                fprintf(stderr, "bench_train: --task must be train or fisher, not '%s'\n", v);
                return -1;
            }
            o->fisher = !strcmp(v, "fisher");
        } else if (!strcmp(a, "--scope")) {
            ul_fisher_params fp;
            if (ul_fisher_parse("sample", v, &fp) != UL_OK) {
                fprintf(stderr, "bench_train: --scope must be last or all, not '%s'\n", v);
                return -1;
            }
            o->scope = fp.scope;
        } else if (!strcmp(a, "--samples")) {
            rc = parse_int(a, v, 1, INT_MAX, &o->samples);
        } else if (!strcmp(a, "--seed")) {
            rc = parse_int(a, v, 0, INT_MAX, &seed);
            o->seed = (uint64_t)seed;
        } else {
            fprintf(stderr, "bench_train: unknown option '%s'\n", a);
            usage(stderr);
            return -1;
        }
        if (rc) return -1;
    }
    if (o->narchs == 0) {
        for (size_t k = 0; k < sizeof k_default_archs / sizeof *k_default_archs; k++)
            o->archs[o->narchs++] = k_default_archs[k];
    }
    return 0;
}

static int default_batches(const char *arch) {
    if (!strncmp(arch, "mlp", 3)) return 100;
    if (!strncmp(arch, "resnet", 6)) return 8;
    return 20;
}

static int default_fisher_samples(const char *arch, ul_fisher_scope scope) {
    const bool mlp = !strncmp(arch, "mlp", 3), resnet = !strncmp(arch, "resnet", 6);
    if (scope == UL_FISHER_LAST) return mlp ? 32768 : resnet ? 2048 : 8192;
    return mlp ? 16384 : resnet ? 256 : 2048;
}

/* --lockstep: say {"wait": r}, then wait for the driver's go (false at end of input). */
static bool lockstep_wait(const opts *o, int r) {
    if (!o->lockstep) return true;
    printf("{\"wait\": %d}\n", r);
    fflush(stdout);
    char line[64];
    return fgets(line, sizeof line, stdin) != NULL;
}

static void lockstep_done(const opts *o, int r) {
    if (!o->lockstep) return;
    printf("{\"rep\": %d}\n", r);
    fflush(stdout);
}

/* CPU seconds of the whole process (all threads): with other jobs on the machine, samples per CPU
 * second moves less than samples per wall second (printed on stderr only). */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* {"median": m, "min": a, "max": b, "runs": [...]} for v[0..n). */
static void print_stats(const char *key, const double *v, int n) {
    double s[MAX_REPS];
    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    double med = (n % 2) ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    printf("\"%s\": {\"median\": %.1f, \"min\": %.1f, \"max\": %.1f, \"runs\": [", key, med, s[0], s[n - 1]);
    for (int i = 0; i < n; i++) printf("%s%.1f", i ? ", " : "", v[i]);
    printf("]}");
}

static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

typedef struct bench_ctx {
    ul_model *m;
    ul_optim *o;
    ul_batcher *b;     /* training batches: shuffled, drop_last */
    ul_batcher *bi;    /* inference batches: in order, drop_last */
    float *x, *logits, *dlogits;
    int32_t *y;
    int classes;
    int epoch, epoch_i;
    double last_loss;
} bench_ctx;

/* Next training batch, starting a new epoch at the end of one. */
static size_t next_batch(ul_batcher *b, int *epoch, float *x, int32_t *y) {
    size_t n = ul_batcher_next(b, x, y, NULL);
    if (n == 0) {
        ul_batcher_start_epoch(b, ++*epoch);
        n = ul_batcher_next(b, x, y, NULL);
    }
    return n;
}

static ul_status train_batches(bench_ctx *c, int k, size_t *samples) {
    *samples = 0;
    for (int i = 0; i < k; i++) {
        size_t n = next_batch(c->b, &c->epoch, c->x, c->y);
        if (n == 0) return ul_fail(UL_E_ARG, "the training view has fewer samples than one batch");
        ul_model_zero_grad(c->m);
        ul_status st = ul_model_forward(c->m, c->x, n, true, c->logits);
        if (st != UL_OK) return st;
        c->last_loss = ul_softmax_xent(c->logits, c->y, NULL, n, c->classes, NULL, c->dlogits);
        st = ul_model_backward(c->m, c->dlogits);
        if (st != UL_OK) return st;
        ul_optim_step(c->o, ul_model_params(c->m), ul_model_grads(c->m), NULL, 0.05);
        *samples += n;
    }
    return UL_OK;
}

static ul_status infer_batches(bench_ctx *c, int k, size_t *samples) {
    *samples = 0;
    for (int i = 0; i < k; i++) {
        size_t n = next_batch(c->bi, &c->epoch_i, c->x, c->y);
        if (n == 0) return ul_fail(UL_E_ARG, "the view has fewer samples than one batch");
        ul_status st = ul_model_forward(c->m, c->x, n, false, c->logits);
        if (st != UL_OK) return st;
        *samples += n;
    }
    return UL_OK;
}

static ul_status bench_arch(const opts *o, ul_dataset *ds, ul_view *v, const char *arch) {
    ul_status st = UL_OK;
    bench_ctx c;
    memset(&c, 0, sizeof c);
    const int K = o->batches > 0 ? o->batches : default_batches(arch);
    const size_t bs = (size_t)o->batch;
    const size_t in = (size_t)ul_dataset_channels(ds) * (size_t)ul_dataset_height(ds) * (size_t)ul_dataset_width(ds);
    c.classes = ul_dataset_classes(ds);
    ul_arch_params ap = {.in_c = ul_dataset_channels(ds), .in_h = ul_dataset_height(ds),
                         .in_w = ul_dataset_width(ds), .classes = c.classes, .width = 0.0f};
    ul_transform tf = ul_transform_default(ul_dataset_name(ds));
    ul_optim_params op = ul_optim_defaults(UL_OPT_SGD);
    op.lr = 0.05;
    op.momentum = 0.9;
    double train_sps[MAX_REPS], infer_sps[MAX_REPS];

    st = ul_model_create(arch, &ap, o->seed, &c.m);
    if (st != UL_OK) goto done;
    st = ul_optim_create(&op, ul_model_num_params(c.m), &c.o);
    if (st != UL_OK) goto done;
    st = ul_batcher_create(v, o->batch, true, true, o->seed, &tf, &c.b);
    if (st != UL_OK) goto done;
    st = ul_batcher_create(v, o->batch, false, true, o->seed, &tf, &c.bi);
    if (st != UL_OK) goto done;
    ul_batcher_start_epoch(c.b, 0);
    ul_batcher_start_epoch(c.bi, 0);
    c.x = ul_alloc_aligned(bs * in, sizeof(float));
    c.y = ul_malloc(bs, sizeof(int32_t));
    c.logits = ul_malloc(bs * (size_t)c.classes, sizeof(float));
    c.dlogits = ul_malloc(bs * (size_t)c.classes, sizeof(float));
    if (!c.x || !c.y || !c.logits || !c.dlogits) {
        st = UL_E_NOMEM;
        goto done;
    }

    for (int r = 0; r < o->reps; r++) {
        size_t n = 0;
        if (!lockstep_wait(o, r)) {
            st = ul_fail(UL_E_ARG, "--lockstep: end of input before repetition %d", r + 1);
            goto done;
        }
        st = train_batches(&c, o->warmup, &n);
        if (st != UL_OK) goto done;
        double t0 = ul_now(), c0 = cpu_now();
        st = train_batches(&c, K, &n);
        if (st != UL_OK) goto done;
        train_sps[r] = (double)n / (ul_now() - t0);
        const double train_cpu = (double)n / (cpu_now() - c0);

        st = infer_batches(&c, o->warmup, &n);
        if (st != UL_OK) goto done;
        t0 = ul_now();
        c0 = cpu_now();
        st = infer_batches(&c, K, &n);
        if (st != UL_OK) goto done;
        infer_sps[r] = (double)n / (ul_now() - t0);
        fprintf(stderr,
                "bench_train: %s rep %d/%d: train %.1f samples/s (loss %.4f), inference %.1f samples/s; per CPU "
                "second (all threads): train %.1f, inference %.1f\n",
                ul_model_spec(c.m), r + 1, o->reps, train_sps[r], c.last_loss, infer_sps[r], train_cpu,
                (double)n / (cpu_now() - c0));
        lockstep_done(o, r);
    }

    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"unlearn\", \"version\": \"%s\", \"arch\": ", UL_VERSION_STRING);
    print_json_string(ul_model_spec(c.m));
    printf(", \"dataset\": ");
    print_json_string(ul_dataset_name(ds));
    printf(", \"batch\": %d, \"threads\": %d, \"reps\": %d, \"batches\": %d, \"warmup\": %d, \"params\": %zu, ",
           o->batch, ul_get_threads(), o->reps, K, o->warmup, ul_model_num_params(c.m));
    print_stats("train_samples_per_s", train_sps, o->reps);
    printf(", ");
    print_stats("infer_samples_per_s", infer_sps, o->reps);
    printf(", \"final_loss\": %.4f, \"max_rss_mib\": %.1f}\n", c.last_loss, (double)ru.ru_maxrss / 1024.0);
    fflush(stdout);

done:
    free(c.dlogits);
    free(c.logits);
    free(c.y);
    free(c.x);
    ul_batcher_free(c.bi);
    ul_batcher_free(c.b);
    ul_optim_free(c.o);
    ul_model_free(c.m);
    if (st != UL_OK) fprintf(stderr, "bench_train: %s: %s: %s\n", arch, ul_status_str(st), ul_last_error());
    return st;
}

/* --task fisher: per-sample diagonal Fisher (sample estimator) over the first S samples. */
static ul_status bench_fisher(const opts *o, ul_dataset *ds, const char *arch) {
    ul_status st = UL_OK;
    ul_model *m = NULL;
    ul_view *v = NULL;
    float *out = NULL;
    int32_t *idx = NULL;
    double sps[MAX_REPS];
    const size_t S = (size_t)(o->samples > 0 ? o->samples : default_fisher_samples(arch, o->scope));
    const size_t N = ul_dataset_size(ds) < S ? ul_dataset_size(ds) : S;
    ul_arch_params ap = {.in_c = ul_dataset_channels(ds), .in_h = ul_dataset_height(ds),
                         .in_w = ul_dataset_width(ds), .classes = ul_dataset_classes(ds), .width = 0.0f};
    ul_transform tf = ul_transform_default(ul_dataset_name(ds));
    ul_fisher_params fp = ul_fisher_defaults(UL_FISHER_SAMPLE);
    fp.scope = o->scope;
    fp.batch_size = o->batch;

    st = ul_model_create(arch, &ap, o->seed, &m);
    if (st != UL_OK) goto done;
    idx = ul_malloc(N, sizeof(int32_t));
    out = ul_malloc(ul_model_num_params(m), sizeof(float));
    if (!idx || !out) {
        st = UL_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < N; i++) idx[i] = (int32_t)i;
    st = ul_view_from_indices(ds, idx, N, &v);
    if (st != UL_OK) goto done;
    st = ul_fisher(m, v, &tf, &fp, out); /* warm-up */
    if (st != UL_OK) goto done;
    for (int r = 0; r < o->reps; r++) {
        if (!lockstep_wait(o, r)) {
            st = ul_fail(UL_E_ARG, "--lockstep: end of input before repetition %d", r + 1);
            goto done;
        }
        double t0 = ul_now();
        st = ul_fisher(m, v, &tf, &fp, out);
        if (st != UL_OK) goto done;
        sps[r] = (double)N / (ul_now() - t0);
        fprintf(stderr, "bench_train: %s fisher %s rep %d/%d: %.1f samples/s\n", ul_model_spec(m),
                ul_fisher_scope_name(o->scope), r + 1, o->reps, sps[r]);
        lockstep_done(o, r);
    }
    double fsum = 0.0;
    for (size_t k = 0; k < ul_model_num_params(m); k++) fsum += out[k];
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"unlearn\", \"version\": \"%s\", \"task\": \"fisher\", \"scope\": \"%s\", \"arch\": ",
           UL_VERSION_STRING, ul_fisher_scope_name(o->scope));
    print_json_string(ul_model_spec(m));
    printf(", \"dataset\": ");
    print_json_string(ul_dataset_name(ds));
    printf(", \"batch\": %d, \"threads\": %d, \"reps\": %d, \"samples\": %zu, \"params\": %zu, ", o->batch,
           ul_get_threads(), o->reps, N, ul_model_num_params(m));
    print_stats("fisher_samples_per_s", sps, o->reps);
    printf(", \"fisher_sum\": %.6g, \"max_rss_mib\": %.1f}\n", fsum, (double)ru.ru_maxrss / 1024.0);
    fflush(stdout);
done:
    ul_view_free(v);
    free(out);
    free(idx);
    ul_model_free(m);
    if (st != UL_OK) fprintf(stderr, "bench_train: %s: %s: %s\n", arch, ul_status_str(st), ul_last_error());
    return st;
}

int main(int argc, char **argv) {
    opts o;
    int pr = parse_args(argc, argv, &o);
    if (pr > 0) return 0;
    if (pr < 0) return 2;
    ul_set_threads(o.threads);

    ul_dataset *ds = NULL;
    ul_view *v = NULL;
    ul_status st = ul_dataset_load(o.data, "train", &ds);
    if (st == UL_OK) st = ul_view_all(ds, &v);
    if (st != UL_OK) {
        fprintf(stderr, "bench_train: loading '%s': %s: %s\n", o.data, ul_status_str(st), ul_last_error());
        ul_dataset_free(ds);
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < o.narchs; i++)
        if ((o.fisher ? bench_fisher(&o, ds, o.archs[i]) : bench_arch(&o, ds, v, o.archs[i])) != UL_OK) failed = 1;
    ul_view_free(v);
    ul_dataset_free(ds);
    return failed;
}
