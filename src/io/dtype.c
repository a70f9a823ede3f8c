/* The safetensors dtype table (names and element sizes, as in safetensors 0.4: F64 F32 F16 BF16
 * I64 I32 I16 I8 U8 BOOL U16 U32 U64) and a strict UTF-8 check used on header strings. The newer
 * FP8 and sub-byte dtypes are deliberately not supported: no model here stores them.
 */
#include "io/io_internal.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} g_dtypes[UL_DT_COUNT] = {
    [UL_DT_F32] = {"F32", 4}, [UL_DT_F64] = {"F64", 8}, [UL_DT_F16] = {"F16", 2}, [UL_DT_BF16] = {"BF16", 2},
    [UL_DT_I64] = {"I64", 8}, [UL_DT_I32] = {"I32", 4}, [UL_DT_I16] = {"I16", 2}, [UL_DT_I8] = {"I8", 1},
    [UL_DT_U8] = {"U8", 1},   [UL_DT_BOOL] = {"BOOL", 1}, [UL_DT_U16] = {"U16", 2}, [UL_DT_U32] = {"U32", 4},
    [UL_DT_U64] = {"U64", 8},
};

const char *ul_dtype_name(ul_dtype t) {
    return (unsigned)t < UL_DT_COUNT ? g_dtypes[t].name : "?";
}

size_t ul_dtype_size(ul_dtype t) {
    return (unsigned)t < UL_DT_COUNT ? g_dtypes[t].size : 0;
}

int ul_io_dtype_parse(const char *s) {
    for (int i = 0; i < UL_DT_COUNT; i++)
        if (strcmp(s, g_dtypes[i].name) == 0) return i;
    return -1;
}

bool ul_io_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (n - i < (size_t)len) return false;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += (size_t)len;
    }
    return true;
}
