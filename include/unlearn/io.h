/* unlearn/io.h: safetensors files, model checkpoints with metadata, atomic writes.
 *
 * safetensors layout (https://github.com/huggingface/safetensors, format as of 0.4):
 *   bytes 0..7      N, unsigned 64-bit little-endian: length of the JSON header
 *   bytes 8..8+N    JSON object, UTF-8, may be right-padded with spaces:
 *                     { "__metadata__": {"key": "string value", ...},        (optional)
 *                       "<tensor name>": {"dtype": "F32", "shape": [d0, d1, ...],
 *                                         "data_offsets": [begin, end]}, ... }
 *   bytes 8+N..     the data buffer; offsets are relative to its start, little-endian values.
 * Validation is strict: N bounded (<= 100 MiB and <= file size - 8), the JSON well-formed and an
 * object, every dtype known, shape entries non-negative with numel * dtype size == end - begin
 * without overflow, offsets inside the buffer, tensors non-overlapping and covering the buffer
 * exactly (no holes, no trailing garbage), metadata values strings; also no duplicate keys,
 * exactly dtype/shape/data_offsets per tensor, integral offsets <= 2^53, at most 8 dims,
 * non-empty names, padding spaces only. Failures are UL_E_FORMAT (UL_E_NOTFOUND / UL_E_IO for
 * the file itself), name the file and the tensor or field, and nothing is returned half-loaded.
 *
 * A checkpoint is a safetensors file whose tensors are a model's state_dict (F32, and I64 for
 * BN num_batches_tracked) and whose __metadata__ holds:
 *   "format": "unlearn-checkpoint", "format_version": "1", "arch": spec string,
 *   "in_shape": "c,h,w", "classes": count, "class_names": JSON array as string (optional),
 *   "provenance": JSON object as string (data hash, seed, epochs, optimizer, ...; optional).
 * A file from PyTorch (safetensors.torch.save_file(model.state_dict())) that lacks our
 * metadata loads when the caller supplies the architecture.
 */
#ifndef UNLEARN_IO_H
#define UNLEARN_IO_H

#include "unlearn/base.h"
#include "unlearn/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ul_dtype {
    UL_DT_F32 = 0, UL_DT_F64, UL_DT_F16, UL_DT_BF16,
    UL_DT_I64, UL_DT_I32, UL_DT_I16, UL_DT_I8, UL_DT_U8, UL_DT_BOOL,
    UL_DT_U16, UL_DT_U32, UL_DT_U64,
    UL_DT_COUNT
} ul_dtype;

const char *ul_dtype_name(ul_dtype t);       /* "F32", ... */
size_t ul_dtype_size(ul_dtype t);            /* bytes per element */

/* One tensor of a parsed file. `data` points into the file's buffer (borrowed, valid until
 * ul_st_free; not necessarily aligned for its dtype: read it with memcpy). */
typedef struct ul_st_tensor {
    char *name;
    ul_dtype dtype;
    int ndim;
    int64_t shape[8];
    uint64_t begin, end;      /* byte offsets into the data buffer */
    const uint8_t *data;
} ul_st_tensor;

typedef struct ul_st_file ul_st_file; /* opaque: a parsed safetensors file held in memory */

/* Read and validate a whole file. `path` is used in messages. */
ul_status ul_st_read(const char *path, ul_st_file **out);
/* Parse and validate from memory (copied). `label` names the source in messages. */
ul_status ul_st_parse(const void *buf, size_t n, const char *label, ul_st_file **out);
void ul_st_free(ul_st_file *f);
int ul_st_count(const ul_st_file *f);
const ul_st_tensor *ul_st_get(const ul_st_file *f, int i);          /* in file order */
const ul_st_tensor *ul_st_find(const ul_st_file *f, const char *name); /* NULL if absent */
/* Metadata value or NULL. Borrowed. */
const char *ul_st_meta(const ul_st_file *f, const char *key);
int ul_st_meta_count(const ul_st_file *f);
const char *ul_st_meta_key(const ul_st_file *f, int i);

/* A writer collects tensors and metadata, then writes the file atomically (temporary file in
 * the same directory, fsync, rename, fsync of the directory). */
typedef struct ul_st_writer ul_st_writer;
ul_status ul_st_writer_create(ul_st_writer **out);
void ul_st_writer_free(ul_st_writer *w);
/* Add a tensor; `data` (numel * dtype size bytes, little-endian) is copied. Names must be
 * unique, non-empty, valid UTF-8 and not "__metadata__" (else UL_E_ARG, writer unchanged). */
ul_status ul_st_writer_add(ul_st_writer *w, const char *name, ul_dtype dtype, int ndim,
                           const int64_t *shape, const void *data);
/* Set a metadata entry (UTF-8 key and value, copied); setting a key again replaces its value. */
ul_status ul_st_writer_meta(ul_st_writer *w, const char *key, const char *value);
/* Serialise to a malloc'd buffer (caller frees) / to a file atomically. Canonical layout, so the
 * same content gives the same bytes whatever the order of the add/meta calls: tensor data in
 * name (strcmp) order; compact header JSON with "__metadata__" first (keys in strcmp order;
 * omitted when there is none), then the tensors in data order; header padded with spaces to a
 * multiple of 8 bytes. */
ul_status ul_st_writer_to_buffer(const ul_st_writer *w, uint8_t **buf, size_t *n);
ul_status ul_st_writer_save(const ul_st_writer *w, const char *path);

/* ---- checkpoints ------------------------------------------------------------------- */

/* Optional metadata of a checkpoint. All strings borrowed; NULL = absent. */
typedef struct ul_ckpt_meta {
    const char *class_names;  /* JSON array text, e.g. ["T-shirt/top", ...] */
    const char *provenance;   /* JSON object text */
} ul_ckpt_meta;

/* Write model `m` as a checkpoint at `path` (atomic). Fails with UL_E_NUMERIC (naming the tensor
 * and element) if a value is NaN/Inf, UL_E_ARG if class_names is not a JSON array of strings or
 * provenance not a JSON object. */
ul_status ul_ckpt_save(const ul_model *m, const ul_ckpt_meta *meta, const char *path);
/* Serialise a checkpoint into memory (caller frees *buf). Byte-identical to what save writes. */
ul_status ul_ckpt_to_buffer(const ul_model *m, const ul_ckpt_meta *meta, uint8_t **buf, size_t *n);
/* Load a checkpoint. If the file has no "arch" metadata (e.g. written by PyTorch), `ap_override`
 * and `spec_override` must describe it (else UL_E_ARG); when given they also must agree with
 * the file's "arch", "in_shape" and "classes" (else UL_E_SHAPE naming the field; "arch" is
 * compared in canonical form, so "resnet18" with ap width 0.25 equals "resnet18@w=0.25").
 * Every tensor of the model must be present with the exact shape and dtype F32 (I64 or F32 for
 * counters); missing or extra tensors, other shapes or dtypes are UL_E_SHAPE, NaN/Inf values
 * UL_E_NUMERIC. "format_version" other than "1" is UL_E_UNSUPPORTED. On failure *out and
 * *meta_out are NULL. On success *meta_out (optional) receives a parsed file for reading
 * metadata (caller frees with ul_st_free). */
ul_status ul_ckpt_load(const char *path, const char *spec_override, const ul_arch_params *ap_override,
                       ul_model **out, ul_st_file **meta_out);

/* ---- files ------------------------------------------------------------------------- */

/* Write `n` bytes to `path` atomically: temp file "<path>.tmp.<pid>.<n>" in the same directory,
 * fsync, rename, fsync directory. On failure (UL_E_IO, with the errno text) the temp file is
 * removed and `path` is untouched; only a failed fsync of the directory after the rename
 * leaves the new file in place. */
ul_status ul_write_file_atomic(const char *path, const void *data, size_t n);
/* Read a whole file into a malloc'd buffer (caller frees). max_bytes bounds the size (0: no
 * limit; larger files give UL_E_FORMAT). A missing file gives UL_E_NOTFOUND, other failures
 * UL_E_IO. */
ul_status ul_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
