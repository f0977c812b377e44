// AdamW and SGD as PyTorch 1.13 computes them (torch/optim/adamw.py, sgd.py, single-tensor
// path): the per-step scalars in double, rounded to float where PyTorch passes them to a
// float tensor operation, and the element updates in float in the same order of operations.
#include "rpb/optimizer.hpp"

#include "rpb/error.hpp"

#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace rpb {

std::string optimizer_name(OptimizerKind kind) {
    return kind == OptimizerKind::adamw ? "adamw" : "sgd";
}

OptimizerKind parse_optimizer(const std::string& name) {
    if (name == "adamw") {
        return OptimizerKind::adamw;
    }
    if (name == "sgd") {
        return OptimizerKind::sgd;
    }
    throw UsageError(
        fmt::format("--optimizer: '{}' is not an optimiser (accepted: adamw, sgd)", name));
}

void OptimizerConfig::validate() const {
    const std::pair<const char*, double> values[] = {{"--lr", lr},
                                                     {"--min-lr", min_lr},
                                                     {"--weight-decay", weight_decay},
                                                     {"--momentum", momentum},
                                                     {"--clip-grad", clip_grad}};
    for (const auto& [what, v] : values) {
        if (!std::isfinite(v) || v < 0.0) {
            throw UsageError(fmt::format("{} must be a finite number >= 0, not {}", what, v));
        }
    }
    if (momentum >= 1.0) {
        throw UsageError(fmt::format("--momentum must be below 1, not {}", momentum));
    }
    if (warmup < 0) {
        throw UsageError(fmt::format("--warmup must be >= 0, not {}", warmup));
    }
    if (!(beta1 >= 0.0 && beta1 < 1.0 && beta2 >= 0.0 && beta2 < 1.0) || !(eps > 0.0)) {
        throw UsageError("AdamW needs betas in [0, 1) and eps > 0");
    }
}

double learning_rate(const OptimizerConfig& c, int64_t step, int64_t total) {
    if (step < c.warmup) {
        return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup);
    }
    const int64_t span = total - c.warmup;
    if (span <= 0) {
        return c.lr;
    }
    const double progress = static_cast<double>(step - c.warmup) / static_cast<double>(span);
    return c.min_lr + (c.lr - c.min_lr) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
}

double gradient_norm(ThreadPool& pool, const std::vector<float>& grads) {
    // Fixed pieces, each summed in double, then added in order: the same for any threads.
    constexpr int64_t piece = 1 << 15;
    const auto n = static_cast<int64_t>(grads.size());
    const int64_t count = (n + piece - 1) / piece;
    std::vector<double> partial(static_cast<size_t>(count), 0.0);
    pool.run(count, [&](int64_t p) {
        double s = 0.0;
        const int64_t end = std::min(n, (p + 1) * piece);
        for (int64_t i = p * piece; i < end; ++i) {
            s += static_cast<double>(grads[i]) * static_cast<double>(grads[i]);
        }
        partial[p] = s;
    });
    double total = 0.0;
    for (double s : partial) {
        total += s;
    }
    return std::sqrt(total);
}

double clip_gradients(ThreadPool& pool, std::vector<float>& grads, double max_norm) {
    const double norm = gradient_norm(pool, grads);
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
        const auto scale = static_cast<float>(coef);
        for (float& g : grads) {
            g *= scale;
        }
    }
    return norm;
}

Optimizer::Optimizer(const OptimizerConfig& config, const std::vector<ParamInfo>& layout,
                     int64_t count)
    : config_(config), layout_(layout), m_(static_cast<size_t>(count), 0.0f) {
    config_.validate();
    if (config_.kind == OptimizerKind::adamw) {
        v_.assign(static_cast<size_t>(count), 0.0f);
    }
}

std::vector<std::pair<std::string, std::vector<float>*>> Optimizer::state() {
    if (config_.kind == OptimizerKind::adamw) {
        return {{"optimizer.exp_avg", &m_}, {"optimizer.exp_avg_sq", &v_}};
    }
    return {{"optimizer.momentum_buffer", &m_}};
}

void Optimizer::update(ThreadPool& pool, std::vector<float>& params,
                       const std::vector<float>& grads, double lr, int64_t step) {
    const OptimizerConfig& c = config_;
    pool.run(static_cast<int64_t>(layout_.size()), [&](int64_t t) {
        const ParamInfo& info = layout_[static_cast<size_t>(t)];
        float* p = params.data() + info.offset;
        const float* g = grads.data() + info.offset;
        float* m = m_.data() + info.offset;
        const double wd = info.decay ? c.weight_decay : 0.0;
        if (c.kind == OptimizerKind::adamw) {
            float* v = v_.data() + info.offset;
            const auto decay = static_cast<float>(1.0 - lr * wd);
            const auto b1 = static_cast<float>(c.beta1);
            const auto b2 = static_cast<float>(c.beta2);
            const auto one_b1 = static_cast<float>(1.0 - c.beta1);
            const auto one_b2 = static_cast<float>(1.0 - c.beta2);
            const double bc1 = 1.0 - std::pow(c.beta1, static_cast<double>(step));
            const double bc2 = 1.0 - std::pow(c.beta2, static_cast<double>(step));
            const auto step_size = static_cast<float>(lr / bc1);
            const auto bc2_sqrt = static_cast<float>(std::sqrt(bc2));
            const auto eps = static_cast<float>(c.eps);
            for (int64_t i = 0; i < info.size; ++i) {
                if (wd != 0.0) {
                    p[i] *= decay;
                }
                m[i] = m[i] * b1 + g[i] * one_b1;
                v[i] = v[i] * b2 + one_b2 * g[i] * g[i];
                const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
                p[i] = p[i] + -step_size * (m[i] / denom);
            }
            return;
        }
        const auto wdf = static_cast<float>(wd);
        const auto mom = static_cast<float>(c.momentum);
        const auto neg_lr = static_cast<float>(-lr);
        for (int64_t i = 0; i < info.size; ++i) {
            float d = wd != 0.0 ? g[i] + wdf * p[i] : g[i];
            if (c.momentum != 0.0) {
                // The first step clones d_p into the buffer, later ones scale and add (no
                // dampening): with a zero buffer both are buf * mom + d exactly.
                m[i] = step == 1 ? d : m[i] * mom + d;
                d = m[i];
            }
            p[i] = p[i] + neg_lr * d;
        }
    });
}

} // namespace rpb
