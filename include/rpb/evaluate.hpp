// Evaluation of a ViT on an image set: accuracy, loss, per-class accuracy, confusion matrix.
#pragma once

#include "rpb/dataset.hpp"
#include "rpb/thread_pool.hpp"
#include "rpb/vit.hpp"

#include <cstdint>
#include <vector>

namespace rpb {

struct EvalResult {
    int64_t images = 0;
    int64_t correct = 0;
    double loss = 0.0; ///< mean cross-entropy (no label smoothing)
    /// confusion[true][predicted] counts.
    std::vector<std::vector<int64_t>> confusion;

    double accuracy() const {
        return images > 0 ? static_cast<double>(correct) / static_cast<double>(images) : 0.0;
    }
    /// Accuracy of each true class (0 for a class with no image).
    std::vector<double> per_class() const;
};

/// Runs the model over `set` in batches of `batch` images (the prediction is the first
/// largest logit). When `logits` is not null it receives (N, K) logits in the set's order.
/// The result does not depend on the batch size or threads beyond float rounding of the sums;
/// it is the same bytes for the same batch size whatever the threads.
/// Throws rpb::Error when the images do not have the model's size or a label is past its
/// classes.
EvalResult evaluate(ThreadPool& pool, const ViT& model, const ImageSet& set, int64_t batch,
                    std::vector<float>* logits = nullptr);

} // namespace rpb
