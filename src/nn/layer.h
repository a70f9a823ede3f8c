/* Internal: the layer representation shared by the src/nn sources.
 * A model is a sequence of layers; a residual basic block is one layer holding two
 * sub-sequences (main branch, shortcut). Each layer owns its output activations and the
 * gradient w.r.t. its input (grown to the batch capacity on demand) and refers to its
 * tensors by index into the model's tensor table (offsets resolved at run time).
 */
#ifndef UL_NN_LAYER_H
#define UL_NN_LAYER_H

#include "unlearn/nn.h"

typedef enum ul_layer_type {
    UL_L_LINEAR, UL_L_CONV, UL_L_MAXPOOL, UL_L_AVGPOOL, UL_L_RELU, UL_L_BN, UL_L_BLOCK
} ul_layer_type;

typedef struct ul_seq ul_seq;

typedef struct ul_layer {
    ul_layer_type type;
    int in_c, in_h, in_w, out_c, out_h, out_w;
    size_t in_n, out_n;     /* values per sample */
    int k, stride, pad;     /* conv / pool */
    int t_w, t_b;           /* tensor indices (-1 = none): weight/bias, or BN gamma/beta */
    int t_rm, t_rv, t_nbt;  /* BN buffers */
    float eps, momentum;    /* BN */
    bool need_din;          /* compute the gradient w.r.t. the input */
    bool relu;              /* conv/linear/BN: ReLU fused on the output (out is post-activation) */
    /* activations and gradients, capacity * out_n / in_n floats */
    float *out;
    float *din;
    int32_t *argmax;        /* maxpool: capacity * out_n */
    float *xhat;            /* linear+relu and blocks: masked gradient; capacity * out_n */
    float *invstd;          /* BN: per channel 1/sqrt(var + eps), then the mean used (2 * in_c floats) */
    const float *in;        /* input of the last forward (borrowed) */
    /* block */
    ul_seq *main, *shortcut;
} ul_layer;

struct ul_seq {
    ul_layer *l;
    int n;
    int cap;
};

/* Model internals, shared by model.c / arch.c. */
struct ul_model {
    char spec[128];
    ul_arch_params ap;
    ul_seq top;
    ul_tensor_info *tensors;
    int ntensors, tcap;
    size_t nparams, nbuffers;
    float *params;          /* nparams + nbuffers */
    float *grads;           /* nparams */
    size_t capacity;        /* batch capacity of activation buffers */
    size_t batch;           /* n of the last forward */
    bool train_mode;        /* mode of the last forward */
    float *sq;              /* backward_sq: per-sample squared-gradient accumulator (P floats), else NULL */
    bool sq_failed;         /* an allocation for the squared gradients failed */
    float *ws_col;          /* shared conv workspace: columns */
    float *ws_tmp;          /* shared conv workspace: [Cout, N*OHW] */
    float *ws_part;         /* per-chunk partial weight/bias gradients of convolutions */
    size_t ws_col_n, ws_tmp_n;   /* per-sample sizes needed */
    size_t ws_part_n;       /* floats in ws_part */
    int head_layer;         /* index in top of the final linear layer */
};

/* Forward/backward for one layer over n samples. Backward reads dout (n*out_n) and writes
 * l->din (when need_din) and accumulates parameter gradients. */
void ul_linear_forward(ul_model *m, ul_layer *l, const float *x, size_t n);
void ul_linear_backward(ul_model *m, ul_layer *l, const float *dout, size_t n);
void ul_conv_forward(ul_model *m, ul_layer *l, const float *x, size_t n);
void ul_conv_backward(ul_model *m, ul_layer *l, const float *dout, size_t n);
void ul_maxpool_forward(ul_layer *l, const float *x, size_t n);
void ul_maxpool_backward(ul_layer *l, const float *dout, size_t n);
void ul_avgpool_forward(ul_layer *l, const float *x, size_t n);
void ul_avgpool_backward(ul_layer *l, const float *dout, size_t n);
void ul_relu_forward(ul_layer *l, const float *x, size_t n);
void ul_relu_backward(ul_layer *l, const float *dout, size_t n);
void ul_bn_forward(ul_model *m, ul_layer *l, const float *x, size_t n, bool train);
void ul_bn_backward(ul_model *m, ul_layer *l, const float *dout, size_t n);

/* Sequences (used for the top level and inside blocks). Return the output pointer. */
const float *ul_seq_forward(ul_model *m, ul_seq *s, const float *x, size_t n, bool train);
/* Returns the gradient w.r.t. the sequence input (NULL if the first layer needs none). */
const float *ul_seq_backward(ul_model *m, ul_seq *s, const float *dout, size_t n);

static inline float *ul_tp(ul_model *m, int t) { return m->params + m->tensors[t].offset; }
static inline float *ul_tg(ul_model *m, int t) { return m->grads + m->tensors[t].offset; }

/* d[j] = y[j] > 0 ? g[j] : 0, branch-free (both loads unconditional so it vectorises: a branch
 * here mispredicts on half the elements). The ReLU derivative at 0 is 0, as in PyTorch. */
static inline void ul_relu_mask(float *restrict d, const float *restrict y, const float *restrict g, size_t n) {
    for (size_t j = 0; j < n; j++) {
        const float gv = g[j];
        d[j] = y[j] > 0.0f ? gv : 0.0f;
    }
}

/* Large loops go parallel; below this many values the OpenMP fork costs more than it saves. */
#define UL_PAR_MIN 32768

#endif
