/* ul_dataset_hash: SHA-256 identity of a dataset's content, for result records and caches.
 * Digest input: c, h, w, n, pixel type as little-endian int64, then every pixel (uint8 bytes,
 * or float32 as little-endian IEEE bytes), then every label as little-endian int32. The name
 * and the class count are deliberately not hashed (same content, same hash).
 */
#include "data/data_internal.h"

#include <string.h>

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

const char *ul_dataset_hash(ul_dataset *d) {
    if (!d) return "";
    if (d->hash[0]) return d->hash;
    ul_sha256 ctx;
    ul_sha256_init(&ctx);
    uint8_t hdr[40];
    put_le64(hdr + 0, (uint64_t)d->c);
    put_le64(hdr + 8, (uint64_t)d->h);
    put_le64(hdr + 16, (uint64_t)d->w);
    put_le64(hdr + 24, (uint64_t)d->n);
    put_le64(hdr + 32, (uint64_t)d->type);
    ul_sha256_update(&ctx, hdr, sizeof hdr);

    size_t total = d->n * (size_t)d->c * (size_t)d->h * (size_t)d->w;
    uint8_t buf[4096];
    if (d->type == UL_PIX_U8) {
        ul_sha256_update(&ctx, d->pixels, total);
    } else {
        const float *p = d->pixels;
        for (size_t i = 0; i < total;) {
            size_t k = 0;
            for (; k < sizeof buf / 4 && i < total; k++, i++) {
                uint32_t u;
                memcpy(&u, &p[i], 4);
                put_le32(buf + 4 * k, u);
            }
            ul_sha256_update(&ctx, buf, 4 * k);
        }
    }
    for (size_t i = 0; i < d->n;) {
        size_t k = 0;
        for (; k < sizeof buf / 4 && i < d->n; k++, i++) put_le32(buf + 4 * k, (uint32_t)d->labels[i]);
        ul_sha256_update(&ctx, buf, 4 * k);
    }
    uint8_t dig[32];
    ul_sha256_final(&ctx, dig);
    ul_sha256_to_hex(dig, d->hash);
    return d->hash;
}
