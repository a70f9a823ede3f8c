/* cli/cmd_info.c: `unlearn info FILE`: what a checkpoint holds: architecture, input shape,
 * classes, parameter counts, file size and SHA-256, every tensor (name, dtype, shape) and the
 * metadata with the provenance pretty-printed. A plain safetensors file without our metadata
 * (e.g. from PyTorch) is listed too, without the model-level facts. --json for scripts.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "unlearn/base.h"
#include "unlearn/io.h"
#include "unlearn/nn.h"
#include "unlearn/rng.h"

#include "commands.h"
#include "common.h"
#include "exitcodes.h"
#include "opts.h"

enum { O_JSON, O_COUNT };

static void shape_str(const ul_st_tensor *t, char *buf, size_t cap) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int i = 0; i < t->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static size_t numel(const ul_st_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

/* Metadata values that hold JSON text (provenance, class_names) parsed; NULL otherwise. */
static cJSON *meta_json(const char *key, const char *value) {
    if (strcmp(key, "provenance") != 0 && strcmp(key, "class_names") != 0) return NULL;
    cJSON *j = cJSON_Parse(value);
    if (j && !cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int cmd_info(int argc, char **argv) {
    cli_opt opts[O_COUNT] = {
        [O_JSON] = {"json", 0, NULL, "off", "print one JSON document instead of text"},
    };
    cli_cmd c = {
        .name = "info",
        .usage = "unlearn info [--json] FILE",
        .summary = "Describe a checkpoint: architecture, input shape, classes, parameter count (trainable values "
                   "and buffers), file size, SHA-256 of the file, hash of the parameters, every tensor (name, "
                   "dtype, shape) and the metadata, with the training provenance pretty-printed.",
        .epilog = "JSON fields: file, size, sha256, checkpoint (bool), arch, in_shape, classes, class_names,\n"
                  "params, buffers, model_hash, tensors [{name, dtype, shape}], metadata {key: value}.\n",
        .opts = opts,
        .nopts = O_COUNT,
        .max_pos = 1,
    };
    const char *path;
    int rc = cli_parse_one(&c, argc, argv, "checkpoint FILE argument", &path);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    const char *cmd = c.name;
    const bool json = cli_get_flag(&opts[O_JSON]);
    ul_log_set(UL_LOG_WARN, NULL, NULL);

    ul_st_file *f = NULL;
    ul_model *m = NULL;
    cJSON *out = NULL, *names = NULL, *prov = NULL;
    ul_status st;
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cli_err(cmd, "%s: %s", path, stat(path, &sb) != 0 ? "no such file" : "not a regular file");
        return CLI_EXIT_INPUT;
    }
    if ((st = ul_st_read(path, &f)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, path);
        goto done;
    }
    char sha[65];
    if ((st = ul_sha256_file(path, sha)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, path);
        goto done;
    }
    const bool is_ckpt = ul_st_meta(f, "arch") != NULL;
    if (is_ckpt && (st = ul_ckpt_load(path, NULL, NULL, &m, NULL)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, path);
        goto done;
    }
    char mhash[65] = "";
    size_t P = 0, B = 0, total = 0;
    ul_arch_params ap = {0};
    if (m) {
        ul_model_hash(m, mhash);
        P = ul_model_num_params(m);
        B = ul_model_num_values(m) - P;
        ap = ul_model_arch(m);
    }
    const int nt = ul_st_count(f);
    for (int i = 0; i < nt; i++) total += numel(ul_st_get(f, i));
    if (ul_st_meta(f, "class_names")) names = meta_json("class_names", ul_st_meta(f, "class_names"));
    if (ul_st_meta(f, "provenance")) prov = meta_json("provenance", ul_st_meta(f, "provenance"));

    if (json) {
        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "file", path);
        cJSON_AddNumberToObject(out, "size", (double)sb.st_size);
        cJSON_AddStringToObject(out, "sha256", sha);
        cJSON_AddBoolToObject(out, "checkpoint", m != NULL);
        if (m) {
            cJSON_AddStringToObject(out, "arch", ul_model_spec(m));
            cJSON *sh = cJSON_AddArrayToObject(out, "in_shape");
            cJSON_AddItemToArray(sh, cJSON_CreateNumber(ap.in_c));
            cJSON_AddItemToArray(sh, cJSON_CreateNumber(ap.in_h));
            cJSON_AddItemToArray(sh, cJSON_CreateNumber(ap.in_w));
            cJSON_AddNumberToObject(out, "classes", ap.classes);
            if (names) cJSON_AddItemToObject(out, "class_names", cJSON_Duplicate(names, true));
            else cJSON_AddNullToObject(out, "class_names");
            cJSON_AddNumberToObject(out, "params", (double)P);
            cJSON_AddNumberToObject(out, "buffers", (double)B);
            cJSON_AddStringToObject(out, "model_hash", mhash);
        }
        cJSON_AddNumberToObject(out, "values", (double)total);
        cJSON *ts = cJSON_AddArrayToObject(out, "tensors");
        for (int i = 0; i < nt; i++) {
            const ul_st_tensor *t = ul_st_get(f, i);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", t->name);
            cJSON_AddStringToObject(e, "dtype", ul_dtype_name(t->dtype));
            cJSON *sh = cJSON_AddArrayToObject(e, "shape");
            for (int k = 0; k < t->ndim; k++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[k]));
            cJSON_AddItemToArray(ts, e);
        }
        cJSON *md = cJSON_AddObjectToObject(out, "metadata");
        for (int i = 0; i < ul_st_meta_count(f); i++) {
            const char *k = ul_st_meta_key(f, i), *vv = ul_st_meta(f, k);
            cJSON *pj = meta_json(k, vv);
            if (pj) cJSON_AddItemToObject(md, k, pj);
            else cJSON_AddStringToObject(md, k, vv);
        }
        char *s = cJSON_Print(out);
        if (!s) {
            cli_err(cmd, "out of memory printing JSON");
            rc = CLI_EXIT_INTERNAL;
            goto done;
        }
        puts(s);
        free(s);
        rc = CLI_EXIT_OK;
        goto done;
    }

    char b1[32], b2[32], b3[32];
    cli_fmt_bytes(b1, sizeof b1, (unsigned long long)sb.st_size);
    cli_fmt_count(b2, sizeof b2, (unsigned long long)sb.st_size);
    printf("file        %s\n", path);
    printf("size        %s (%s bytes)\n", b1, b2);
    printf("sha256      %s\n", sha);
    if (m) {
        const char *fmt = ul_st_meta(f, "format"), *ver = ul_st_meta(f, "format_version");
        printf("format      %s, version %s\n", fmt ? fmt : "?", ver ? ver : "?");
        printf("arch        %s\n", ul_model_spec(m));
        printf("input       %dx%dx%d (channels x height x width)\n", ap.in_c, ap.in_h, ap.in_w);
        printf("classes     %d", ap.classes);
        if (cJSON_IsArray(names)) {
            printf(":");
            int k = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, names) printf("%s %s", k++ ? "," : "", cJSON_IsString(e) ? e->valuestring : "?");
        }
        printf("\n");
        cli_fmt_count(b1, sizeof b1, P);
        cli_fmt_count(b2, sizeof b2, B);
        cli_fmt_count(b3, sizeof b3, P + B);
        printf("parameters  %s trainable + %s buffer values = %s in %d tensors\n", b1, b2, b3, nt);
        printf("model hash  %s (SHA-256 of spec and parameters)\n", mhash);
    } else {
        cli_fmt_count(b1, sizeof b1, total);
        printf("format      safetensors without unlearn checkpoint metadata (no \"arch\")\n");
        printf("values      %s in %d tensors\n", b1, nt);
    }

    int w = 4;
    for (int i = 0; i < nt; i++) {
        int l = (int)strlen(ul_st_get(f, i)->name);
        if (l > w) w = l;
    }
    printf("\ntensors:\n  %-*s  %-5s  %s\n", w, "name", "dtype", "shape");
    for (int i = 0; i < nt; i++) {
        const ul_st_tensor *t = ul_st_get(f, i);
        char sh[160];
        shape_str(t, sh, sizeof sh);
        printf("  %-*s  %-5s  %s\n", w, t->name, ul_dtype_name(t->dtype), sh);
    }
    if (ul_st_meta_count(f) > 0) {
        printf("\nmetadata:\n");
        for (int i = 0; i < ul_st_meta_count(f); i++) {
            const char *k = ul_st_meta_key(f, i), *vv = ul_st_meta(f, k);
            if (strcmp(k, "provenance") == 0 && cJSON_IsObject(prov)) {
                printf("  %s:\n", k);
                cli_print_json(stdout, prov, 4);
            } else {
                printf("  %s: %s\n", k, vv);
            }
        }
    }
    rc = CLI_EXIT_OK;
done:
    cJSON_Delete(out);
    cJSON_Delete(names);
    cJSON_Delete(prov);
    ul_model_free(m);
    ul_st_free(f);
    return rc;
}
