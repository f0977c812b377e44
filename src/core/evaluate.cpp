#include "rpb/evaluate.hpp"

#include "rpb/error.hpp"
#include "rpb/nn.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace rpb {

std::vector<double> EvalResult::per_class() const {
    std::vector<double> out;
    for (size_t k = 0; k < confusion.size(); ++k) {
        int64_t total = 0;
        for (int64_t v : confusion[k]) {
            total += v;
        }
        out.push_back(total > 0 ? static_cast<double>(confusion[k][k]) / static_cast<double>(total)
                                : 0.0);
    }
    return out;
}

EvalResult evaluate(ThreadPool& pool, const ViT& model, const ImageSet& set, int64_t batch,
                    std::vector<float>* logits) {
    const ViTConfig& c = model.config();
    if (c.in_chans != 1 || set.height != c.image_h || set.width != c.image_w) {
        throw Error(fmt::format("the images are {}x{}, the model takes {}x{}x{}", set.height,
                                set.width, c.in_chans, c.image_h, c.image_w));
    }
    const int64_t k = c.num_classes;
    nn::check_labels(set.labels.data(), set.count, k);
    EvalResult result;
    result.images = set.count;
    result.confusion.assign(static_cast<size_t>(k), std::vector<int64_t>(static_cast<size_t>(k)));
    if (logits != nullptr) {
        logits->assign(static_cast<size_t>(set.count * k), 0.0f);
    }
    const int64_t pixels = set.height * set.width;
    std::vector<float> out(static_cast<size_t>(batch * k));
    std::vector<float> row_loss(static_cast<size_t>(batch));
    double loss_sum = 0.0;
    for (int64_t first = 0; first < set.count; first += batch) {
        const int64_t n = std::min(batch, set.count - first);
        model.predict(pool, set.pixels.data() + first * pixels, n, out.data());
        const int32_t* labels = set.labels.data() + first;
        nn::cross_entropy_forward_backward(out.data(), labels, n, k, 0.0f, nullptr,
                                           row_loss.data());
        for (int64_t i = 0; i < n; ++i) {
            const int64_t predicted = nn::predicted_class(out.data() + i * k, k);
            result.confusion[static_cast<size_t>(labels[i])][static_cast<size_t>(predicted)] += 1;
            result.correct += predicted == labels[i] ? 1 : 0;
            loss_sum += static_cast<double>(row_loss[static_cast<size_t>(i)]);
        }
        if (logits != nullptr) {
            std::copy(out.begin(), out.begin() + n * k, logits->begin() + first * k);
        }
    }
    result.loss = set.count > 0 ? loss_sum / static_cast<double>(set.count) : 0.0;
    return result;
}

} // namespace rpb
