/* unlearn/nn.h: models built from an architecture spec string, with one contiguous
 * parameter block and named views that use PyTorch state_dict names.
 *
 * Layout of the blocks of a model with P trainable values and B buffer values:
 *   params[0 .. P)        trainable tensors (weights, biases, BN gamma/beta)
 *   params[P .. P+B)      buffers (BN running_mean, running_var, num_batches_tracked)
 *   grads[0 .. P)         gradients of the trainable tensors (same offsets)
 * so Fisher diagonals, masks, dampening, hashing and checkpointing are single loops over
 * params[0..P) or params[0..P+B). num_batches_tracked is kept as a float counter and
 * written to checkpoints as int64, as PyTorch does.
 *
 * Data layout: NCHW float32, batch-major. A model owns its scratch activations; one model
 * must not be used from two threads at once (clone it instead).
 */
#ifndef UNLEARN_NN_H
#define UNLEARN_NN_H

#include "unlearn/base.h"
#include "unlearn/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ul_model ul_model; /* opaque */

typedef enum ul_tensor_kind {
    UL_TENSOR_PARAM = 0,   /* trainable */
    UL_TENSOR_BUFFER = 1,  /* float buffer (BN running statistics) */
    UL_TENSOR_COUNTER = 2  /* integer counter stored as float, serialised as I64 */
} ul_tensor_kind;

#define UL_MAX_DIMS 4
#define UL_MAX_NAME 96

/* A named view into the parameter block. */
typedef struct ul_tensor_info {
    char name[UL_MAX_NAME];   /* PyTorch state_dict name, e.g. "layer1.0.bn1.running_mean" */
    ul_tensor_kind kind;
    int ndim;
    int64_t shape[UL_MAX_DIMS];
    size_t offset;            /* in floats, from the start of the parameter block */
    size_t numel;
} ul_tensor_info;

/* Architecture specs:
 *   "mlp:784-256-128-10"   fully connected, ReLU between layers; the first width must equal
 *                          c*h*w, the last the class count. Names fc1, fc2, ...
 *   "cnn"                  conv1 (32, 3x3, pad 1) relu maxpool2, conv2 (64, 3x3, pad 1) relu
 *                          maxpool2, fc1 (128) relu, fc2 (classes).
 *   "resnet18"             CIFAR ResNet-18: conv1 3x3 stem + bn1, no max-pool, layer1..4 of
 *                          two basic blocks, widths 64,128,256,512 times `width`, global
 *                          average pool, fc. torchvision names (downsample.0/1).
 * Options may follow after '@': "resnet18@w=0.25". */
typedef struct ul_arch_params {
    int in_c, in_h, in_w;   /* input shape */
    int classes;            /* output classes */
    float width;            /* width multiplier (resnet18; 0 means 1.0) */
} ul_arch_params;

/* Largest parameter block ul_model_create accepts (values: trainable + buffers): 2^28 floats, 1 GiB
 * per copy (parameters, gradients and optimizer state each take one). An absurd spec fails with
 * UL_E_ARG instead of exhausting memory. */
#define UL_MAX_MODEL_VALUES ((size_t)1 << 28)

/* Build a model from a spec. Parameters are initialised as PyTorch does by default
 * (kaiming-uniform with a = sqrt(5) for conv/linear weights, uniform(+-1/sqrt(fan_in)) for
 * biases, BN gamma 1 beta 0, running var 1) from `seed`. Caller frees with ul_model_free. */
ul_status ul_model_create(const char *spec, const ul_arch_params *ap, uint64_t seed, ul_model **out);
void ul_model_free(ul_model *m);
/* A deep copy (parameters, buffers and architecture; gradients zero). */
ul_status ul_model_clone(const ul_model *m, ul_model **out);
/* Copy parameters and buffers from `src` (same architecture) into `dst`. */
ul_status ul_model_copy_params(ul_model *dst, const ul_model *src);

/* Canonical spec string ("cnn", "mlp:784-256-128-10", "resnet18@w=0.25"); borrowed. */
const char *ul_model_spec(const ul_model *m);
ul_arch_params ul_model_arch(const ul_model *m);

size_t ul_model_num_params(const ul_model *m);    /* P: trainable values */
size_t ul_model_num_values(const ul_model *m);    /* P + B: everything in the block */
float *ul_model_params(ul_model *m);              /* borrowed, P + B floats */
const float *ul_model_params_const(const ul_model *m);
float *ul_model_grads(ul_model *m);               /* borrowed, P floats */
int ul_model_num_tensors(const ul_model *m);
const ul_tensor_info *ul_model_tensor(const ul_model *m, int i);       /* 0 <= i < num_tensors */
const ul_tensor_info *ul_model_find_tensor(const ul_model *m, const char *name); /* NULL if none */
/* Index of the tensors of the final linear layer (weight, bias), for last-layer methods. */
void ul_model_head(const ul_model *m, int *weight_tensor, int *bias_tensor);

/* Forward pass on n samples x (n*c*h*w floats, NCHW). logits gets n*classes floats.
 * train = true uses batch statistics in BN (and updates running stats) and keeps the
 * activations needed by ul_model_backward. */
ul_status ul_model_forward(ul_model *m, const float *x, size_t n, bool train, float *logits);
/* Backward pass after a forward(train=true) on the same batch: dlogits (n*classes) in,
 * gradients ACCUMULATED into ul_model_grads(m). */
ul_status ul_model_backward(ul_model *m, const float *dlogits);
/* Backward pass after an eval-mode forward that, besides the usual gradients, ADDS to
 * sq[0..P) the sum over the batch of each sample's squared gradient: sq_k += sum_i (g_ik)^2,
 * where row i of dlogits is d l_i / d logits_i (per-sample, not divided by n). Exact because
 * eval-mode layers keep samples independent. Used by the diagonal Fisher (fisher.h). */
ul_status ul_model_backward_sq(ul_model *m, const float *dlogits, float *sq);
/* Zero the gradient block. */
void ul_model_zero_grad(ul_model *m);
/* Input to the final linear layer of the last forward pass (n * head_in floats); NULL before any
 * forward. Borrowed; valid until the next forward. */
const float *ul_model_features(const ul_model *m, size_t *head_in);
/* Largest batch the scratch buffers currently hold (they grow on demand). */
size_t ul_model_capacity(const ul_model *m);

/* SHA-256 over the spec and the whole parameter block (hex, 65 bytes). */
void ul_model_hash(const ul_model *m, char hex[65]);
/* First non-finite value in params, or -1 when all are finite; *tensor gets its tensor index. */
ptrdiff_t ul_model_find_nonfinite(const ul_model *m, int *tensor);
/* The first layer (in forward order, residual blocks entered) whose output in the last forward
 * pass holds a non-finite value: returns its position (0-based, counted over every layer) and
 * describes it in desc ("layer 2 (linear fc2)"), or -1 when every activation is finite or no
 * forward ran. For messages about diverging training. */
int ul_model_find_nonfinite_activation(const ul_model *m, char *desc, size_t cap);

/* ---- losses ------------------------------------------------------------------------ */

/* Softmax cross-entropy over n rows of k logits with integer labels in [0,k).
 * losses (optional) gets each sample's loss; dlogits (optional) gets d(mean loss)/d(logits),
 * i.e. (softmax - onehot) * w_i / sum(w), with weights w (NULL = all ones). Returns the
 * weighted mean loss. Computed in double per row; labels out of range give NaN. */
double ul_softmax_xent(const float *logits, const int32_t *labels, const float *weights, size_t n,
                       int k, float *losses, float *dlogits);
/* Row-wise softmax probabilities (n*k). */
void ul_softmax(const float *logits, size_t n, int k, float *probs);
/* argmax per row into pred[n]. */
void ul_argmax(const float *logits, size_t n, int k, int32_t *pred);

#ifdef __cplusplus
}
#endif
#endif
