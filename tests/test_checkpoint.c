/* Checkpoints (src/io/checkpoint.c on top of src/nn): exact save -> load round trips for an MLP
 * and a narrow ResNet-18 (BN buffers and I64 counters included), the metadata written, and
 * rejection of files whose tensors or metadata do not match the architecture, plus PyTorch-style
 * files without metadata that load only when the caller supplies the architecture.
 */
#include "ul_test.h"

#include "unlearn/io.h"
#include "unlearn/nn.h"

static const ul_arch_params AP_MLP = {.in_c = 1, .in_h = 3, .in_w = 4, .classes = 3, .width = 0.0f};
static const ul_arch_params AP_RES = {.in_c = 3, .in_h = 8, .in_w = 8, .classes = 4, .width = 0.0f};
#define MLP_SPEC "mlp:12-8-3"
#define RES_SPEC "resnet18@w=0.125"

/* dir/file in malloc'd memory. */
static char *tpath(const char *file) {
    const char *dir = ult_tmpdir("test_checkpoint");
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static void assert_same_model(const ul_model *a, const ul_model *b) {
    assert_string_equal(ul_model_spec(a), ul_model_spec(b));
    assert_int_equal(ul_model_num_values(a), ul_model_num_values(b));
    assert_memory_equal(ul_model_params_const(a), ul_model_params_const(b), ul_model_num_values(a) * sizeof(float));
    char ha[65], hb[65];
    ul_model_hash(a, ha);
    ul_model_hash(b, hb);
    assert_string_equal(ha, hb);
}

/* How to rewrite a checkpoint. */
typedef struct edit {
    const char *drop;        /* leave this tensor out */
    const char *extra;       /* add a tensor of this name */
    const char *transpose;   /* swap the two dims of this tensor */
    const char *as_f64;      /* store this tensor as F64 */
    const char *nan_in;      /* put NaN at element 5 of this tensor */
    const char *counters_as; /* "F32": counters as F32 */
    bool no_meta;            /* drop all metadata (PyTorch-style file) */
    const char *meta_key, *meta_val; /* set one metadata entry */
} edit;

/* Copy checkpoint `src` to `dst` through the safetensors API, applying `e`. */
static void rewrite(const char *src, const char *dst, const edit *e) {
    ul_st_file *f = NULL;
    ULT_OK(ul_st_read(src, &f));
    ul_st_writer *w = NULL;
    ULT_OK(ul_st_writer_create(&w));
    for (int i = 0; i < ul_st_count(f); i++) {
        const ul_st_tensor *t = ul_st_get(f, i);
        if (e->drop && strcmp(t->name, e->drop) == 0) continue;
        size_t bytes = (size_t)(t->end - t->begin), numel = bytes / ul_dtype_size(t->dtype);
        int64_t shape[8];
        memcpy(shape, t->shape, sizeof shape);
        uint8_t *copy = malloc(bytes ? bytes : 1);
        assert_non_null(copy);
        memcpy(copy, t->data, bytes);
        ul_dtype dt = t->dtype;
        if (e->transpose && strcmp(t->name, e->transpose) == 0) {
            assert_int_equal(t->ndim, 2);
            shape[0] = t->shape[1];
            shape[1] = t->shape[0];
        }
        if (e->nan_in && strcmp(t->name, e->nan_in) == 0) {
            assert_true(numel > 5 && dt == UL_DT_F32);
            const float nan = NAN;
            memcpy(copy + 5 * sizeof(float), &nan, sizeof nan);
        }
        if ((e->as_f64 && strcmp(t->name, e->as_f64) == 0) ||
            (e->counters_as && dt == UL_DT_I64)) {
            bool to_f64 = !(e->counters_as && dt == UL_DT_I64);
            uint8_t *conv = malloc(numel * 8 + 1);
            assert_non_null(conv);
            for (size_t k = 0; k < numel; k++) {
                if (to_f64) {
                    float x;
                    memcpy(&x, copy + 4 * k, 4);
                    double d = x;
                    memcpy(conv + 8 * k, &d, 8);
                } else {
                    int64_t c;
                    memcpy(&c, copy + 8 * k, 8);
                    float x = (float)c;
                    memcpy(conv + 4 * k, &x, 4);
                }
            }
            free(copy);
            copy = conv;
            dt = to_f64 ? UL_DT_F64 : UL_DT_F32;
        }
        ULT_OK(ul_st_writer_add(w, t->name, dt, t->ndim, shape, copy));
        free(copy);
    }
    if (e->extra) {
        const float z[2] = {0.0f, 1.0f};
        const int64_t s[1] = {2};
        ULT_OK(ul_st_writer_add(w, e->extra, UL_DT_F32, 1, s, z));
    }
    if (!e->no_meta)
        for (int i = 0; i < ul_st_meta_count(f); i++)
            ULT_OK(ul_st_writer_meta(w, ul_st_meta_key(f, i), ul_st_meta(f, ul_st_meta_key(f, i))));
    if (e->meta_key) ULT_OK(ul_st_writer_meta(w, e->meta_key, e->meta_val));
    ULT_OK(ul_st_writer_save(w, dst));
    ul_st_writer_free(w);
    ul_st_free(f);
}

/* ---- round trips -------------------------------------------------------------------- */

static void test_roundtrip_mlp(void **state) {
    (void)state;
    ul_model *m = NULL, *back = NULL;
    ULT_OK(ul_model_create(MLP_SPEC, &AP_MLP, 7, &m));
    char *path = tpath("mlp.safetensors");
    const char *names = "[\"zero\",\"one\",\"two\"]", *prov = "{\"seed\":7,\"data\":\"synthetic\"}";
    ul_ckpt_meta meta = {.class_names = names, .provenance = prov};
    ULT_OK(ul_ckpt_save(m, &meta, path));

    /* to_buffer gives the bytes save wrote */
    uint8_t *buf = NULL, *file = NULL;
    size_t n = 0, fn = 0;
    ULT_OK(ul_ckpt_to_buffer(m, &meta, &buf, &n));
    ULT_OK(ul_read_file(path, 0, &file, &fn));
    assert_int_equal(n, fn);
    assert_memory_equal(buf, file, n);
    free(buf);
    free(file);

    ul_st_file *f = NULL;
    ULT_OK(ul_ckpt_load(path, NULL, NULL, &back, &f));
    assert_same_model(m, back);
    ul_arch_params ap = ul_model_arch(back);
    assert_int_equal(ap.in_c, 1);
    assert_int_equal(ap.in_h, 3);
    assert_int_equal(ap.in_w, 4);
    assert_int_equal(ap.classes, 3);
    assert_non_null(f);
    assert_string_equal(ul_st_meta(f, "format"), "unlearn-checkpoint");
    assert_string_equal(ul_st_meta(f, "format_version"), "1");
    assert_string_equal(ul_st_meta(f, "arch"), MLP_SPEC);
    assert_string_equal(ul_st_meta(f, "in_shape"), "1,3,4");
    assert_string_equal(ul_st_meta(f, "classes"), "3");
    assert_string_equal(ul_st_meta(f, "class_names"), names);
    assert_string_equal(ul_st_meta(f, "provenance"), prov);
    assert_int_equal(ul_st_count(f), ul_model_num_tensors(m));
    const ul_st_tensor *t = ul_st_find(f, "fc1.weight");
    assert_non_null(t);
    assert_int_equal(t->dtype, UL_DT_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 8);
    assert_int_equal(t->shape[1], 12);
    ul_st_free(f);
    ul_model_free(back);

    /* matching overrides are accepted */
    back = NULL;
    ULT_OK(ul_ckpt_load(path, MLP_SPEC, &AP_MLP, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);

    /* without optional metadata */
    ULT_OK(ul_ckpt_save(m, NULL, path));
    ULT_OK(ul_ckpt_load(path, NULL, NULL, &back, &f));
    assert_null(ul_st_meta(f, "class_names"));
    assert_null(ul_st_meta(f, "provenance"));
    assert_same_model(m, back);
    ul_st_free(f);
    ul_model_free(back);
    ul_model_free(m);
    unlink(path);
    free(path);
}

/* A ResNet whose BN buffers and counters are in a non-trivial state. */
static ul_model *make_resnet(void) {
    ul_model *m = NULL;
    ULT_OK(ul_model_create(RES_SPEC, &AP_RES, 11, &m));
    const size_t nx = 2 * 3 * 8 * 8;
    float *x = malloc(nx * sizeof *x), logits[2 * 4];
    assert_non_null(x);
    ul_rng r;
    ul_rng_seed(&r, 3);
    for (size_t i = 0; i < nx; i++) x[i] = (float)ul_rng_normal(&r);
    ULT_OK(ul_model_forward(m, x, 2, true, logits));
    free(x);
    float *p = ul_model_params(m);
    int counters = 0;
    for (int i = 0; i < ul_model_num_tensors(m); i++) {
        const ul_tensor_info *ti = ul_model_tensor(m, i);
        if (ti->kind != UL_TENSOR_COUNTER) continue;
        assert_int_equal(ti->ndim, 0);
        p[ti->offset] = (float)(1000 + i);
        counters++;
    }
    assert_true(counters > 10);
    return m;
}

static void test_roundtrip_resnet(void **state) {
    (void)state;
    ul_model *m = make_resnet(), *back = NULL;
    char *path = tpath("res.safetensors");
    ULT_OK(ul_ckpt_save(m, NULL, path));
    ULT_OK(ul_ckpt_load(path, NULL, NULL, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);

    /* counters are I64 scalars, BN statistics F32 */
    ul_st_file *f = NULL;
    ULT_OK(ul_st_read(path, &f));
    assert_string_equal(ul_st_meta(f, "arch"), RES_SPEC);
    assert_string_equal(ul_st_meta(f, "in_shape"), "3,8,8");
    assert_string_equal(ul_st_meta(f, "classes"), "4");
    const ul_st_tensor *t = ul_st_find(f, "layer1.0.bn1.num_batches_tracked");
    assert_non_null(t);
    assert_int_equal(t->dtype, UL_DT_I64);
    assert_int_equal(t->ndim, 0);
    int64_t v;
    memcpy(&v, t->data, sizeof v);
    const ul_tensor_info *ti = ul_model_find_tensor(m, t->name);
    assert_int_equal(v, (int64_t)ul_model_params_const(m)[ti->offset]);
    t = ul_st_find(f, "layer1.0.bn1.running_var");
    assert_non_null(t);
    assert_int_equal(t->dtype, UL_DT_F32);
    ul_st_free(f);

    /* the width may come as the spec option or as the width parameter */
    ULT_OK(ul_ckpt_load(path, RES_SPEC, &AP_RES, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);
    ul_arch_params ap = AP_RES;
    ap.width = 0.125f;
    ULT_OK(ul_ckpt_load(path, "resnet18", &ap, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);
    /* ... but must agree with the file */
    back = (ul_model *)(uintptr_t)1;
    ULT_FAILS(ul_ckpt_load(path, "resnet18", &AP_RES, &back, NULL), UL_E_SHAPE);
    ULT_ERR_HAS("'arch'");
    assert_null(back);

    /* a non-canonical but equivalent "arch" in the file is accepted */
    char *alt = tpath("res-alt.safetensors");
    rewrite(path, alt, &(edit){.meta_key = "arch", .meta_val = "resnet18@w=0.1250"});
    ULT_OK(ul_ckpt_load(alt, NULL, NULL, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);
    ULT_OK(ul_ckpt_load(alt, RES_SPEC, &AP_RES, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);
    unlink(alt);
    free(alt);

    ul_model_free(m);
    unlink(path);
    free(path);
}

/* ---- rejections --------------------------------------------------------------------- */

/* Loading `path` fails with `st`, a message naming the file and `needle`, and no outputs. */
static void expect_load_fails(const char *path, const char *spec, const ul_arch_params *ap, ul_status st,
                              const char *needle) {
    ul_model *m = (ul_model *)(uintptr_t)1;
    ul_st_file *f = (ul_st_file *)(uintptr_t)1;
    ul_clear_error();
    ul_status got = ul_ckpt_load(path, spec, ap, &m, &f);
    if (got != st)
        fail_msg("loading with %s: %s (%s), expected %s [%s]", spec ? spec : "no override", ul_status_str(got),
                 ul_last_error(), ul_status_str(st), needle);
    assert_null(m);
    assert_null(f);
    ULT_ERR_HAS(path);
    ULT_ERR_HAS(needle);
}

static void test_rejections(void **state) {
    (void)state;
    ul_model *m = NULL;
    ULT_OK(ul_model_create(MLP_SPEC, &AP_MLP, 5, &m));
    char *good = tpath("good.safetensors"), *bad = tpath("bad.safetensors");
    ULT_OK(ul_ckpt_save(m, NULL, good));

    /* the unmodified copy loads (so every failure below is due to its edit) */
    rewrite(good, bad, &(edit){0});
    ul_model *back = NULL;
    ULT_OK(ul_ckpt_load(bad, NULL, NULL, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);

    rewrite(good, bad, &(edit){.drop = "fc2.bias"});
    expect_load_fails(bad, NULL, NULL, UL_E_SHAPE, "'fc2.bias'");
    ULT_ERR_HAS("missing");

    rewrite(good, bad, &(edit){.extra = "fc3.weight"});
    expect_load_fails(bad, NULL, NULL, UL_E_SHAPE, "'fc3.weight'");
    ULT_ERR_HAS("not part of");

    rewrite(good, bad, &(edit){.transpose = "fc1.weight"});
    expect_load_fails(bad, NULL, NULL, UL_E_SHAPE, "'fc1.weight'");
    ULT_ERR_HAS("[12, 8]");

    rewrite(good, bad, &(edit){.as_f64 = "fc1.bias"});
    expect_load_fails(bad, NULL, NULL, UL_E_SHAPE, "'fc1.bias'");
    ULT_ERR_HAS("F64");

    rewrite(good, bad, &(edit){.nan_in = "fc2.weight"});
    expect_load_fails(bad, NULL, NULL, UL_E_NUMERIC, "'fc2.weight'");
    ULT_ERR_HAS("element 5");

    /* metadata that disagrees with the caller's architecture */
    expect_load_fails(good, "mlp:12-9-3", NULL, UL_E_SHAPE, "'arch'");
    ul_arch_params ap = AP_MLP;
    ap.classes = 4;
    expect_load_fails(good, NULL, &ap, UL_E_SHAPE, "'classes'");
    ap = (ul_arch_params){.in_c = 3, .in_h = 2, .in_w = 2, .classes = 3};
    expect_load_fails(good, NULL, &ap, UL_E_SHAPE, "'in_shape'");

    /* metadata that is malformed or from a future version */
    rewrite(good, bad, &(edit){.meta_key = "format_version", .meta_val = "2"});
    expect_load_fails(bad, NULL, NULL, UL_E_UNSUPPORTED, "'format_version'");
    rewrite(good, bad, &(edit){.meta_key = "in_shape", .meta_val = "1,3"});
    expect_load_fails(bad, NULL, NULL, UL_E_FORMAT, "'in_shape'");
    rewrite(good, bad, &(edit){.meta_key = "classes", .meta_val = "3x"});
    expect_load_fails(bad, NULL, NULL, UL_E_FORMAT, "'classes'");
    rewrite(good, bad, &(edit){.meta_key = "arch", .meta_val = "mlp:12-8-4"});
    expect_load_fails(bad, NULL, NULL, UL_E_SHAPE, "metadata 'arch'");
    rewrite(good, bad, &(edit){.meta_key = "class_names", .meta_val = "{\"a\":1}"});
    expect_load_fails(bad, NULL, NULL, UL_E_FORMAT, "'class_names'");

    /* not a safetensors file at all */
    ult_write(bad, "garbage", 7);
    expect_load_fails(bad, NULL, NULL, UL_E_FORMAT, "too short");

    unlink(bad);
    unlink(good);
    free(bad);
    free(good);
    ul_model_free(m);
}

/* Files written by safetensors.torch.save_file(model.state_dict()): no metadata of ours. */
static void test_pytorch_style(void **state) {
    (void)state;
    char *good = tpath("good.safetensors"), *pt = tpath("pt.safetensors");
    ul_model *m = NULL, *back = NULL;

    ULT_OK(ul_model_create(MLP_SPEC, &AP_MLP, 9, &m));
    ULT_OK(ul_ckpt_save(m, NULL, good));
    rewrite(good, pt, &(edit){.no_meta = true});
    expect_load_fails(pt, NULL, NULL, UL_E_ARG, "'arch'");
    expect_load_fails(pt, MLP_SPEC, NULL, UL_E_ARG, "'in_shape'");
    expect_load_fails(pt, "mlp:12-9-3", &AP_MLP, UL_E_SHAPE, "fc1.weight");
    ULT_OK(ul_ckpt_load(pt, MLP_SPEC, &AP_MLP, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);
    /* {"format": "pt"} as transformers writes it is not ours either */
    rewrite(good, pt, &(edit){.no_meta = true, .meta_key = "format", .meta_val = "pt"});
    expect_load_fails(pt, NULL, NULL, UL_E_ARG, "'arch'");
    ULT_OK(ul_ckpt_load(pt, MLP_SPEC, &AP_MLP, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);
    ul_model_free(m);

    /* ResNet with counters as I64 scalars (as PyTorch writes them), and as F32 */
    m = make_resnet();
    ULT_OK(ul_ckpt_save(m, NULL, good));
    rewrite(good, pt, &(edit){.no_meta = true});
    ULT_OK(ul_ckpt_load(pt, RES_SPEC, &AP_RES, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);
    rewrite(good, pt, &(edit){.no_meta = true, .counters_as = "F32"});
    ul_st_file *f = NULL;
    ULT_OK(ul_st_read(pt, &f));
    assert_int_equal(ul_st_find(f, "bn1.num_batches_tracked")->dtype, UL_DT_F32);
    ul_st_free(f);
    ULT_OK(ul_ckpt_load(pt, RES_SPEC, &AP_RES, &back, NULL));
    assert_same_model(m, back);
    ul_model_free(back);
    ul_model_free(m);

    unlink(pt);
    unlink(good);
    free(pt);
    free(good);
}

static void test_save_rejects(void **state) {
    (void)state;
    ul_model *m = NULL;
    ULT_OK(ul_model_create(MLP_SPEC, &AP_MLP, 1, &m));
    char *path = tpath("nan.safetensors");
    unlink(path);
    ul_ckpt_meta meta = {.class_names = "not json"};
    ULT_FAILS(ul_ckpt_save(m, &meta, path), UL_E_ARG);
    ULT_ERR_HAS("class_names");
    meta = (ul_ckpt_meta){.provenance = "[1]"};
    ULT_FAILS(ul_ckpt_save(m, &meta, path), UL_E_ARG);
    ULT_ERR_HAS("provenance");
    const ul_tensor_info *ti = ul_model_find_tensor(m, "fc2.weight");
    assert_non_null(ti);
    ul_model_params(m)[ti->offset + 3] = INFINITY;
    ULT_FAILS(ul_ckpt_save(m, NULL, path), UL_E_NUMERIC);
    ULT_ERR_HAS("'fc2.weight'");
    ULT_ERR_HAS("element 3");
    assert_int_equal(access(path, F_OK), -1);
    ul_model *none = NULL;
    ULT_FAILS(ul_ckpt_load(path, NULL, NULL, &none, NULL), UL_E_NOTFOUND);
    assert_null(none);
    ul_model_free(m);
    free(path);
}

/* Remove this run's (by now empty) temporary directory. */
static int group_teardown(void **state) {
    (void)state;
    rmdir(ult_tmpdir("test_checkpoint"));
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_mlp),
        cmocka_unit_test(test_roundtrip_resnet),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_pytorch_style),
        cmocka_unit_test(test_save_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, group_teardown);
}
