/* Model checkpoints as safetensors files: every named view of a model (PyTorch state_dict names)
 * as F32, counters (BN num_batches_tracked) as I64, plus __metadata__ "format",
 * "format_version" "1", "arch", "in_shape", "classes" and the optional "class_names" and
 * "provenance" JSON texts (see io.h). Loading rebuilds the model from the metadata and/or the
 * caller's architecture (which must agree), then requires the exact set of tensors with exact
 * shapes and dtypes and finite values. Deliberately no dtype conversion (F16/F64 files are
 * rejected), no partial or strict=False loading, no optimizer state and no name remapping.
 */
#include "io/io_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoints copy F32/I64 data as is and need a little-endian host"
#endif

#define CKPT_FORMAT "unlearn-checkpoint"
#define CKPT_VERSION "1"

/* true when `s` parses as JSON of the wanted shape: an array of strings or an object. */
static bool json_text_ok(const char *s, bool want_array) {
    cJSON *j = cJSON_ParseWithOpts(s, NULL, true);
    bool ok = want_array ? cJSON_IsArray(j) : cJSON_IsObject(j);
    if (ok && want_array)
        for (const cJSON *c = j->child; c; c = c->next) ok = ok && cJSON_IsString(c);
    cJSON_Delete(j);
    return ok;
}

static ul_status add_meta(ul_st_writer *w, const ul_model *m, const ul_ckpt_meta *meta) {
    ul_arch_params ap = ul_model_arch(m);
    char in_shape[48], classes[16];
    snprintf(in_shape, sizeof in_shape, "%d,%d,%d", ap.in_c, ap.in_h, ap.in_w);
    snprintf(classes, sizeof classes, "%d", ap.classes);
    ul_status st = UL_OK;
    if (st == UL_OK) st = ul_st_writer_meta(w, "format", CKPT_FORMAT);
    if (st == UL_OK) st = ul_st_writer_meta(w, "format_version", CKPT_VERSION);
    if (st == UL_OK) st = ul_st_writer_meta(w, "arch", ul_model_spec(m));
    if (st == UL_OK) st = ul_st_writer_meta(w, "in_shape", in_shape);
    if (st == UL_OK) st = ul_st_writer_meta(w, "classes", classes);
    if (st == UL_OK && meta && meta->class_names) {
        if (!json_text_ok(meta->class_names, true))
            return ul_fail(UL_E_ARG, "checkpoint metadata 'class_names' is not a JSON array of strings");
        st = ul_st_writer_meta(w, "class_names", meta->class_names);
    }
    if (st == UL_OK && meta && meta->provenance) {
        if (!json_text_ok(meta->provenance, false))
            return ul_fail(UL_E_ARG, "checkpoint metadata 'provenance' is not a JSON object");
        st = ul_st_writer_meta(w, "provenance", meta->provenance);
    }
    return st;
}

/* Add tensor `ti` of the model to the writer: F32 as is, counters as I64. */
static ul_status add_tensor(ul_st_writer *w, const ul_tensor_info *ti, const float *p) {
    for (size_t k = 0; k < ti->numel; k++)
        if (!isfinite(p[k]))
            return ul_fail(UL_E_NUMERIC, "tensor '%s': element %zu is %g; a checkpoint holds finite values only",
                           ti->name, k, (double)p[k]);
    if (ti->kind != UL_TENSOR_COUNTER) return ul_st_writer_add(w, ti->name, UL_DT_F32, ti->ndim, ti->shape, p);
    int64_t *v = ul_malloc(ti->numel, sizeof *v);
    if (!v) return ul_fail_ctx(UL_E_NOMEM, "tensor '%s'", ti->name);
    for (size_t k = 0; k < ti->numel; k++) {
        if (!(p[k] >= -9.2e18f && p[k] <= 9.2e18f)) {
            free(v);
            return ul_fail(UL_E_NUMERIC, "tensor '%s': counter value %g does not fit in int64", ti->name, (double)p[k]);
        }
        v[k] = (int64_t)p[k];
    }
    ul_status st = ul_st_writer_add(w, ti->name, UL_DT_I64, ti->ndim, ti->shape, v);
    free(v);
    return st;
}

ul_status ul_ckpt_to_buffer(const ul_model *m, const ul_ckpt_meta *meta, uint8_t **buf, size_t *n) {
    if (!m || !buf || !n) return ul_fail(UL_E_ARG, "ul_ckpt_to_buffer: model and outputs are required");
    *buf = NULL;
    *n = 0;
    ul_st_writer *w = NULL;
    ul_status st = ul_st_writer_create(&w);
    if (st != UL_OK) return st;
    const float *params = ul_model_params_const(m);
    const int nt = ul_model_num_tensors(m);
    for (int i = 0; i < nt && st == UL_OK; i++) {
        const ul_tensor_info *ti = ul_model_tensor(m, i);
        st = add_tensor(w, ti, params + ti->offset);
    }
    if (st == UL_OK) st = add_meta(w, m, meta);
    if (st == UL_OK) st = ul_st_writer_to_buffer(w, buf, n);
    ul_st_writer_free(w);
    if (st != UL_OK) return ul_fail_ctx(st, "checkpoint of '%s'", ul_model_spec(m));
    return UL_OK;
}

ul_status ul_ckpt_save(const ul_model *m, const ul_ckpt_meta *meta, const char *path) {
    if (!path) return ul_fail(UL_E_ARG, "ul_ckpt_save: path is required");
    uint8_t *buf = NULL;
    size_t n = 0;
    ul_status st = ul_ckpt_to_buffer(m, meta, &buf, &n);
    if (st != UL_OK) return ul_fail_ctx(st, "%s", path);
    st = ul_write_file_atomic(path, buf, n);
    free(buf);
    return st;
}

/* ---- loading ----------------------------------------------------------------------- */

/* Strict decimal integer in [1, max] at *s (no sign, no leading zeros, no spaces); advances *s. */
static bool parse_count(const char **s, int max, int *out) {
    const char *p = *s;
    if (*p < '1' || *p > '9') return false;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > max) return false;
    }
    *out = (int)v;
    *s = p;
    return true;
}

static bool parse_in_shape(const char *s, int dims[3]) {
    for (int i = 0; i < 3; i++) {
        if (i && *s++ != ',') return false;
        if (!parse_count(&s, 1 << 20, &dims[i])) return false;
    }
    return *s == '\0';
}

/* Architecture (spec and params) from the file's metadata and the caller's overrides. */
static ul_status resolve_arch(const char *path, const ul_st_file *f, const char *spec_override,
                              const ul_arch_params *ap_override, const char **spec, ul_arch_params *ap) {
    const char *fmt = ul_st_meta(f, "format"), *ver = ul_st_meta(f, "format_version");
    const char *arch = ul_st_meta(f, "arch"), *in_shape = ul_st_meta(f, "in_shape");
    const char *classes = ul_st_meta(f, "classes");
    if (fmt && strcmp(fmt, CKPT_FORMAT) == 0) {
        if (!ver) return ul_fail(UL_E_FORMAT, "%s: metadata 'format_version' is missing", path);
        if (strcmp(ver, CKPT_VERSION) != 0)
            return ul_fail(UL_E_UNSUPPORTED,
                           "%s: metadata 'format_version' = '%.32s' is not supported (this build reads %s)", path, ver,
                           CKPT_VERSION);
        const char *need[3] = {"arch", "in_shape", "classes"};
        for (int i = 0; i < 3; i++)
            if (!ul_st_meta(f, need[i])) return ul_fail(UL_E_FORMAT, "%s: metadata '%s' is missing", path, need[i]);
    }
    int dims[3] = {0, 0, 0}, k = 0;
    const char *cs = classes;
    if (in_shape && !parse_in_shape(in_shape, dims))
        return ul_fail(UL_E_FORMAT, "%s: metadata 'in_shape' = '%.40s' is not \"c,h,w\" with positive integers", path,
                       in_shape);
    if (classes && (!parse_count(&cs, 100000000, &k) || *cs))
        return ul_fail(UL_E_FORMAT, "%s: metadata 'classes' = '%.40s' is not a positive integer", path, classes);
    if (arch && !arch[0]) return ul_fail(UL_E_FORMAT, "%s: metadata 'arch' is empty", path);
    const char *names = ul_st_meta(f, "class_names"), *prov = ul_st_meta(f, "provenance");
    if (names && !json_text_ok(names, true))
        return ul_fail(UL_E_FORMAT, "%s: metadata 'class_names' is not a JSON array of strings", path);
    if (prov && !json_text_ok(prov, false))
        return ul_fail(UL_E_FORMAT, "%s: metadata 'provenance' is not a JSON object", path);

    if (!arch && !spec_override)
        return ul_fail(UL_E_ARG, "%s: no 'arch' metadata (not an unlearn checkpoint?); the architecture must be given",
                       path);
    *spec = spec_override ? spec_override : arch;
    if (ap_override) {
        *ap = *ap_override;
        if (in_shape && (dims[0] != ap->in_c || dims[1] != ap->in_h || dims[2] != ap->in_w))
            return ul_fail(UL_E_SHAPE, "%s: metadata 'in_shape' = '%s' disagrees with the given input shape %d,%d,%d",
                           path, in_shape, ap->in_c, ap->in_h, ap->in_w);
        if (classes && k != ap->classes)
            return ul_fail(UL_E_SHAPE, "%s: metadata 'classes' = '%s' disagrees with the given %d classes", path,
                           classes, ap->classes);
    } else {
        if (!in_shape || !classes)
            return ul_fail(UL_E_ARG, "%s: no '%s' metadata; the input shape and classes must be given", path,
                           in_shape ? "classes" : "in_shape");
        *ap = (ul_arch_params){.in_c = dims[0], .in_h = dims[1], .in_w = dims[2], .classes = k, .width = 0.0f};
    }
    return UL_OK;
}

/* The built model's canonical spec must equal the file's "arch" (canonicalised if need be). */
static ul_status check_arch(const char *path, const char *arch, const ul_model *m) {
    const char *have = ul_model_spec(m);
    if (strcmp(have, arch) == 0) return UL_OK;
    ul_arch_params ap = ul_model_arch(m);
    ap.width = 0.0f; /* the file's spec carries its own width */
    ul_model *fm = NULL;
    bool same = ul_model_create(arch, &ap, 0, &fm) == UL_OK && strcmp(ul_model_spec(fm), have) == 0;
    ul_model_free(fm);
    if (!same)
        return ul_fail(UL_E_SHAPE, "%s: metadata 'arch' = '%s' disagrees with the given architecture '%s'", path, arch,
                       have);
    return UL_OK;
}

static bool same_shape(const ul_st_tensor *t, const ul_tensor_info *ti) {
    if (t->ndim != ti->ndim) return false;
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] != ti->shape[d]) return false;
    return true;
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t cap) {
    size_t pos = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && pos < cap; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (pos < cap) snprintf(buf + pos, cap - pos, "]");
}

/* Append ", name" to a list of at most 4 names, then "...". */
static void list_add(char *buf, size_t cap, int count, const char *name) {
    size_t len = strlen(buf);
    if (count < 4) snprintf(buf + len, cap - len, "%s'%s'", count ? ", " : "", name);
    else if (count == 4) snprintf(buf + len, cap - len, ", ...");
}

/* The file must hold exactly the model's tensors, with its shapes and dtypes. */
static ul_status check_tensors(const char *path, const ul_st_file *f, const ul_model *m) {
    const int nt = ul_model_num_tensors(m);
    char list[400] = "";
    int missing = 0, extra = 0;
    for (int i = 0; i < nt; i++) {
        const ul_tensor_info *ti = ul_model_tensor(m, i);
        if (!ul_st_find(f, ti->name)) list_add(list, sizeof list, missing++, ti->name);
    }
    if (missing)
        return ul_fail(UL_E_SHAPE, "%s: %d tensor%s of architecture '%s' missing from the file: %s", path, missing,
                       missing > 1 ? "s" : "", ul_model_spec(m), list);
    for (int i = 0; i < ul_st_count(f); i++) {
        const ul_st_tensor *t = ul_st_get(f, i);
        if (!ul_model_find_tensor(m, t->name)) list_add(list, sizeof list, extra++, t->name);
    }
    if (extra)
        return ul_fail(UL_E_SHAPE, "%s: %d tensor%s in the file not part of architecture '%s': %s", path, extra,
                       extra > 1 ? "s" : "", ul_model_spec(m), list);
    for (int i = 0; i < nt; i++) {
        const ul_tensor_info *ti = ul_model_tensor(m, i);
        const ul_st_tensor *t = ul_st_find(f, ti->name);
        bool counter = ti->kind == UL_TENSOR_COUNTER;
        if (t->dtype != UL_DT_F32 && !(counter && t->dtype == UL_DT_I64))
            return ul_fail(UL_E_SHAPE, "%s: tensor '%s': dtype %s, expected %s", path, ti->name,
                           ul_dtype_name(t->dtype), counter ? "I64 or F32" : "F32");
        if (!same_shape(t, ti)) {
            char a[8 * 24], b[UL_MAX_DIMS * 24];
            shape_str(t->shape, t->ndim, a, sizeof a);
            shape_str(ti->shape, ti->ndim, b, sizeof b);
            return ul_fail(UL_E_SHAPE, "%s: tensor '%s': shape %s in the file, %s in architecture '%s'", path, ti->name,
                           a, b, ul_model_spec(m));
        }
    }
    return UL_OK;
}

/* Copy the (checked) tensors into the model's parameter block, rejecting non-finite values. */
static ul_status copy_tensors(const char *path, const ul_st_file *f, ul_model *m) {
    float *params = ul_model_params(m);
    for (int i = 0; i < ul_model_num_tensors(m); i++) {
        const ul_tensor_info *ti = ul_model_tensor(m, i);
        const ul_st_tensor *t = ul_st_find(f, ti->name);
        float *dst = params + ti->offset;
        if (t->dtype == UL_DT_I64) {
            for (size_t k = 0; k < ti->numel; k++) {
                int64_t v;
                memcpy(&v, t->data + k * sizeof v, sizeof v);
                dst[k] = (float)v;
            }
            continue;
        }
        if (ti->numel) memcpy(dst, t->data, ti->numel * sizeof(float));
        for (size_t k = 0; k < ti->numel; k++)
            if (!isfinite(dst[k]))
                return ul_fail(UL_E_NUMERIC, "%s: tensor '%s': element %zu is %g", path, ti->name, k, (double)dst[k]);
    }
    return UL_OK;
}

ul_status ul_ckpt_load(const char *path, const char *spec_override, const ul_arch_params *ap_override,
                       ul_model **out, ul_st_file **meta_out) {
    if (meta_out) *meta_out = NULL;
    if (!out) return ul_fail(UL_E_ARG, "ul_ckpt_load: out is required");
    *out = NULL;
    if (!path) return ul_fail(UL_E_ARG, "ul_ckpt_load: path is required");
    ul_st_file *f = NULL;
    ul_model *m = NULL;
    ul_status st = ul_st_read(path, &f);
    if (st != UL_OK) return st;
    const char *spec = NULL;
    ul_arch_params ap;
    st = resolve_arch(path, f, spec_override, ap_override, &spec, &ap);
    if (st == UL_OK && (st = ul_model_create(spec, &ap, 0, &m)) != UL_OK)
        st = spec_override ? ul_fail_ctx(st, "%s", path) : ul_fail_ctx(st, "%s: metadata 'arch'", path);
    const char *arch = ul_st_meta(f, "arch");
    if (st == UL_OK && arch) st = check_arch(path, arch, m);
    if (st == UL_OK) st = check_tensors(path, f, m);
    if (st == UL_OK) st = copy_tensors(path, f, m);
    if (st != UL_OK) {
        ul_model_free(m);
        ul_st_free(f);
        return st;
    }
    *out = m;
    if (meta_out) *meta_out = f;
    else ul_st_free(f);
    return UL_OK;
}
