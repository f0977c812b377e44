// Training the ViT (math.md section 7) into a run folder that survives interruption.
//
// The run folder holds run.json (what the run is: TrainConfig and data folder), model.safetensors
// (the current model), state.safetensors (the model, the optimiser state and the progress:
// what --resume continues from), steps.csv, metrics.csv, curves.png and curves.svg (the same
// line plots). Every file is written whole or not at all (temporary file + rename), the state
// last, so an interruption at any point (kill -9 included) leaves a state from which the run
// continues to the same bytes.
#pragma once

#include "rpb/dataset.hpp"
#include "rpb/optimizer.hpp"
#include "rpb/thread_pool.hpp"
#include "rpb/vit.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rpb {

struct TrainConfig {
    ViTConfig model;           ///< architecture; mean, std and classes come from the data or --from
    OptimizerConfig optimizer; ///< optimizer.warmup -1: 5% of the steps
    int64_t epochs = 1;
    int64_t steps = -1; ///< -1: epochs x batches per epoch; 0: the initial model only
    int64_t batch_size = 128;
    double label_smoothing = 0.0;
    bool crop = true;        ///< random crop of the image padded by 2 zero pixels
    bool flip = true;        ///< horizontal flip with probability 1/2
    double erase = 0.0;      ///< random erasing probability (torchvision RandomErasing); 0 = off
    bool shuffle = true;     ///< a permutation per epoch from the seed, else file order
    int64_t limit_train = 0; ///< use only the first N training images; 0 = all
    uint64_t seed = 0;
    int64_t eval_batch = 500;
    bool test_each_epoch = true; ///< evaluate the test split after every epoch

    /// Throws rpb::UsageError for impossible values (naming the option).
    void validate() const;
};

/// run.json's object: the TrainConfig (model architecture included), the data folder and the
/// --from model, if any.
std::string train_config_to_json(const TrainConfig& config, const std::string& data_dir,
                                 const std::string& from_model);
/// Parses it back (rpb::Error "<origin>: ..." when malformed).
TrainConfig train_config_from_json(const std::string& json, const std::string& origin,
                                   std::string* data_dir, std::string* from_model);

/// Image k of the epoch's order: the identity without shuffling, else a Fisher-Yates
/// permutation from (seed, epoch) (counter-based, the same on every machine).
std::vector<int64_t> epoch_order(uint64_t seed, int64_t epoch, int64_t count, bool shuffle);

/// The rectangle random erasing sets to 0: rows [y, y + h), columns [x, x + w); h == 0 erases
/// nothing.
struct EraseBox {
    int y = 0;
    int x = 0;
    int h = 0;
    int w = 0;
};

/// What the augmentation does to image `position` of the epoch's order: crop offsets in
/// [0, 4] (of the image padded by 2) and a flip, drawn from (seed, epoch, position), and the
/// box random erasing clears (draw_erasing).
struct Augmentation {
    int dy = 2;
    int dx = 2;
    bool flip = false;
    EraseBox erase;
};
Augmentation draw_augmentation(uint64_t seed, int64_t epoch, int64_t position, bool crop,
                               bool flip);

/// One attempt of torchvision's RandomErasing.get_params (scale (0.02, 0.33), ratio
/// (0.3, 3.3)) for an image (height, width): the box size for the drawn area fraction `scale`
/// and log aspect ratio `log_ratio` (float32, as torch draws them), h = round(sqrt(area *
/// scale * exp(log_ratio))), w = round(sqrt(area * scale / exp(log_ratio))), Python's
/// round-half-to-even; {0, 0} when it does not fit (h >= height or w >= width).
std::pair<int, int> erase_box_size(float scale, float log_ratio, int64_t height, int64_t width);

/// torchvision's RandomErasing(p = probability, scale = (0.02, 0.33), ratio = (0.3, 3.3)) for
/// image `position` of the epoch: with probability p, up to 10 attempts (erase_box_size), the
/// first that fits placed uniformly (top row in [0, height - h], left column in [0, width - w]);
/// no box when p fails or no attempt fits. Draws from (seed, epoch, position) on a stream of
/// its own, so turning erasing on leaves the crops and flips of a run unchanged.
EraseBox draw_erasing(uint64_t seed, int64_t epoch, int64_t position, double probability,
                      int64_t height, int64_t width);

/// dst (h, w) = src (h, w) padded by 2 zero pixels, cropped at (a.dy, a.dx), then flipped,
/// then a.erase set to 0: RandomErasing(value=0) before Normalize, so the box becomes the
/// black background of Fashion-MNIST and MNIST.
void augment_image(const uint8_t* src, uint8_t* dst, int64_t height, int64_t width,
                   const Augmentation& a);

/// Per-channel mean and population std of pixel / 255 over a set (double, then float).
void pixel_statistics(const ImageSet& set, float* mean, float* std);

struct StepReport {
    int64_t step = 0; ///< updates done, 1-based
    int64_t total = 0;
    int64_t epoch = 0; ///< 1-based
    double loss = 0.0;
    double lr = 0.0;
    double images_per_second = 0.0; ///< over this session's steps
    double eta_seconds = 0.0;
};

struct EpochReport {
    int64_t epoch = 0; ///< 1-based; the last may be partial when --steps ends mid-epoch
    int64_t step = 0;
    double train_loss = 0.0;
    double train_accuracy = 0.0;
    double test_loss = 0.0;
    double test_accuracy = 0.0;
    double seconds = 0.0; ///< training time so far, all sessions of the run
};

struct TrainHooks {
    std::function<void(const StepReport&)> on_step;
    std::function<void(const EpochReport&)> on_epoch;
    /// Checked after every step: when set, the state is saved and train_run returns.
    const std::atomic<bool>* stop = nullptr;
};

struct TrainOutcome {
    bool interrupted = false;
    int64_t steps_done = 0;
    int64_t total_steps = 0;
    std::optional<EpochReport> last_epoch;
};

/// Trains from scratch (run_dir must not exist or be empty) or, with `resume`, continues the
/// run in run_dir from its last state (its run.json's config is used; `config` is ignored).
/// `from_model` (fresh runs only) starts from a model file's weights and normalisation.
/// Throws rpb::UsageError for an existing run without resume or a missing run with it,
/// rpb::Error for data, model and I/O errors, and when the loss becomes NaN or infinite
/// ("loss is nan at step N"; the last saved state is kept).
TrainOutcome train_run(const TrainConfig& config, const std::string& data_dir,
                       const std::string& run_dir, bool resume, const std::string& from_model,
                       ThreadPool& pool, const TrainHooks& hooks);

} // namespace rpb
