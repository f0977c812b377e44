// Optimisers, learning-rate schedule and gradient clipping of the ViT's training (math.md
// section 7), with PyTorch's semantics (torch.optim.AdamW / SGD, clip_grad_norm_).
#pragma once

#include "rpb/thread_pool.hpp"
#include "rpb/vit.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace rpb {

enum class OptimizerKind { adamw, sgd };

/// "adamw", "sgd"; parse throws rpb::UsageError naming the value and the accepted names.
std::string optimizer_name(OptimizerKind kind);
OptimizerKind parse_optimizer(const std::string& name);

struct OptimizerConfig {
    OptimizerKind kind = OptimizerKind::adamw;
    double lr = 1e-3;     ///< peak learning rate
    double min_lr = 1e-5; ///< final learning rate of the cosine
    int64_t warmup = 0;   ///< warm-up steps
    double weight_decay = 0.05;
    double momentum = 0.0; ///< sgd
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double clip_grad = 0.0; ///< max global L2 norm; 0 = off

    /// Throws rpb::UsageError for negative or non-finite values, momentum >= 1, betas outside
    /// [0, 1).
    void validate() const;
};

/// Learning rate at step `step` (0-based) of `total`: lr (s+1)/w during the warm-up, then
/// min_lr + (lr - min_lr) (1 + cos(pi (s - w) / (S - w))) / 2.
double learning_rate(const OptimizerConfig& config, int64_t step, int64_t total);

/// The global L2 norm of the gradient (every element, in order, summed in double).
double gradient_norm(ThreadPool& pool, const std::vector<float>& grads);

/// Scales the gradients by min(1, max_norm / (norm + 1e-6)) as clip_grad_norm_ does; returns
/// the norm before clipping.
double clip_gradients(ThreadPool& pool, std::vector<float>& grads, double max_norm);

/// The optimiser's state (AdamW's two moments, or SGD's momentum buffer) and its update.
class Optimizer {
public:
    Optimizer(const OptimizerConfig& config, const std::vector<ParamInfo>& layout, int64_t count);

    /// One update of `params` from `grads` at learning rate lr; `step` counts updates from 1
    /// (AdamW's bias correction). Weight decay only on the tensors whose ParamInfo::decay is set.
    void update(ThreadPool& pool, std::vector<float>& params, const std::vector<float>& grads,
                double lr, int64_t step);

    const OptimizerConfig& config() const { return config_; }
    /// The state tensors by name ("optimizer.exp_avg", "optimizer.exp_avg_sq" or
    /// "optimizer.momentum_buffer"), each laid out like the parameters.
    std::vector<std::pair<std::string, std::vector<float>*>> state();

private:
    OptimizerConfig config_;
    std::vector<ParamInfo> layout_;
    std::vector<float> m_; // exp_avg, or the momentum buffer
    std::vector<float> v_; // exp_avg_sq (adamw)
};

} // namespace rpb
