/* cli/cmd_train.c: `unlearn train`: train a model from an architecture spec on one dataset
 * (optionally a subset of its labels) and write a checkpoint whose metadata records how it was
 * made (provenance JSON: tool version, git commit, data hash, seed, threads, recipe,
 * normalisation, time). Recipe defaults come from ul_train_defaults(); --help prints them.
 * The model keeps every class of the dataset as an output, even with --classes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/io.h"
#include "unlearn/nn.h"
#include "unlearn/train.h"

#include "commands.h"
#include "common.h"
#include "exitcodes.h"
#include "opts.h"
#include "progress.h"

enum {
    O_DATA, O_ARCH, O_WIDTH, O_EPOCHS, O_BATCH, O_OPTIM, O_LR, O_MOMENTUM, O_NESTEROV, O_WD, O_SCHED,
    O_MILESTONES, O_GAMMA, O_CLIP, O_AUGMENT, O_NORMALIZE, O_CLASSES, O_SEED, O_THREADS, O_OUTPUT,
    O_QUIET, O_COUNT
};

static const char *const optim_names[] = {"sgd", "adamw"};
static const char *const sched_names[] = {"cosine", "multistep", "const"};
static const ul_sched_kind sched_kinds[] = {UL_SCHED_COSINE, UL_SCHED_MULTISTEP, UL_SCHED_CONST};

/* Everything the options decide. */
typedef struct train_args {
    const char *data, *arch, *classes, *output;
    char spec[160];
    double width;
    ul_train_config cfg;
    int optim;           /* index into optim_names */
    int sched;           /* index into sched_names */
    bool augment, normalize, quiet;
    uint64_t seed;
    long threads;
} train_args;

/* "1,2,5" -> strictly increasing positive epochs. */
static int parse_milestones(const char *cmd, const char *s, int64_t *ms, int *n) {
    *n = 0;
    const char *p = s;
    while (*p) {
        char buf[32];
        size_t len = strcspn(p, ",");
        long v;
        if (len == 0 || len >= sizeof buf) goto bad;
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (!cli_parse_long(buf, &v) || v <= 0 || v > 1000000) goto bad;
        if (*n == 8) {
            cli_err(cmd, "--milestones: at most 8 milestones");
            return CLI_EXIT_USAGE;
        }
        if (*n > 0 && v <= ms[*n - 1]) {
            cli_err(cmd, "--milestones: '%s' must be strictly increasing", s);
            return CLI_EXIT_USAGE;
        }
        ms[(*n)++] = v;
        p += len;
        if (*p == ',') {
            p++;
            if (!*p) goto bad;
        }
    }
    if (*n == 0) goto bad;
    return 0;
bad:
    cli_err(cmd, "--milestones: '%s' is not a list of positive epoch numbers like 1,2", s);
    return CLI_EXIT_USAGE;
}

/* Interpret the parsed options. Returns 0 or an exit status (after printing why). */
static int read_args(cli_cmd *c, train_args *a) {
    cli_opt *o = c->opts;
    const char *n = c->name;
    int rc;
    long l;
    memset(a, 0, sizeof *a);
    a->cfg = ul_train_defaults();
    a->data = o[O_DATA].value;
    a->arch = o[O_ARCH].value;
    a->classes = o[O_CLASSES].value;
    a->output = o[O_OUTPUT].value;
    a->augment = cli_get_flag(&o[O_AUGMENT]);
    a->normalize = cli_get_flag(&o[O_NORMALIZE]);
    a->quiet = cli_get_flag(&o[O_QUIET]);

    if ((rc = cli_get_double(c, &o[O_WIDTH], 0.0, 16.0, true, &a->width))) return rc;
    if (strcmp(a->arch, "resnet18") == 0) {
        if (a->width != 1.0) snprintf(a->spec, sizeof a->spec, "resnet18@w=%g", a->width);
        else snprintf(a->spec, sizeof a->spec, "resnet18");
    } else {
        if (o[O_WIDTH].given) {
            cli_err(n, "--width applies to --arch resnet18 only (got --arch %s)", a->arch);
            return CLI_EXIT_USAGE;
        }
        if (strlen(a->arch) >= sizeof a->spec) {
            cli_err(n, "--arch: spec too long");
            return CLI_EXIT_USAGE;
        }
        snprintf(a->spec, sizeof a->spec, "%s", a->arch);
    }
    if ((rc = cli_get_long(c, &o[O_EPOCHS], 0, 1000000, &l))) return rc;
    a->cfg.epochs = (int)l;
    if ((rc = cli_get_long(c, &o[O_BATCH], 1, 65536, &l))) return rc;
    a->cfg.batch_size = (int)l;

    if ((rc = cli_get_choice(c, &o[O_OPTIM], optim_names, 2, &a->optim))) return rc;
    if (a->optim == 1) {
        ul_optim_params ad = ul_optim_defaults(UL_OPT_ADAMW);
        if (o[O_MOMENTUM].given || o[O_NESTEROV].given) {
            cli_err(n, "--momentum and --nesterov apply to --optim sgd only");
            return CLI_EXIT_USAGE;
        }
        a->cfg.optim = ad;
    }
    if (o[O_LR].given && (rc = cli_get_double(c, &o[O_LR], 0.0, 100.0, true, &a->cfg.optim.lr))) return rc;
    if (o[O_WD].given && (rc = cli_get_double(c, &o[O_WD], 0.0, 10.0, false, &a->cfg.optim.weight_decay)))
        return rc;
    if (a->optim == 0) {
        if (o[O_MOMENTUM].given &&
            (rc = cli_get_double(c, &o[O_MOMENTUM], 0.0, 0.999999, false, &a->cfg.optim.momentum)))
            return rc;
        if (o[O_NESTEROV].given) a->cfg.optim.nesterov = cli_get_flag(&o[O_NESTEROV]);
        if (a->cfg.optim.nesterov && a->cfg.optim.momentum == 0.0) {
            if (o[O_NESTEROV].given && cli_get_flag(&o[O_NESTEROV])) {
                cli_err(n, "--nesterov needs --momentum > 0");
                return CLI_EXIT_USAGE;
            }
            a->cfg.optim.nesterov = false; /* plain SGD: nesterov is meaningless without momentum */
        }
    }

    if ((rc = cli_get_choice(c, &o[O_SCHED], sched_names, 3, &a->sched))) return rc;
    a->cfg.sched = sched_kinds[a->sched];
    if (a->cfg.sched == UL_SCHED_MULTISTEP) {
        if (!o[O_MILESTONES].given) {
            cli_err(n, "--sched multistep needs --milestones (epochs, e.g. --milestones 1,2)");
            return CLI_EXIT_USAGE;
        }
        if ((rc = parse_milestones(n, o[O_MILESTONES].value, a->cfg.milestones, &a->cfg.nmilestones))) return rc;
        if ((rc = cli_get_double(c, &o[O_GAMMA], 0.0, 1000.0, true, &a->cfg.gamma))) return rc;
    } else if (o[O_MILESTONES].given || o[O_GAMMA].given) {
        cli_err(n, "--milestones and --gamma apply to --sched multistep only");
        return CLI_EXIT_USAGE;
    }
    if ((rc = cli_get_double(c, &o[O_CLIP], 0.0, 1e12, false, &a->cfg.clip_norm))) return rc;
    if ((rc = cli_get_u64(c, &o[O_SEED], &a->seed))) return rc;
    a->cfg.seed = a->seed;
    if ((rc = cli_get_long(c, &o[O_THREADS], 0, 4096, &a->threads))) return rc;
    return cli_check_output_path(n, "-o/--output", a->output);
}

static cJSON *float_array(const float *v, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(cli_float_for_json(v[i])));
    return arr;
}

/* The provenance object (see docs/cli.md). Returns malloc'd compact JSON or NULL. */
static char *provenance_json(const train_args *a, ul_dataset *d, size_t n_train, int threads,
                             const ul_transform *tf, const cli_progress *pr) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "tool", "unlearn");
    cJSON_AddStringToObject(j, "version", UL_VERSION_STRING);
    cJSON_AddStringToObject(j, "git_commit", UL_GIT_COMMIT);
    cJSON_AddStringToObject(j, "command", "train");
    cJSON_AddStringToObject(j, "arch", a->spec);
    cJSON_AddStringToObject(j, "data", ul_dataset_name(d));
    cJSON_AddStringToObject(j, "data_hash", ul_dataset_hash(d));
    cJSON_AddStringToObject(j, "split", "train");
    cJSON_AddStringToObject(j, "classes", a->classes);
    cJSON_AddNumberToObject(j, "n_train", (double)n_train);
    if (a->seed <= (UINT64_C(1) << 53)) {
        cJSON_AddNumberToObject(j, "seed", (double)a->seed);
    } else {
        char s[32];
        snprintf(s, sizeof s, "%llu", (unsigned long long)a->seed);
        cJSON_AddStringToObject(j, "seed", s);
    }
    cJSON_AddNumberToObject(j, "threads", threads);
    cJSON_AddNumberToObject(j, "epochs", a->cfg.epochs);
    cJSON_AddNumberToObject(j, "batch", a->cfg.batch_size);

    const ul_optim_params *op = &a->cfg.optim;
    cJSON *opt = cJSON_AddObjectToObject(j, "optimizer");
    cJSON_AddStringToObject(opt, "name", optim_names[a->optim]);
    cJSON_AddNumberToObject(opt, "lr", op->lr);
    if (op->kind == UL_OPT_SGD) {
        cJSON_AddNumberToObject(opt, "momentum", op->momentum);
        cJSON_AddNumberToObject(opt, "dampening", op->dampening);
        cJSON_AddBoolToObject(opt, "nesterov", op->nesterov);
    } else {
        cJSON *b = cJSON_AddArrayToObject(opt, "betas");
        cJSON_AddItemToArray(b, cJSON_CreateNumber(op->beta1));
        cJSON_AddItemToArray(b, cJSON_CreateNumber(op->beta2));
        cJSON_AddNumberToObject(opt, "eps", op->eps);
    }
    cJSON_AddNumberToObject(opt, "weight_decay", op->weight_decay);

    cJSON *sc = cJSON_AddObjectToObject(j, "schedule");
    cJSON_AddStringToObject(sc, "name", sched_names[a->sched]);
    cJSON_AddStringToObject(sc, "step", "iteration");
    if (a->cfg.sched == UL_SCHED_COSINE) cJSON_AddNumberToObject(sc, "eta_min", a->cfg.eta_min);
    if (a->cfg.sched == UL_SCHED_MULTISTEP) {
        cJSON *ms = cJSON_AddArrayToObject(sc, "milestones_epochs");
        for (int i = 0; i < a->cfg.nmilestones; i++)
            cJSON_AddItemToArray(ms, cJSON_CreateNumber((double)a->cfg.milestones[i]));
        cJSON_AddNumberToObject(sc, "gamma", a->cfg.gamma);
    }
    cJSON_AddNumberToObject(j, "clip_norm", a->cfg.clip_norm);
    if (tf->crop_pad > 0 || tf->hflip) {
        cJSON *au = cJSON_AddObjectToObject(j, "augment");
        cJSON_AddNumberToObject(au, "crop_pad", tf->crop_pad);
        cJSON_AddBoolToObject(au, "hflip", tf->hflip);
    } else {
        cJSON_AddBoolToObject(j, "augment", false);
    }
    if (tf->nchan > 0) {
        cJSON *no = cJSON_AddObjectToObject(j, "normalize");
        cJSON_AddItemToObject(no, "mean", float_array(tf->mean, tf->nchan));
        cJSON_AddItemToObject(no, "std", float_array(tf->std, tf->nchan));
    } else {
        cJSON_AddNullToObject(j, "normalize");
    }
    if (pr->have_last) { /* last epoch's running means; 6 significant digits are plenty */
        char b[32];
        snprintf(b, sizeof b, "%.6g", pr->last.loss);
        cJSON_AddNumberToObject(j, "train_loss", strtod(b, NULL));
        snprintf(b, sizeof b, "%.6g", pr->last.acc);
        cJSON_AddNumberToObject(j, "train_acc", strtod(b, NULL));
    }
    /* wall time is printed, never stored: equal runs must give byte-identical files */
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static char *class_names_json(const char *const *names, int k) {
    cJSON *arr = cJSON_CreateStringArray(names, k);
    char *s = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return s;
}

int cmd_train(int argc, char **argv) {
    ul_train_config def = ul_train_defaults();
    ul_optim_params adw = ul_optim_defaults(UL_OPT_ADAMW);
    char d_epochs[32], d_batch[32], d_lr[64], d_mom[32], d_wd[64], d_gamma[32], d_clip[32], d_seed[32];
    snprintf(d_epochs, sizeof d_epochs, "%d", def.epochs);
    snprintf(d_batch, sizeof d_batch, "%d", def.batch_size);
    snprintf(d_lr, sizeof d_lr, "%g; adamw: %g", def.optim.lr, adw.lr);
    snprintf(d_mom, sizeof d_mom, "%g", def.optim.momentum);
    snprintf(d_wd, sizeof d_wd, "%g; adamw: %g", def.optim.weight_decay, adw.weight_decay);
    snprintf(d_gamma, sizeof d_gamma, "%g", def.gamma);
    snprintf(d_clip, sizeof d_clip, "%g", def.clip_norm);
    snprintf(d_seed, sizeof d_seed, "%llu", (unsigned long long)def.seed);
    const char *d_sched = def.sched == UL_SCHED_COSINE ? "cosine" : def.sched == UL_SCHED_MULTISTEP ? "multistep" : "const";
    const char *d_optim = def.optim.kind == UL_OPT_ADAMW ? "adamw" : "sgd";

    cli_opt opts[O_COUNT] = {
        [O_DATA] = {"data", 0, "NAME|DIR", "fashion-mnist",
                    "dataset: fashion-mnist, mnist, or a directory of IDX, CIFAR-10/100 binary or NPY files"},
        [O_ARCH] = {"arch", 0, "SPEC", "cnn",
                    "architecture: cnn, resnet18, or mlp:W0-W1-...-Wk (W0 = pixels per sample, Wk = classes)"},
        [O_WIDTH] = {"width", 0, "F", "1.0", "width multiplier of resnet18 (spec resnet18@w=F)"},
        [O_EPOCHS] = {"epochs", 0, "N", d_epochs, "training epochs"},
        [O_BATCH] = {"batch", 0, "N", d_batch, "batch size"},
        [O_OPTIM] = {"optim", 0, "sgd|adamw", d_optim, "optimizer (PyTorch update rules)"},
        [O_LR] = {"lr", 0, "F", d_lr, "base learning rate"},
        [O_MOMENTUM] = {"momentum", 0, "F", d_mom, "SGD momentum"},
        [O_NESTEROV] = {"nesterov", 0, NULL, def.optim.nesterov ? "on" : "off",
                        "SGD Nesterov momentum (off automatically with --momentum 0)", false, true},
        [O_WD] = {"wd", 0, "F", d_wd, "weight decay (SGD: L2 in the gradient; AdamW: decoupled)"},
        [O_SCHED] = {"sched", 0, "cosine|multistep|const", d_sched,
                     "learning-rate schedule, stepped every iteration"},
        [O_MILESTONES] = {"milestones", 0, "E1,E2,...", NULL, "multistep: epochs at which lr is multiplied by gamma"},
        [O_GAMMA] = {"gamma", 0, "F", d_gamma, "multistep: lr factor at each milestone"},
        [O_CLIP] = {"clip", 0, "F", d_clip, "clip the global gradient L2 norm to F (0 = off)"},
        [O_AUGMENT] = {"augment", 0, NULL, "off",
                       "random crop (padding 4 for images of 32 px or more, 2 below, 1 below 16 px) and, for "
                       "3-channel images, horizontal flip"},
        [O_NORMALIZE] = {"normalize", 0, NULL, "on",
                         "normalise inputs with the dataset's published mean/std (computed from the "
                         "training data for an unknown directory)", false, true},
        [O_CLASSES] = {"classes", 0, "SET", "all",
                       "train only on these labels, e.g. 0-7 or 1,3,5-6 (the model keeps every class as an output)"},
        [O_SEED] = {"seed", 0, "N", d_seed, "seed of initialisation, shuffling and augmentation"},
        [O_THREADS] = {"threads", 0, "N", "0", "threads (0 = all cores); the parameters are bit-identical "
                                               "for a given seed, whatever the thread count"},
        [O_OUTPUT] = {"output", 'o', "FILE", NULL, "checkpoint to write (.safetensors, written atomically)", true},
        [O_QUIET] = {"quiet", 'q', NULL, "off", "no progress output on stderr (errors still go there)"},
    };
    cli_cmd c = {
        .name = "train",
        .usage = "unlearn train [--data NAME|DIR] [--arch SPEC] [--epochs N] [options] -o FILE",
        .summary = "Train a model on a dataset's training split and write a checkpoint (safetensors) whose "
                   "metadata records the architecture, class names and provenance (version, data hash, seed, "
                   "threads, recipe, normalisation). Progress goes to stderr: a redrawn line on a terminal, "
                   "one line per epoch otherwise. A one-line summary goes to stdout.",
        .epilog = "example:\n  unlearn train --data fashion-mnist --arch cnn --epochs 3 --classes 0-7 -o model.safetensors\n",
        .opts = opts,
        .nopts = O_COUNT,
        .max_pos = 0,
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(&c, argc, argv, pos, &npos);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    train_args a;
    if ((rc = read_args(&c, &a))) return rc;
    const char *cmd = c.name;

    ul_log_set(a.quiet ? UL_LOG_ERROR : UL_LOG_WARN, NULL, NULL);
    ul_set_threads((int)a.threads);
    const int threads = ul_get_threads();

    ul_dataset *d = NULL;
    ul_view *all = NULL, *v = NULL;
    ul_model *m = NULL;
    int32_t *labels = NULL;
    char *prov = NULL, *names_json = NULL;
    cli_progress pr;
    cli_progress_init(&pr, a.quiet);
    ul_status st;

    if ((rc = cli_load_data(cmd, a.data, "train", &d))) goto done;
    const int C = ul_dataset_channels(d), H = ul_dataset_height(d), W = ul_dataset_width(d);
    const int K = ul_dataset_classes(d);
    if ((st = ul_view_all(d, &all)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
        goto done;
    }
    if (strcmp(a.classes, "all") == 0) {
        v = all;
        all = NULL;
    } else {
        size_t nl;
        if ((st = ul_parse_label_set(a.classes, K, &labels, &nl)) != UL_OK) {
            rc = cli_fail(cmd, st, CLI_FROM_OPTION, "--classes");
            cli_hint("'%s' has %d classes, labels 0-%d", ul_dataset_name(d), K, K - 1);
            goto done;
        }
        if ((st = ul_view_filter_labels(all, labels, nl, true, &v)) != UL_OK) {
            rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
            goto done;
        }
        if (v->n == 0) {
            cli_err(cmd, "--classes %s: no training samples of '%s' carry these labels", a.classes,
                    ul_dataset_name(d));
            rc = CLI_EXIT_INPUT;
            goto done;
        }
    }

    /* inputs: normalisation and augmentation */
    ul_transform tf;
    memset(&tf, 0, sizeof tf);
    if (a.normalize) {
        tf = ul_transform_default(ul_dataset_name(d));
        if (tf.nchan == 0) {
            if (C <= 4) {
                if ((st = ul_view_channel_stats(v, tf.mean, tf.std)) != UL_OK) {
                    rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
                    goto done;
                }
                tf.nchan = C;
                for (int i = 0; i < C; i++)
                    if (!(tf.std[i] > 0.0f)) tf.std[i] = 1.0f; /* a constant channel: only centre it */
            } else if (!a.quiet) {
                cli_warn(cmd, "%d channels: no normalisation (at most 4 are supported)", C);
            }
        }
        for (int i = 0; i < tf.nchan; i++) { /* store what the provenance will say, exactly */
            tf.mean[i] = (float)cli_float_for_json(tf.mean[i]);
            tf.std[i] = (float)cli_float_for_json(tf.std[i]);
        }
    }
    if (a.augment) {
        tf.crop_pad = H >= 32 ? 4 : H >= 16 ? 2 : 1;
        tf.hflip = C == 3;
    }
    a.cfg.transform = tf;

    ul_arch_params ap = {.in_c = C, .in_h = H, .in_w = W, .classes = K, .width = 0.0f};
    if ((st = ul_model_create(a.spec, &ap, a.seed, &m)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_OPTION, "--arch");
        if (st == UL_E_SHAPE || st == UL_E_ARG)
            cli_hint("'%s' has samples of %dx%dx%d (%d values) and %d classes, e.g. --arch mlp:%d-256-%d",
                     ul_dataset_name(d), C, H, W, C * H * W, K, C * H * W, K);
        goto done;
    }

    if (!a.quiet) {
        char np[32], ns[32];
        cli_fmt_count(np, sizeof np, ul_model_num_params(m));
        cli_fmt_count(ns, sizeof ns, v->n);
        fprintf(stderr, "training %s (%s parameters) on %s: %s samples of %dx%dx%d (classes %s of %d), "
                        "%d epoch%s, batch %d, %s lr %g, %d thread%s\n",
                ul_model_spec(m), np, ul_dataset_name(d), ns, C, H, W, a.classes, K, a.cfg.epochs,
                a.cfg.epochs == 1 ? "" : "s", a.cfg.batch_size, optim_names[a.optim], a.cfg.optim.lr, threads,
                threads == 1 ? "" : "s");
    }
    a.cfg.progress = cli_progress_cb;
    a.cfg.progress_user = &pr;
    const double t0 = ul_now();
    st = ul_train(m, v, &a.cfg);
    const double secs = ul_now() - t0;
    cli_progress_finish(&pr);
    if (st != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_TRAIN, NULL);
        if (st == UL_E_NUMERIC) cli_hint("training diverged; try a smaller --lr or --clip 5");
        goto done;
    }

    prov = provenance_json(&a, d, v->n, threads, &tf, &pr);
    const char *const *names = cli_known_class_names(ul_dataset_name(d), K);
    if (names) names_json = class_names_json(names, K);
    if (!prov || (names && !names_json)) {
        cli_err(cmd, "out of memory building the checkpoint metadata");
        rc = CLI_EXIT_INTERNAL;
        goto done;
    }
    ul_ckpt_meta meta = {.class_names = names_json, .provenance = prov};
    if ((st = ul_ckpt_save(m, &meta, a.output)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_OUTPUT, a.output);
        goto done;
    }

    {
        char ns[32], t[32];
        cli_fmt_count(ns, sizeof ns, v->n);
        cli_fmt_duration(t, sizeof t, secs);
        double sps = secs > 0 ? (double)v->n * a.cfg.epochs / secs : 0.0;
        if (pr.have_last)
            printf("trained %s on %s (%s samples, classes %s) for %d epoch%s in %s (%.1f s, %.0f samples/s): "
                   "train loss %.4f, train acc %.2f%%\n",
                   ul_model_spec(m), ul_dataset_name(d), ns, a.classes, a.cfg.epochs, a.cfg.epochs == 1 ? "" : "s", t,
                   secs, sps, pr.last.loss,
                   100.0 * pr.last.acc);
        else
            printf("initialised %s for %s (0 epochs, no training)\n", ul_model_spec(m), ul_dataset_name(d));
        printf("wrote %s\n", a.output);
    }
    rc = CLI_EXIT_OK;
done:
    free(prov);
    free(names_json);
    free(labels);
    ul_model_free(m);
    ul_view_free(v);
    ul_view_free(all);
    ul_dataset_free(d);
    return rc;
}
