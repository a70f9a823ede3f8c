/* unlearn/rng.h: the project's own seeded random number generator and SHA-256.
 *
 * ul_rng is xoshiro256** seeded through splitmix64: fast, 2^256 period, and identical on
 * every platform. It is a plain struct owned by the caller (no allocation, no global state),
 * so each thread or purpose keeps its own stream. Never use rand().
 */
#ifndef UNLEARN_RNG_H
#define UNLEARN_RNG_H

#include "unlearn/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ul_rng {
    uint64_t s[4];
} ul_rng;

/* Seed a generator. The same seed always gives the same stream. */
void ul_rng_seed(ul_rng *r, uint64_t seed);
/* Derive an independent stream for purpose `stream` (e.g. a layer index) from `seed`. */
void ul_rng_seed2(ul_rng *r, uint64_t seed, uint64_t stream);
uint64_t ul_rng_u64(ul_rng *r);
/* Uniform integer in [0, n), unbiased (rejection). n must be > 0. */
uint64_t ul_rng_below(ul_rng *r, uint64_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double ul_rng_uniform(ul_rng *r);
/* Standard normal (Box-Muller, no cached second value so the stream stays simple). */
double ul_rng_normal(ul_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void ul_rng_shuffle_i32(ul_rng *r, int32_t *idx, size_t n);

/* SHA-256 */
typedef struct ul_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} ul_sha256;

void ul_sha256_init(ul_sha256 *c);
void ul_sha256_update(ul_sha256 *c, const void *data, size_t n);
void ul_sha256_final(ul_sha256 *c, uint8_t out[32]);
/* One-shot digest as 64 lowercase hex chars + NUL into hex[65]. */
void ul_sha256_hex(const void *data, size_t n, char hex[65]);
/* Lowercase hex of a 32-byte digest into hex[65]. */
void ul_sha256_to_hex(const uint8_t d[32], char hex[65]);
/* Digest of a whole file into hex[65]. */
ul_status ul_sha256_file(const char *path, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
