/* safetensors reader/writer and atomic file writes (src/io/): exact round trips, a hand-written
 * file shaped like PyTorch's output, one rejection per validation rule (status and a message
 * naming the file and the tensor or field), and atomic-write failure behaviour. No nn dependency.
 */
#include "ul_test.h"

#include <dirent.h>
#include <errno.h>

#include "unlearn/io.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* A file image: 8-byte LE length `hlen`, then `hdr` (its own length), `pad` bytes of `padc`,
 * then `ndata` data bytes (0, 1, 2, ...). hlen == UINT64_MAX means strlen(hdr) + pad. */
static uint8_t *mk_file(uint64_t hlen, const char *hdr, size_t pad, char padc, size_t ndata, size_t *n) {
    size_t hl = strlen(hdr);
    if (hlen == UINT64_MAX) hlen = hl + pad;
    *n = 8 + hl + pad + ndata;
    uint8_t *b = malloc(*n);
    assert_non_null(b);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(hlen >> (8 * i));
    memcpy(b + 8, hdr, hl);
    memset(b + 8 + hl, padc, pad);
    for (size_t i = 0; i < ndata; i++) b[8 + hl + pad + i] = (uint8_t)i;
    return b;
}

/* Header `hdr` padded with spaces to a multiple of 8, then ndata bytes. */
static uint8_t *mk_st(const char *hdr, size_t ndata, size_t *n) {
    size_t hl = strlen(hdr);
    return mk_file(UINT64_MAX, hdr, (8 - hl % 8) % 8, ' ', ndata, n);
}

static size_t count_tmp_files(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t k = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".tmp.")) k++;
    closedir(d);
    return k;
}

static void assert_file_is(const char *path, const void *data, size_t n) {
    uint8_t *b = NULL;
    size_t bn = 0;
    ULT_OK(ul_read_file(path, 0, &b, &bn));
    assert_int_equal(bn, n);
    if (n) assert_memory_equal(b, data, n);
    free(b);
}

/* ---- dtypes ------------------------------------------------------------------------- */

static void test_dtypes(void **state) {
    (void)state;
    static const char *names[UL_DT_COUNT] = {"F32", "F64", "F16", "BF16", "I64", "I32", "I16",
                                             "I8",  "U8",  "BOOL", "U16", "U32", "U64"};
    static const size_t sizes[UL_DT_COUNT] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1, 2, 4, 8};
    for (int i = 0; i < UL_DT_COUNT; i++) {
        assert_string_equal(ul_dtype_name((ul_dtype)i), names[i]);
        assert_int_equal(ul_dtype_size((ul_dtype)i), sizes[i]);
    }
    assert_int_equal(ul_dtype_size(UL_DT_COUNT), 0);
}

/* ---- writer ------------------------------------------------------------------------- */

/* The exact bytes for a small file: name order, "__metadata__" first, keys sorted, compact,
 * space padding to 8, little-endian length. */
static void test_writer_exact_bytes(void **state) {
    (void)state;
    ul_st_writer *w = NULL;
    ULT_OK(ul_st_writer_create(&w));
    const float b[1] = {1.5f};
    const int32_t a[2] = {-1, 7};
    const int64_t sb[1] = {1}, sa[1] = {2};
    ULT_OK(ul_st_writer_add(w, "b", UL_DT_F32, 1, sb, b));
    ULT_OK(ul_st_writer_add(w, "a", UL_DT_I32, 1, sa, a));
    ULT_OK(ul_st_writer_meta(w, "x", "2"));
    ULT_OK(ul_st_writer_meta(w, "format", "pt"));
    uint8_t *buf = NULL;
    size_t n = 0;
    ULT_OK(ul_st_writer_to_buffer(w, &buf, &n));
    ul_st_writer_free(w);

    const char *want = "{\"__metadata__\":{\"format\":\"pt\",\"x\":\"2\"},"
                       "\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
    size_t wl = strlen(want), hl = (wl + 7) / 8 * 8;
    assert_int_equal(n, 8 + hl + 12);
    uint64_t got_hl = 0;
    for (int i = 7; i >= 0; i--) got_hl = got_hl << 8 | buf[i];
    assert_int_equal(got_hl, hl);
    assert_memory_equal(buf + 8, want, wl);
    for (size_t i = wl; i < hl; i++) assert_int_equal(buf[8 + i], ' ');
    assert_memory_equal(buf + 8 + hl, a, 8);
    assert_memory_equal(buf + 8 + hl + 8, b, 4);
    free(buf);
}

/* Round trip through memory and a file: same values, same bytes, insertion order irrelevant. */
static void test_roundtrip(void **state) {
    (void)state;
    float f32[6] = {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-30f};
    double f64[2] = {3.141592653589793, -1e300};
    int64_t i64 = -1234567890123LL;
    uint8_t u8[5] = {0, 1, 2, 254, 255};
    uint16_t bf16[3] = {0x3f80, 0xc000, 0x7f7f};
    const int64_t s23[2] = {2, 3}, s12[2] = {1, 2}, s5[1] = {5}, s3[1] = {3}, s0[2] = {4, 0};
    ul_st_writer *w1 = NULL, *w2 = NULL;
    ULT_OK(ul_st_writer_create(&w1));
    ULT_OK(ul_st_writer_create(&w2));
    /* same content, different insertion order */
    ULT_OK(ul_st_writer_add(w1, "layer.weight", UL_DT_F32, 2, s23, f32));
    ULT_OK(ul_st_writer_add(w1, "d", UL_DT_F64, 2, s12, f64));
    ULT_OK(ul_st_writer_add(w1, "counter", UL_DT_I64, 0, NULL, &i64));
    ULT_OK(ul_st_writer_add(w1, "bytes", UL_DT_U8, 1, s5, u8));
    ULT_OK(ul_st_writer_add(w1, "half", UL_DT_BF16, 1, s3, bf16));
    ULT_OK(ul_st_writer_add(w1, "empty", UL_DT_F32, 2, s0, NULL));
    ULT_OK(ul_st_writer_meta(w1, "note", "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9"));
    ULT_OK(ul_st_writer_meta(w1, "arch", "mlp:1-2"));
    ULT_OK(ul_st_writer_meta(w2, "arch", "replaced below"));
    ULT_OK(ul_st_writer_meta(w2, "note", "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9"));
    ULT_OK(ul_st_writer_meta(w2, "arch", "mlp:1-2"));
    ULT_OK(ul_st_writer_add(w2, "empty", UL_DT_F32, 2, s0, NULL));
    ULT_OK(ul_st_writer_add(w2, "half", UL_DT_BF16, 1, s3, bf16));
    ULT_OK(ul_st_writer_add(w2, "bytes", UL_DT_U8, 1, s5, u8));
    ULT_OK(ul_st_writer_add(w2, "counter", UL_DT_I64, 0, NULL, &i64));
    ULT_OK(ul_st_writer_add(w2, "d", UL_DT_F64, 2, s12, f64));
    ULT_OK(ul_st_writer_add(w2, "layer.weight", UL_DT_F32, 2, s23, f32));
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    ULT_OK(ul_st_writer_to_buffer(w1, &b1, &n1));
    ULT_OK(ul_st_writer_to_buffer(w2, &b2, &n2));
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);

    const char *dir = ult_tmpdir("test_safetensors");
    const char *path = ult_path(dir, "rt.safetensors");
    ULT_OK(ul_st_writer_save(w1, path));
    assert_file_is(path, b1, n1);
    ul_st_writer_free(w1);
    ul_st_writer_free(w2);

    ul_st_file *f = NULL;
    ULT_OK(ul_st_read(path, &f));
    assert_int_equal(ul_st_count(f), 6);
    /* data order == name order for files we write */
    const char *order[6] = {"bytes", "counter", "d", "empty", "half", "layer.weight"};
    uint64_t pos = 0;
    for (int i = 0; i < 6; i++) {
        const ul_st_tensor *t = ul_st_get(f, i);
        assert_string_equal(t->name, order[i]);
        assert_int_equal(t->begin, pos);
        pos = t->end;
        assert_ptr_equal(ul_st_find(f, order[i]), t);
    }
    assert_null(ul_st_get(f, 6));
    assert_null(ul_st_get(f, -1));
    assert_null(ul_st_find(f, "nope"));

    const ul_st_tensor *t = ul_st_find(f, "layer.weight");
    assert_int_equal(t->dtype, UL_DT_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_int_equal(t->end - t->begin, sizeof f32);
    assert_memory_equal(t->data, f32, sizeof f32);
    t = ul_st_find(f, "d");
    assert_int_equal(t->dtype, UL_DT_F64);
    assert_memory_equal(t->data, f64, sizeof f64);
    t = ul_st_find(f, "counter");
    assert_int_equal(t->dtype, UL_DT_I64);
    assert_int_equal(t->ndim, 0);
    int64_t c;
    memcpy(&c, t->data, sizeof c);
    assert_int_equal(c, i64);
    t = ul_st_find(f, "bytes");
    assert_int_equal(t->dtype, UL_DT_U8);
    assert_memory_equal(t->data, u8, sizeof u8);
    t = ul_st_find(f, "half");
    assert_int_equal(t->dtype, UL_DT_BF16);
    assert_memory_equal(t->data, bf16, sizeof bf16);
    t = ul_st_find(f, "empty");
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[1], 0);
    assert_int_equal(t->begin, t->end);

    assert_int_equal(ul_st_meta_count(f), 2);
    assert_string_equal(ul_st_meta(f, "arch"), "mlp:1-2");
    assert_string_equal(ul_st_meta(f, "note"), "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9");
    assert_string_equal(ul_st_meta_key(f, 0), "arch");
    assert_null(ul_st_meta(f, "missing"));
    assert_null(ul_st_meta_key(f, 2));

    /* rewrite what was read: the same bytes again */
    ul_st_writer *w3 = NULL;
    ULT_OK(ul_st_writer_create(&w3));
    for (int i = ul_st_count(f) - 1; i >= 0; i--) {
        const ul_st_tensor *u = ul_st_get(f, i);
        ULT_OK(ul_st_writer_add(w3, u->name, u->dtype, u->ndim, u->shape, u->data));
    }
    for (int i = 0; i < ul_st_meta_count(f); i++)
        ULT_OK(ul_st_writer_meta(w3, ul_st_meta_key(f, i), ul_st_meta(f, ul_st_meta_key(f, i))));
    uint8_t *b3 = NULL;
    size_t n3 = 0;
    ULT_OK(ul_st_writer_to_buffer(w3, &b3, &n3));
    assert_int_equal(n3, n1);
    assert_memory_equal(b3, b1, n1);
    ul_st_writer_free(w3);
    ul_st_free(f);

    /* ul_st_parse copies: the source buffer may go away */
    ULT_OK(ul_st_parse(b1, n1, "mem", &f));
    memset(b1, 0xAB, n1);
    assert_memory_equal(ul_st_find(f, "layer.weight")->data, f32, sizeof f32);
    ul_st_free(f);
    free(b1);
    free(b2);
    free(b3);
    unlink(path);
}

static void test_writer_rejects(void **state) {
    (void)state;
    ul_st_writer *w = NULL;
    ULT_OK(ul_st_writer_create(&w));
    const float x[4] = {0};
    const int64_t s2[1] = {2}, neg[1] = {-1};
    ULT_OK(ul_st_writer_add(w, "a", UL_DT_F32, 1, s2, x));
    ULT_FAILS(ul_st_writer_add(w, "a", UL_DT_F32, 1, s2, x), UL_E_ARG);
    ULT_ERR_HAS("'a'");
    ULT_FAILS(ul_st_writer_add(w, "", UL_DT_F32, 1, s2, x), UL_E_ARG);
    ULT_ERR_HAS("empty");
    ULT_FAILS(ul_st_writer_add(w, "__metadata__", UL_DT_F32, 1, s2, x), UL_E_ARG);
    ULT_ERR_HAS("__metadata__");
    ULT_FAILS(ul_st_writer_add(w, "n", UL_DT_F32, 1, neg, x), UL_E_ARG);
    ULT_ERR_HAS("'n'");
    ULT_FAILS(ul_st_writer_add(w, "t", UL_DT_COUNT, 1, s2, x), UL_E_ARG);
    ULT_ERR_HAS("'t'");
    ULT_FAILS(ul_st_writer_add(w, "nodata", UL_DT_F32, 1, s2, NULL), UL_E_ARG);
    ULT_ERR_HAS("'nodata'");
    ULT_FAILS(ul_st_writer_add(w, "bad\xff", UL_DT_F32, 1, s2, x), UL_E_ARG);
    ULT_ERR_HAS("UTF-8");
    ULT_FAILS(ul_st_writer_meta(w, "k", "bad\xc3"), UL_E_ARG);
    ULT_ERR_HAS("'k'");
    /* the failed calls left the writer usable and unchanged */
    uint8_t *buf = NULL;
    size_t n = 0;
    ULT_OK(ul_st_writer_to_buffer(w, &buf, &n));
    ul_st_file *f = NULL;
    ULT_OK(ul_st_parse(buf, n, "w", &f));
    assert_int_equal(ul_st_count(f), 1);
    assert_int_equal(ul_st_meta_count(f), 0);
    ul_st_free(f);
    free(buf);
    ul_st_writer_free(w);
}

/* ---- reader: files written by hand, as PyTorch's safetensors writes them ------------ */

static void test_handwritten(void **state) {
    (void)state;
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],"
                      "\"data_offsets\":[0,16]}}";
    size_t n = 0;
    uint8_t *b = mk_st(hdr, 16, &n);
    assert_int_equal((n - 16) % 8, 0);
    const float vals[4] = {1.0f, -2.0f, 0.5f, 1e10f};
    memcpy(b + n - 16, vals, 16);
    const char *dir = ult_tmpdir("test_safetensors");
    const char *path = ult_path(dir, "pt.safetensors");
    ult_write(path, b, n);
    ul_st_file *f = NULL;
    ULT_OK(ul_st_read(path, &f));
    assert_int_equal(ul_st_count(f), 1);
    const ul_st_tensor *t = ul_st_get(f, 0);
    assert_string_equal(t->name, "a");
    assert_int_equal(t->dtype, UL_DT_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 2);
    assert_memory_equal(t->data, vals, 16);
    assert_string_equal(ul_st_meta(f, "format"), "pt");
    ul_st_free(f);
    free(b);
    unlink(path);

    /* pretty-printed JSON, tensors listed out of data order, a scalar and an empty tensor: valid */
    const char *hdr2 = "{\n  \"z\": {\"data_offsets\": [8, 24], \"shape\": [2], \"dtype\": \"F64\"},\r\n"
                       "\t\"y\": {\"dtype\": \"I64\", \"shape\": [], \"data_offsets\": [0, 8]},\n"
                       "  \"e\": {\"dtype\": \"BOOL\", \"shape\": [0, 3], \"data_offsets\": [24, 24]}\n}";
    b = mk_st(hdr2, 24, &n);
    ULT_OK(ul_st_parse(b, n, "pretty", &f));
    assert_int_equal(ul_st_count(f), 3);
    assert_string_equal(ul_st_get(f, 0)->name, "y");
    assert_int_equal(ul_st_get(f, 0)->ndim, 0);
    assert_string_equal(ul_st_get(f, 1)->name, "z");
    assert_string_equal(ul_st_get(f, 2)->name, "e");
    assert_ptr_equal(ul_st_get(f, 1)->data, ul_st_get(f, 0)->data + 8);
    assert_int_equal(ul_st_meta_count(f), 0);
    ul_st_free(f);
    free(b);

    /* no tensors, no metadata, no padding: valid */
    b = mk_file(UINT64_MAX, "{}", 0, ' ', 0, &n);
    ULT_OK(ul_st_parse(b, n, "empty", &f));
    assert_int_equal(ul_st_count(f), 0);
    assert_null(ul_st_find(f, "a"));
    ul_st_free(f);
    free(b);
}

/* ---- reader: rejections ------------------------------------------------------------- */

#define T_A16 "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}"

typedef struct bad_case {
    const char *what;
    const char *hdr;
    size_t ndata;
    const char *needle1, *needle2;
} bad_case;

static const bad_case bad_headers[] = {
    {"non-JSON", "{\"a\": {\"dtype\": ", 0, "not valid JSON", NULL},
    {"JSON array", "[1, 2, 3]", 0, "not a JSON object", "array"},
    {"JSON string", "\"hello\"", 0, "not a JSON object", NULL},
    {"unknown dtype", "{\"a\":{\"dtype\":\"F8\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "tensor 'a'",
     "unknown dtype 'F8'"},
    {"dtype not a string", "{\"a\":{\"dtype\":4,\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "tensor 'a'", "dtype"},
    {"shape vs offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 16, "tensor 'w'",
     "data_offsets [0, 16] do not match dtype F32 shape [2, 3] (24 bytes)"},
    {"dtype vs offsets", "{\"w\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "tensor 'w'",
     "dtype F64 shape [4] (32 bytes)"},
    {"negative offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[-16,0]}}", 16, "tensor 'a'",
     "data_offsets[0] = -16"},
    {"float offset", "{\"a\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,15.5]}}", 16, "tensor 'a'",
     "data_offsets[1] = 15.5"},
    {"offset > 2^53", "{\"a\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,18014398509481984]}}", 16,
     "tensor 'a'", "data_offsets[1]"},
    {"offsets reversed", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[16,0]}}", 16, "tensor 'a'",
     "before they begin"},
    {"offsets not a pair", "{\"a\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16,32]}}", 16, "tensor 'a'",
     "data_offsets"},
    {"negative shape", "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0, "tensor 'a'",
     "shape[0] = -1"},
    {"float shape", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2.5],\"data_offsets\":[0,0]}}", 0, "tensor 'a'", "shape[0]"},
    {"9 dims", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, "tensor 'a'",
     "9 dimensions"},
    {"shape overflow",
     "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0, "tensor 'a'",
     "overflows"},
    {"offsets past the data", "{" T_A16 "}", 8, "tensor 'a'", "exceed the data buffer of 8 bytes"},
    {"overlap",
     "{" T_A16 ",\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24, "tensor 'b'",
     "overlap tensor 'a'"},
    {"hole",
     "{" T_A16 ",\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[20,36]}}", 36, "tensor 'b'",
     "hole of 4 bytes after tensor 'a'"},
    {"hole at start", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]}}", 20, "tensor 'a'",
     "first 4 bytes"},
    {"trailing garbage", "{" T_A16 "}", 20, "4 trailing bytes", "'a'"},
    {"data but no tensors", "{\"__metadata__\":{\"k\":\"v\"}}", 8, "8 bytes", "no tensors"},
    {"duplicate names",
     "{" T_A16 ",\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", 32, "tensor 'a'",
     "appears twice"},
    {"empty name", "{\"\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "empty name", NULL},
    {"entry not an object", "{\"a\":[1,2]}", 0, "tensor 'a'", "not an object"},
    {"extra field",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16],\"offsets\":[0,16]}}", 16, "tensor 'a'",
     "unexpected field 'offsets'"},
    {"missing field", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", 16, "tensor 'a'",
     "missing field 'shape'"},
    {"duplicate field",
     "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "tensor 'a'",
     "'dtype' appears twice"},
    {"metadata value not a string", "{\"__metadata__\":{\"format\":\"pt\",\"epochs\":3}," T_A16 "}", 16,
     "__metadata__", "key 'epochs'"},
    {"metadata not an object", "{\"__metadata__\":[\"x\"]," T_A16 "}", 16, "__metadata__", "not an object"},
    {"metadata null", "{\"__metadata__\":null," T_A16 "}", 16, "__metadata__", "not an object"},
    {"duplicate metadata key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}," T_A16 "}", 16, "__metadata__",
     "key 'k' appears twice"},
    {"duplicate __metadata__", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "'__metadata__' appears twice",
     NULL},
    {"invalid UTF-8", "{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "UTF-8", NULL},
    {"control byte", "{\x01\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "control byte 0x01",
     NULL},
    {"byte-order mark", "\xef\xbb\xbf{" T_A16 "}", 16, "byte-order mark", NULL},
    {"JSON garbage after the object", "{" T_A16 "}x", 16, "only spaces", NULL},
};

static void test_rejections(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        const bad_case *c = &bad_headers[i];
        size_t n = 0;
        uint8_t *b = mk_st(c->hdr, c->ndata, &n);
        ul_st_file *f = (ul_st_file *)(uintptr_t)1;
        ul_clear_error();
        ul_status st = ul_st_parse(b, n, "case.safetensors", &f);
        free(b);
        if (st != UL_E_FORMAT)
            fail_msg("case '%s': status %s (%s), expected malformed file", c->what, ul_status_str(st), ul_last_error());
        if (f != NULL) fail_msg("case '%s': *out not NULL on failure", c->what);
        const char *e = ul_last_error();
        if (!strstr(e, "case.safetensors") || !strstr(e, c->needle1) || (c->needle2 && !strstr(e, c->needle2)))
            fail_msg("case '%s': message '%s' lacks '%s' / '%s'", c->what, e, c->needle1, c->needle2 ? c->needle2 : "");
    }
}

/* The same checks, sanity-checked: each header above, fixed, parses (so the cases fail for the
 * stated reason and not for another). */
static void test_rejection_controls(void **state) {
    (void)state;
    static const char *good[] = {
        "{" T_A16 "}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]}}",
        "{" T_A16 ",\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
        "{\"__metadata__\":{\"format\":\"pt\",\"epochs\":\"3\"}," T_A16 "}",
        "{\"a\xc3\xa9\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,16],\"data_offsets\":[0,16]}}",
    };
    static const size_t nd[] = {16, 16, 32, 16, 16, 16};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t n = 0;
        uint8_t *b = mk_st(good[i], nd[i], &n);
        ul_st_file *f = NULL;
        ul_status st = ul_st_parse(b, n, "good", &f);
        free(b);
        if (st != UL_OK) fail_msg("control %zu: %s", i, ul_last_error());
        ul_st_free(f);
    }
}

static void expect_bad(const uint8_t *b, size_t n, const char *needle) {
    ul_st_file *f = NULL;
    ULT_FAILS(ul_st_parse(b, n, "raw.safetensors", &f), UL_E_FORMAT);
    assert_null(f);
    ULT_ERR_HAS("raw.safetensors");
    ULT_ERR_HAS(needle);
}

static void test_length_and_padding(void **state) {
    (void)state;
    const char *hdr = "{" T_A16 "}";
    size_t hl = strlen(hdr), pad = (8 - hl % 8) % 8 + 8, n = 0;
    uint8_t *b;

    /* shorter than the length field */
    b = mk_st(hdr, 16, &n);
    expect_bad(b, 5, "too short");
    expect_bad(b, 0, "too short");
    /* header cut: the length field promises more than is there */
    expect_bad(b, 8 + hl / 2, "exceeds the");
    /* data cut */
    expect_bad(b, n - 4, "tensor 'a'");
    ULT_ERR_HAS("exceed the data buffer of 12 bytes");
    free(b);

    /* length field larger than the file (but under the cap) */
    b = mk_file(50u << 20, hdr, 0, ' ', 16, &n);
    expect_bad(b, n, "header length 52428800 exceeds");
    free(b);
    /* over the 100 MiB cap */
    b = mk_file(200u << 20, hdr, 0, ' ', 16, &n);
    expect_bad(b, n, "100 MiB");
    free(b);
    b = mk_file(UINT64_MAX - 1, hdr, 0, ' ', 16, &n);
    expect_bad(b, n, "100 MiB");
    free(b);
    /* zero-length header */
    b = mk_file(0, "", 0, ' ', 16, &n);
    expect_bad(b, n, "not valid JSON");
    free(b);

    /* padding: spaces are fine, anything else is not */
    b = mk_file(UINT64_MAX, hdr, pad, ' ', 16, &n);
    ul_st_file *f = NULL;
    ULT_OK(ul_st_parse(b, n, "ok", &f));
    ul_st_free(f);
    free(b);
    const char bad_pad[] = {'\0', '\n', '\t', 'x'};
    for (size_t i = 0; i < sizeof bad_pad; i++) {
        b = mk_file(UINT64_MAX, hdr, pad, bad_pad[i], 16, &n);
        ul_st_file *g = NULL;
        ul_status st = ul_st_parse(b, n, "raw.safetensors", &g);
        free(b);
        if (st != UL_E_FORMAT || (!strstr(ul_last_error(), "only spaces") && !strstr(ul_last_error(), "control byte")))
            fail_msg("padding 0x%02x: %s (%s)", (unsigned)(uint8_t)bad_pad[i], ul_status_str(st), ul_last_error());
        assert_null(g);
    }
}

static void test_read_errors(void **state) {
    (void)state;
    const char *dir = ult_tmpdir("test_safetensors");
    const char *path = ult_path(dir, "does-not-exist.safetensors");
    ul_st_file *f = NULL;
    ULT_FAILS(ul_st_read(path, &f), UL_E_NOTFOUND);
    ULT_ERR_HAS("does-not-exist.safetensors");
    assert_null(f);
    /* a file with a bad header names the path */
    const char *p2 = ult_path(dir, "bad.safetensors");
    ult_write(p2, "\x02\0\0\0\0\0\0\0[]", 10);
    ULT_FAILS(ul_st_read(p2, &f), UL_E_FORMAT);
    ULT_ERR_HAS("bad.safetensors");
    ULT_ERR_HAS("not a JSON object");
    assert_null(f);
    /* ul_read_file bounds the size */
    uint8_t *b = NULL;
    size_t n = 0;
    ULT_FAILS(ul_read_file(p2, 9, &b, &n), UL_E_FORMAT);
    ULT_ERR_HAS("bad.safetensors");
    assert_null(b);
    ULT_OK(ul_read_file(p2, 10, &b, &n));
    assert_int_equal(n, 10);
    free(b);
    unlink(p2);
}

/* ---- atomic writes ------------------------------------------------------------------ */

/* dir/file in malloc'd memory (ult_path's buffers rotate). */
static char *join(const char *dir, const char *file) {
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static void test_atomic_write(void **state) {
    (void)state;
    char *sub = join(ult_tmpdir("test_safetensors"), "atomic");
    mkdir(sub, 0755);
    char *path = join(sub, "out.bin");

    /* success: content in place, no temporary files left; overwriting replaces */
    ULT_OK(ul_write_file_atomic(path, "first", 5));
    assert_file_is(path, "first", 5);
    ULT_OK(ul_write_file_atomic(path, "second!", 7));
    assert_file_is(path, "second!", 7);
    ULT_OK(ul_write_file_atomic(path, NULL, 0));
    assert_file_is(path, "", 0);
    assert_int_equal(count_tmp_files(sub), 0);
    ULT_OK(ul_write_file_atomic(path, "keep", 4));

    /* a directory that does not exist: I/O error naming the path, nothing created */
    char *nodir = join(sub, "no-such-dir/out.bin");
    ULT_FAILS(ul_write_file_atomic(nodir, "x", 1), UL_E_IO);
    ULT_ERR_HAS("no-such-dir/out.bin");
    ULT_ERR_HAS(strerror(ENOENT));
    assert_int_equal(access(nodir, F_OK), -1);

    /* the rename fails (the target is a non-empty directory; works as root too): the temporary
     * file is removed and the target untouched */
    char *target = join(sub, "target");
    mkdir(target, 0755);
    char *inner = join(target, "inner");
    ult_write(inner, "x", 1);
    ULT_FAILS(ul_write_file_atomic(target, "data", 4), UL_E_IO);
    ULT_ERR_HAS("target");
    assert_int_equal(count_tmp_files(sub), 0);
    struct stat sb;
    assert_int_equal(stat(target, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_file_is(inner, "x", 1);

    /* a read-only directory (only meaningful when not root): target untouched, no temp file */
    if (geteuid() != 0) {
        assert_int_equal(chmod(sub, 0555), 0);
        ULT_FAILS(ul_write_file_atomic(path, "overwritten", 11), UL_E_IO);
        ULT_ERR_HAS("out.bin");
        assert_int_equal(chmod(sub, 0755), 0);
        assert_file_is(path, "keep", 4);
        assert_int_equal(count_tmp_files(sub), 0);
    }
    assert_file_is(path, "keep", 4);

    /* the writer's save goes through the same path */
    ul_st_writer *w = NULL;
    ULT_OK(ul_st_writer_create(&w));
    ULT_FAILS(ul_st_writer_save(w, nodir), UL_E_IO);
    ULT_ERR_HAS("no-such-dir");
    ULT_OK(ul_st_writer_save(w, path));
    ul_st_writer_free(w);
    assert_int_equal(count_tmp_files(sub), 0);
    ul_st_file *f = NULL;
    ULT_OK(ul_st_read(path, &f));
    assert_int_equal(ul_st_count(f), 0);
    ul_st_free(f);

    unlink(inner);
    rmdir(target);
    unlink(path);
    rmdir(sub);
    free(inner);
    free(target);
    free(nodir);
    free(path);
    free(sub);
}

/* Remove this run's (by now empty) temporary directory. */
static int group_teardown(void **state) {
    (void)state;
    rmdir(ult_tmpdir("test_safetensors"));
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_writer_exact_bytes),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_handwritten),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_rejection_controls),
        cmocka_unit_test(test_length_and_padding),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_atomic_write),
    };
    return cmocka_run_group_tests(tests, NULL, group_teardown);
}
