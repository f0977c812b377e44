// The fast passes of the ViT (vit.hpp: loss_and_gradients, predict): the batch is cut into
// micro-batches of kMicroBatch images, and one thread takes a micro-batch through the whole
// network. Every op of the model is row-local except attention (per image) and the weight
// gradients (sums over rows), so a micro-batch needs nothing from the others until its
// gradients are added up. Against running each op over the whole batch (forward/backward),
// a block's activations stay in the core's cache instead of streaming the batch's through
// memory, and there is one barrier per step instead of one per op.
//
// Same values: forward and backward run unchanged on each micro-batch (on a pool of one
// thread), and a row's forward values do not depend on which rows are computed with it, so
// logits are forward's bits. Gradients are sums over micro-batches in order, a different
// grouping of the same sum than backward's pieces: equal within rounding, and fixed by the
// shapes alone.
#include "rpb/error.hpp"
#include "rpb/nn.hpp"
#include "rpb/thread_pool.hpp"
#include "rpb/vit.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <vector>

namespace rpb {
namespace {

constexpr int64_t kReducePiece = 1 << 12; // parameters per task of the gradient reduction

int64_t micro_batches(int64_t batch) {
    return (batch + ViT::kMicroBatch - 1) / ViT::kMicroBatch;
}

// One set of activation buffers per thread, kept between steps (sized for a micro-batch, so
// the attention probabilities are kept rather than recomputed by backward).
ViTActivations* thread_activations() {
    thread_local ActivationsPtr acts = make_activations(true);
    return acts.get();
}

} // namespace

ViT::BatchLoss ViT::loss_and_gradients(ThreadPool& pool, const uint8_t* images,
                                       const int32_t* labels, int64_t batch, float label_smoothing,
                                       float* grads, float* logits) const {
    const ViTConfig& c = config_;
    const int64_t k = c.num_classes;
    nn::check_labels(labels, batch, k);
    const int64_t pixels = c.in_chans * c.image_h * c.image_w;
    const int64_t count = micro_batches(batch);
    // Every gradient of a micro-batch is written by backward, so the buffer is kept between
    // steps and never cleared (clearing 30 MB per step cost 3% of the time).
    // (A reference: the tasks on other threads must see this thread's buffer, not their own.)
    thread_local std::vector<float> kept_partial;
    std::vector<float>& partial = kept_partial;
    partial.resize(static_cast<size_t>(count * count_));
    std::vector<double> loss(static_cast<size_t>(count));
    std::vector<int64_t> correct(static_cast<size_t>(count));
    const std::unique_ptr<const ViTPackedWeights> packed = pack_weights(true);
    pool.run(count, [&](int64_t m) {
        const int64_t first = m * kMicroBatch;
        const int64_t n = std::min(kMicroBatch, batch - first);
        ThreadPool serial(1);
        ViTActivations* acts = thread_activations();
        std::vector<float> z(static_cast<size_t>(n * k));
        std::vector<float> dz(static_cast<size_t>(n * k));
        forward(serial, images + first * pixels, n, z.data(), acts, true, packed.get());
        loss[static_cast<size_t>(m)] = nn::cross_entropy_rows(z.data(), labels + first, n, batch, k,
                                                              label_smoothing, dz.data(), nullptr);
        int64_t right = 0;
        for (int64_t i = 0; i < n; ++i) {
            right += nn::predicted_class(z.data() + i * k, k) == labels[first + i] ? 1 : 0;
        }
        correct[static_cast<size_t>(m)] = right;
        if (logits != nullptr) {
            std::copy(z.begin(), z.end(), logits + first * k);
        }
        backward(serial, *acts, dz.data(), partial.data() + m * count_, packed.get());
    });
    if (count == 0) {
        std::fill(grads, grads + count_, 0.0f);
        return {};
    }
    // grads = the micro-batches' gradients added in order, split by parameter ranges.
    pool.run((count_ + kReducePiece - 1) / kReducePiece, [&](int64_t piece) {
        const int64_t begin = piece * kReducePiece;
        const int64_t end = std::min(count_, begin + kReducePiece);
        std::copy(partial.begin() + begin, partial.begin() + end, grads + begin);
        for (int64_t m = 1; m < count; ++m) {
            const float* src = partial.data() + m * count_;
            for (int64_t i = begin; i < end; ++i) {
                grads[i] += src[i];
            }
        }
    });
    BatchLoss result;
    double total = 0.0;
    for (int64_t m = 0; m < count; ++m) {
        total += loss[static_cast<size_t>(m)];
        result.correct += correct[static_cast<size_t>(m)];
    }
    result.loss = batch > 0 ? total / static_cast<double>(batch) : 0.0;
    return result;
}

void ViT::predict(ThreadPool& pool, const uint8_t* images, int64_t batch, float* logits) const {
    const int64_t pixels = config_.in_chans * config_.image_h * config_.image_w;
    const std::unique_ptr<const ViTPackedWeights> packed = pack_weights(false);
    pool.run(micro_batches(batch), [&](int64_t m) {
        const int64_t first = m * kMicroBatch;
        ThreadPool serial(1);
        forward(serial, images + first * pixels, std::min(kMicroBatch, batch - first),
                logits + first * config_.num_classes, thread_activations(), false, packed.get());
    });
}

} // namespace rpb
