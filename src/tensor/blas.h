/* Internal: thin wrappers over OpenBLAS GEMM plus im2col/col2im for convolutions.
 * Row-major everywhere. Not part of the public API.
 */
#ifndef UL_TENSOR_BLAS_H
#define UL_TENSOR_BLAS_H

#include <stdbool.h>
#include <stddef.h>

/* C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C. Row-major, lda/ldb/ldc = row strides. */
void ul_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);
void ul_blas_set_threads(int n);

/* Work on a batch is cut into UL_CHUNKS chunks of samples (fewer when the batch is smaller), a
 * number that depends on the batch alone. Each chunk runs single-threaded OpenBLAS inside one
 * OpenMP region, and partial sums are reduced in chunk order, so results are bit-identical for
 * every thread count. Chunk c of n covers samples [ul_chunk_lo(n,S,c), ul_chunk_lo(n,S,c+1)). */
#define UL_CHUNKS 8
static inline int ul_nchunks(size_t n) { return n < UL_CHUNKS ? (int)n : UL_CHUNKS; }
static inline size_t ul_chunk_lo(size_t n, int S, int c) { return n * (size_t)c / (size_t)S; }

/* im2col for one image of shape [c,h,w] with a kh x kw kernel, stride s and zero padding p:
 * col gets [c*kh*kw, oh*ow] with row stride ldc (>= oh*ow), so several images can be placed
 * side by side in one wide matrix. */
void ul_im2col(const float *img, int c, int h, int w, int kh, int kw, int s, int p, int oh, int ow,
               float *col, size_t ldc);
/* Accumulate a column matrix back into img [c,h,w] (img += col2im(col)). */
void ul_col2im(const float *col, size_t ldc, int c, int h, int w, int kh, int kw, int s, int p,
               int oh, int ow, float *img);

#endif
