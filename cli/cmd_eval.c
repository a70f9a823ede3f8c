/* cli/cmd_eval.c: `unlearn eval`: accuracy and mean cross-entropy of a checkpoint on one split
 * of a dataset, overall and per class, as a readable table or (--json) one JSON document.
 * Inputs are normalised as recorded in the checkpoint's provenance, else with the dataset's
 * published constants (ul_transform_default); never augmented.
 */
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

enum { O_MODEL, O_DATA, O_SPLIT, O_CLASSES, O_BATCH, O_THREADS, O_JSON, O_COUNT };

static const char *const split_names[] = {"test", "train"};

/* Class names from the checkpoint ("class_names" metadata, a JSON array of k strings), else from
 * the known dataset; NULL entries where unknown. Returns a parsed cJSON array to free, or NULL. */
static cJSON *class_names(const ul_st_file *f, int k) {
    const char *s = f ? ul_st_meta(f, "class_names") : NULL;
    if (!s) return NULL;
    cJSON *j = cJSON_Parse(s);
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != k) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* Name of `label`: the checkpoint's (mk entries) first, else the known dataset's (k entries). */
static const char *name_of(const cJSON *ckpt_names, int mk, const char *const *known, int k, int label) {
    if (ckpt_names && label < mk) {
        const cJSON *e = cJSON_GetArrayItem(ckpt_names, label);
        if (cJSON_IsString(e)) return e->valuestring;
    }
    return known && label < k ? known[label] : NULL;
}

int cmd_eval(int argc, char **argv) {
    cli_opt opts[O_COUNT] = {
        [O_MODEL] = {"model", 'm', "FILE", NULL, "checkpoint to evaluate (.safetensors written by unlearn)", true},
        [O_DATA] = {"data", 0, "NAME|DIR", "fashion-mnist",
                    "dataset: fashion-mnist, mnist, or a directory of IDX, CIFAR-10/100 binary or NPY files"},
        [O_SPLIT] = {"split", 0, "test|train", "test", "which split of the dataset"},
        [O_CLASSES] = {"classes", 0, "SET", "all", "evaluate only samples with these labels, e.g. 0-7 or 1,3,5-6"},
        [O_BATCH] = {"batch", 0, "N", "256", "evaluation batch size (does not change the results)"},
        [O_THREADS] = {"threads", 0, "N", "0", "threads (0 = all cores)"},
        [O_JSON] = {"json", 0, NULL, "off", "print one JSON document instead of the table"},
    };
    cli_cmd c = {
        .name = "eval",
        .usage = "unlearn eval -m FILE [--data NAME|DIR] [--split test|train] [--classes SET] [--json]",
        .summary = "Evaluate a checkpoint: overall and per-class accuracy and mean cross-entropy loss on one "
                   "split of a dataset. Inputs are normalised as recorded in the checkpoint's provenance "
                   "(else with the dataset's published mean/std).",
        .epilog = "JSON fields: model, model_hash, arch, data, data_hash, split, classes, normalize, n, correct,\n"
                  "accuracy (fraction), loss, per_class [{label, name, n, correct, accuracy}].\n",
        .opts = opts,
        .nopts = O_COUNT,
        .max_pos = 0,
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(&c, argc, argv, pos, &npos);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    const char *cmd = c.name;
    int split;
    long batch, threads;
    if ((rc = cli_get_choice(&c, &opts[O_SPLIT], split_names, 2, &split))) return rc;
    if ((rc = cli_get_long(&c, &opts[O_BATCH], 1, 65536, &batch))) return rc;
    if ((rc = cli_get_long(&c, &opts[O_THREADS], 0, 4096, &threads))) return rc;
    const bool json = cli_get_flag(&opts[O_JSON]);
    const char *model_path = opts[O_MODEL].value, *classes = opts[O_CLASSES].value;

    ul_log_set(UL_LOG_WARN, NULL, NULL);
    ul_set_threads((int)threads);

    ul_model *m = NULL;
    ul_st_file *f = NULL;
    ul_dataset *d = NULL;
    ul_view *all = NULL, *v = NULL;
    int32_t *labels = NULL;
    cJSON *ck_names = NULL, *out = NULL;
    ul_eval_result r;
    memset(&r, 0, sizeof r);
    ul_status st;

    if ((st = ul_ckpt_load(model_path, NULL, NULL, &m, &f)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, model_path);
        if (st == UL_E_FORMAT || st == UL_E_SHAPE)
            cli_hint("'unlearn info %s' shows what the file holds", model_path);
        goto done;
    }
    if ((rc = cli_load_data(cmd, opts[O_DATA].value, split_names[split], &d))) goto done;
    if ((st = ul_view_all(d, &all)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
        goto done;
    }
    const int K = ul_dataset_classes(d);
    if (strcmp(classes, "all") == 0) {
        v = all;
        all = NULL;
    } else {
        size_t nl;
        if ((st = ul_parse_label_set(classes, K, &labels, &nl)) != UL_OK) {
            rc = cli_fail(cmd, st, CLI_FROM_OPTION, "--classes");
            cli_hint("'%s' has %d classes, labels 0-%d", ul_dataset_name(d), K, K - 1);
            goto done;
        }
        if ((st = ul_view_filter_labels(all, labels, nl, true, &v)) != UL_OK) {
            rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
            goto done;
        }
    }

    ul_transform tf;
    const char *norm_src = "checkpoint provenance";
    if (!cli_transform_from_provenance(ul_st_meta(f, "provenance"), ul_dataset_channels(d), &tf)) {
        tf = ul_transform_default(ul_dataset_name(d));
        norm_src = tf.nchan ? "dataset default" : "none";
    } else if (tf.nchan == 0) {
        norm_src = "none (as trained)";
    }
    if ((st = ul_evaluate(m, v, &tf, (int)batch, &r)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
        if (st == UL_E_SHAPE) cli_hint("the model was trained on different data; 'unlearn info %s' shows its input shape", model_path);
        goto done;
    }

    char mhash[65];
    ul_model_hash(m, mhash);
    const int MK = ul_model_arch(m).classes;
    ck_names = class_names(f, MK);
    const char *const *known = cli_known_class_names(ul_dataset_name(d), K);
    const double acc = r.n ? (double)r.correct / (double)r.n : 0.0;

    if (json) {
        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "model", model_path);
        cJSON_AddStringToObject(out, "model_hash", mhash);
        cJSON_AddStringToObject(out, "arch", ul_model_spec(m));
        cJSON_AddStringToObject(out, "data", ul_dataset_name(d));
        cJSON_AddStringToObject(out, "data_hash", ul_dataset_hash(d));
        cJSON_AddStringToObject(out, "split", split_names[split]);
        cJSON_AddStringToObject(out, "classes", classes);
        if (tf.nchan > 0) {
            cJSON *no = cJSON_AddObjectToObject(out, "normalize");
            cJSON *mu = cJSON_AddArrayToObject(no, "mean"), *sd = cJSON_AddArrayToObject(no, "std");
            for (int i = 0; i < tf.nchan; i++) {
                cJSON_AddItemToArray(mu, cJSON_CreateNumber(cli_float_for_json(tf.mean[i])));
                cJSON_AddItemToArray(sd, cJSON_CreateNumber(cli_float_for_json(tf.std[i])));
            }
        } else {
            cJSON_AddNullToObject(out, "normalize");
        }
        cJSON_AddNumberToObject(out, "n", (double)r.n);
        cJSON_AddNumberToObject(out, "correct", (double)r.correct);
        cJSON_AddNumberToObject(out, "accuracy", acc);
        cJSON_AddNumberToObject(out, "loss", r.loss);
        cJSON *pc = cJSON_AddArrayToObject(out, "per_class");
        for (int k = 0; k < r.classes; k++) {
            if (r.class_total[k] == 0) continue;
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "label", k);
            const char *nm = name_of(ck_names, MK, known, K, k);
            if (nm) cJSON_AddStringToObject(e, "name", nm);
            else cJSON_AddNullToObject(e, "name");
            cJSON_AddNumberToObject(e, "n", (double)r.class_total[k]);
            cJSON_AddNumberToObject(e, "correct", (double)r.class_correct[k]);
            cJSON_AddNumberToObject(e, "accuracy", (double)r.class_correct[k] / (double)r.class_total[k]);
            cJSON_AddItemToArray(pc, e);
        }
        char *s = cJSON_Print(out);
        if (!s) {
            cli_err(cmd, "out of memory printing JSON");
            rc = CLI_EXIT_INTERNAL;
            goto done;
        }
        puts(s);
        free(s);
    } else {
        char nn[32], nc[32];
        cli_fmt_count(nn, sizeof nn, r.n);
        cli_fmt_count(nc, sizeof nc, r.correct);
        printf("model     %s (%s, %d classes)\n", model_path, ul_model_spec(m), MK);
        printf("data      %s, %s split, classes %s: %s samples\n", ul_dataset_name(d), split_names[split], classes, nn);
        printf("inputs    normalisation: %s\n", norm_src);
        printf("accuracy  %.2f%% (%s/%s)\n", 100.0 * acc, nc, nn);
        printf("loss      %.4f (mean cross-entropy)\n\n", r.loss);
        printf("%5s  %-14s %8s %8s %9s\n", "label", "name", "n", "correct", "accuracy");
        for (int k = 0; k < r.classes; k++) {
            if (r.class_total[k] == 0) continue;
            const char *nm = name_of(ck_names, MK, known, K, k);
            printf("%5d  %-14s %8zu %8zu %8.2f%%\n", k, nm ? nm : "-", r.class_total[k], r.class_correct[k],
                   100.0 * (double)r.class_correct[k] / (double)r.class_total[k]);
        }
        if (K > MK)
            printf("\nnote: the data has %d classes but the model only %d; samples of labels >= %d count as wrong\n",
                   K, MK, MK);
    }
    rc = CLI_EXIT_OK;
done:
    cJSON_Delete(out);
    cJSON_Delete(ck_names);
    ul_eval_result_free(&r);
    free(labels);
    ul_view_free(v);
    ul_view_free(all);
    ul_dataset_free(d);
    ul_st_free(f);
    ul_model_free(m);
    return rc;
}
