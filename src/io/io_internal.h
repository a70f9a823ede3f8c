/* Private helpers shared by the safetensors reader and writer (src/io/). Not installed. */
#ifndef UL_IO_INTERNAL_H
#define UL_IO_INTERNAL_H

#include "unlearn/io.h"

#define UL_ST_MAX_HEADER (100u * 1024u * 1024u) /* bytes of JSON header accepted */
#define UL_ST_MAX_DIMS 8
#define UL_ST_MAX_OFFSET (UINT64_C(1) << 53)    /* offsets must be exact in a JSON double */

/* dtype from its safetensors name ("F32"), or -1. */
int ul_io_dtype_parse(const char *s);
/* true when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
bool ul_io_utf8_valid(const char *s, size_t n);

#endif
