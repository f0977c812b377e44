// The network operations of the ViT (math.md section 6), each forward beside its backward,
// written for training by hand as llm.c does (no autograd).
//
// Shapes: R rows (batch x tokens, row-major (B, T, C) flattened to (R, C)), C channels.
// Every buffer is a dense row-major float array; the caller owns all memory.
// Backward functions *write* (not accumulate) the gradients of their parameters, and write
// the gradient of their input into `dx` unless it is null.
//
// Threads: each op splits its work into pieces fixed by the shapes alone and runs them on the
// pool; sums over rows (parameter gradients) are added in a fixed order. Results are the same
// bytes for any thread count.
#pragma once

#include "rpb/gemm.hpp"
#include "rpb/thread_pool.hpp"

#include <cstdint>

namespace rpb::nn {

/// y (R, out) = x (R, in) @ w^T + b, w (out, in), b (out) or null (nn.Linear). `packed`:
/// null, or w as pack_linear_forward packed it (then w is not read), for callers that run
/// many products with the same weights (the ViT's micro-batches); the same bits either way.
void linear_forward(ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
                    int64_t rows, int64_t in, int64_t out, const PackedB* packed = nullptr);
/// dx (R, in) = dy @ w (unless null); dw (out, in) = dy^T @ x; db (out) = column sums of dy
/// (unless null). `packed_dx`: null, or w as pack_linear_backward packed it.
void linear_backward(ThreadPool& pool, const float* dy, const float* x, const float* w, float* dx,
                     float* dw, float* db, int64_t rows, int64_t in, int64_t out,
                     const PackedB* packed_dx = nullptr);
/// w (out, in) packed for linear_forward's product x @ w^T.
PackedB pack_linear_forward(const float* w, int64_t in, int64_t out);
/// w (out, in) packed for linear_backward's product dy @ w.
PackedB pack_linear_backward(const float* w, int64_t in, int64_t out);

/// y = (x - mean) * rstd * w + b per row over C channels, rstd = 1 / sqrt(var + eps), biased
/// variance (nn.LayerNorm(C, eps)). Saves mean and rstd (R each) for the backward pass.
void layernorm_forward(ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
                       float* mean, float* rstd, int64_t rows, int64_t channels, float eps);
/// dx (R, C) (unless null), dw, db (C) from dy and the forward's x, mean, rstd.
void layernorm_backward(ThreadPool& pool, const float* dy, const float* x, const float* w,
                        const float* mean, const float* rstd, float* dx, float* dw, float* db,
                        int64_t rows, int64_t channels);

/// y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), the exact GELU (F.gelu), n values.
void gelu_forward(ThreadPool& pool, const float* x, float* y, int64_t n);
/// dx = dy * (Phi(x) + x phi(x)).
void gelu_backward(ThreadPool& pool, const float* dy, const float* x, float* dx, int64_t n);

/// Geometry of multi-head self-attention with a relative position bias over B sequences of T
/// tokens, width E = H * d (math.md section 4). qkv is (B*T, 3E) ordered [q | k | v], each
/// head-major; the bias is bias[h, i, j] = table[index[i * T + j] * H + h] (table (entries, H),
/// index (T, T)), or none when table is null.
struct AttentionShape {
    int64_t batch = 0;
    int64_t tokens = 0;
    int64_t heads = 0;
    int64_t head_dim = 0;
    float scale = 1.0f;
};

/// out (B*T, E) = merged heads of softmax(scale q k^T + bias) v; probs (B, H, T, T) receives the
/// probabilities (kept for the backward pass).
void attention_forward(ThreadPool& pool, const AttentionShape& shape, const float* qkv,
                       const float* table, const int32_t* index, float* probs, float* out);
/// dqkv (B*T, 3E) from dout (B*T, E), the forward's qkv and probs; dtable (entries, H) (unless
/// table was null) is the scatter-add of the logit gradients through the index, summed over
/// the batch. `probs` is overwritten (with the logit gradients).
void attention_backward(ThreadPool& pool, const AttentionShape& shape, const float* qkv,
                        float* probs, const float* dout, const int32_t* index, int64_t entries,
                        float* dqkv, float* dtable);

/// Mean cross-entropy of logits (B, K) against labels, with label smoothing eps:
/// (1 - eps) CE + eps mean_k(-log p_k) (F.cross_entropy(label_smoothing=eps)). Writes the
/// gradient of the mean loss into dlogits (unless null) and each row's loss (unsmoothed
/// when eps = 0) into row_loss (unless null). Computed in double per row.
double cross_entropy_forward_backward(const float* logits, const int32_t* labels, int64_t batch,
                                      int64_t classes, float label_smoothing, float* dlogits,
                                      float* row_loss);

/// The same for `rows` rows of a batch of `batch_size` (a micro-batch): dlogits is the
/// gradient of the whole batch's mean loss (divided by batch_size); returns the rows' loss
/// sum (in double, in row order).
double cross_entropy_rows(const float* logits, const int32_t* labels, int64_t rows,
                          int64_t batch_size, int64_t classes, float label_smoothing,
                          float* dlogits, float* row_loss);

/// Throws rpb::Error "label L of image I is past the model's K classes" for the first of
/// labels[0, count) outside [0, classes): checked before a loss reads them.
void check_labels(const int32_t* labels, int64_t count, int64_t classes);

/// The class a row of logits predicts: the first index of its largest value (torch.argmax).
int64_t predicted_class(const float* logits, int64_t classes);

/// y[i] += x[i] for n values (residual connections).
void add_inplace(ThreadPool& pool, float* y, const float* x, int64_t n);

/// Column sums of x (R, C) into out (C): pieces of rows summed in a fixed order.
void column_sums(ThreadPool& pool, const float* x, int64_t rows, int64_t channels, float* out);

} // namespace rpb::nn
