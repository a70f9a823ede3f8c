/* unlearn/data.h: datasets, views, splits, augmentation and batching.
 *
 * A ul_dataset owns the pixels and labels of one split of one data source (e.g. the
 * Fashion-MNIST training set), stored once, as uint8 (IDX, CIFAR, NPY uint8) or float32
 * (NPY float32), in NCHW order. A ul_view is a dataset pointer plus an index list: label
 * filters, splits and shuffles make views, never copies of pixels. A ul_batcher fills one
 * float batch at a time (normalised, optionally augmented) from a view.
 *
 * Ownership: ul_dataset_* and ul_view_* constructors return objects the caller frees with
 * the matching _free. A view borrows its dataset: free views before the dataset.
 */
#ifndef UNLEARN_DATA_H
#define UNLEARN_DATA_H

#include "unlearn/base.h"
#include "unlearn/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ul_pixel_type { UL_PIX_U8 = 0, UL_PIX_F32 = 1 } ul_pixel_type;

typedef struct ul_dataset ul_dataset; /* opaque */

/* ---- datasets ---------------------------------------------------------------------- */

/* Build a dataset from memory (copies `pixels` and `labels`). n samples of c*h*w values,
 * NCHW, of the given pixel type; labels in [0, classes). `name` is kept for messages. */
ul_status ul_dataset_from_memory(const char *name, ul_pixel_type type, const void *pixels,
                                 const int32_t *labels, size_t n, int c, int h, int w,
                                 int classes, ul_dataset **out);
void ul_dataset_free(ul_dataset *d);

size_t ul_dataset_size(const ul_dataset *d);
int ul_dataset_channels(const ul_dataset *d);
int ul_dataset_height(const ul_dataset *d);
int ul_dataset_width(const ul_dataset *d);
int ul_dataset_classes(const ul_dataset *d);   /* max label + 1, or as declared */
ul_pixel_type ul_dataset_pixel_type(const ul_dataset *d);
const int32_t *ul_dataset_labels(const ul_dataset *d); /* borrowed, n entries */
const void *ul_dataset_pixels(const ul_dataset *d);    /* borrowed, n*c*h*w of pixel type */
const char *ul_dataset_name(const ul_dataset *d);
/* Pixel scale that maps stored values to [0,1]: 1/255 for uint8, 1 for float32. */
float ul_dataset_scale(const ul_dataset *d);
/* SHA-256 over shape, pixels and labels (hex, 64 chars + NUL), computed once and cached. */
const char *ul_dataset_hash(ul_dataset *d);

/* ---- readers (each validates magic, dimensions and sizes; errors name the file) ---- */

/* IDX images + labels (MNIST, Fashion-MNIST); either file may be gzip-compressed (detected by
 * the 1f 8b magic, not the name). classes = max label + 1. */
ul_status ul_read_idx(const char *images_path, const char *labels_path, ul_dataset **out);
/* CIFAR-10 (label_bytes = 1) or CIFAR-100 (label_bytes = 2, fine label is used) binary
 * batches, concatenated in the order given. classes = 10 or 100. */
ul_status ul_read_cifar(const char *const *paths, int npaths, int label_bytes, ul_dataset **out);
/* NPY: images (uint8 or float32, shape [n,h,w], [n,c,h,w] or [n,d] (read as c = h = 1, w = d))
 * and labels (integer dtype: u1,i1,u2,i2,i4,u4,i8,u8, shape [n]). C order, little-endian only.
 * classes = max label + 1. */
ul_status ul_read_npy(const char *images_path, const char *labels_path, ul_dataset **out);

/* Resolve a dataset by name or folder and load one split ("train" or "test"). A spec without
 * '/' that matches a known name (case-insensitive) is that name; otherwise it must be a directory.
 * The dataset's name is the canonical known name, or the directory as given.
 *  - "fashion-mnist" / "mnist": the Debian package files under /usr/share/datasets/<name>
 *    (override the root with env UL_DATA_DIR).
 *  - a directory: IDX ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]), CIFAR-10
 *    (data_batch_{1..5}.bin / test_batch.bin), CIFAR-100 (train.bin / test.bin), or NPY
 *    ({train,test}_{images,labels}.npy), detected in that order. */
ul_status ul_dataset_load(const char *spec, const char *split, ul_dataset **out);

/* ---- views ------------------------------------------------------------------------- */

typedef struct ul_view {
    ul_dataset *ds;   /* borrowed */
    int32_t *idx;     /* owned, n entries, indices into ds */
    size_t n;
} ul_view;

/* Every sample of the dataset, in order. */
ul_status ul_view_all(ul_dataset *d, ul_view **out);
/* Copy of an index list (validated against the dataset size). */
ul_status ul_view_from_indices(ul_dataset *d, const int32_t *idx, size_t n, ul_view **out);
/* Samples of `src` whose label is (keep=true) / is not (keep=false) in labels[0..nlabels), in
 * `src`'s order. Labels outside [0, classes) are UL_E_ARG. */
ul_status ul_view_filter_labels(const ul_view *src, const int32_t *labels, size_t nlabels,
                                bool keep, ul_view **out);
/* Random split of `src` (seeded shuffle) into a part of round(frac*n) samples and the rest; both
 * keep `src`'s order, either output may be NULL, frac must lie in [0, 1]. */
ul_status ul_view_split_random(const ul_view *src, double frac, uint64_t seed, ul_view **part,
                               ul_view **rest);
/* Stratified split: per label, round(frac * count) samples (seeded) into `part`. Both splits keep
 * `src`'s order; either output may be NULL. frac must lie in [0, 1]. */
ul_status ul_view_split_stratified(const ul_view *src, double frac, uint64_t seed, ul_view **part,
                                   ul_view **rest);
/* A copy of `src` with its index order shuffled (seeded). */
ul_status ul_view_shuffled(const ul_view *src, uint64_t seed, ul_view **out);
ul_status ul_view_clone(const ul_view *src, ul_view **out);
void ul_view_free(ul_view *v);
/* Per-label counts over the view into counts[0..classes). */
void ul_view_label_counts(const ul_view *v, size_t *counts, int classes);

/* Parse a label set like "0-7", "3", "1,3,5-6" into sorted unique labels[] (caller frees with
 * free()). Labels must lie in [0, max_classes). */
ul_status ul_parse_label_set(const char *s, int max_classes, int32_t **labels, size_t *n);

/* Sample ids (indices into a split of `limit` samples) written as decimal integers separated by
 * whitespace, newlines or commas, '#' comments to the end of a line. Sorted and unique on return
 * (caller frees with free()). Errors name `name` (the file), line and column. ul_read_ids reads a
 * file (at most 1 GiB). */
ul_status ul_parse_ids(const char *name, const char *text, size_t len, size_t limit, int32_t **ids, size_t *n);
ul_status ul_read_ids(const char *path, size_t limit, int32_t **ids, size_t *n);
/* Samples of `src` whose dataset index is (keep=true) / is not (keep=false) in the sorted
 * ids[0..nids), in `src`'s order. */
ul_status ul_view_filter_ids(const ul_view *src, const int32_t *ids, size_t nids, bool keep, ul_view **out);

/* ---- normalisation and augmentation ------------------------------------------------ */

typedef struct ul_transform {
    int nchan;          /* entries used in mean/std: 0 = no normalisation, 1 = same for every
                           channel, else the dataset's channel count */
    float mean[4];      /* per channel, in [0,1] units (after scaling) */
    float std[4];
    int crop_pad;       /* random crop with this zero padding (0 = off; pads are 0 before
                           normalisation) */
    bool hflip;         /* random horizontal flip with p = 0.5 */
} ul_transform;

/* Mean and standard deviation per channel over the view (in [0,1] units). */
ul_status ul_view_channel_stats(const ul_view *v, float *mean, float *std);
/* Standard transforms for a named dataset ("fashion-mnist", "mnist", "cifar10", ...):
 * normalisation constants; augmentation off. Unknown names: normalisation off. */
ul_transform ul_transform_default(const char *dataset_name);

/* ---- batching ---------------------------------------------------------------------- */

typedef struct ul_batcher ul_batcher; /* opaque */

/* A batcher over `v` (borrowed) with batch size `bs`. If shuffle, each epoch visits the view in
 * a fresh order drawn from `seed` and the epoch number; augmentation draws from the same
 * seed, so an epoch's batches are a pure function of (seed, epoch). drop_last drops a final
 * partial batch. */
ul_status ul_batcher_create(const ul_view *v, int bs, bool shuffle, bool drop_last, uint64_t seed,
                            const ul_transform *tf, ul_batcher **out);
void ul_batcher_free(ul_batcher *b);
/* Start epoch `epoch` (0-based): reshuffles if shuffling. */
void ul_batcher_start_epoch(ul_batcher *b, int epoch);
/* Fill the next batch: x gets n*c*h*w floats (NCHW, normalised/augmented), y gets n labels,
 * pos (optional) gets the position in the view of each sample. Returns the batch size n,
 * 0 at the end of the epoch. x and y must hold bs samples. */
size_t ul_batcher_next(ul_batcher *b, float *x, int32_t *y, size_t *pos);
size_t ul_batcher_batches_per_epoch(const ul_batcher *b);

#ifdef __cplusplus
}
#endif
#endif
