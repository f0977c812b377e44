// The training loop and its run folder (train.hpp).
#include "rpb/train.hpp"

#include "rpb/error.hpp"
#include "rpb/evaluate.hpp"
#include "rpb/line_plot.hpp"
#include "rpb/nn.hpp"
#include "rpb/output_file.hpp"
#include "rpb/png.hpp"
#include "rpb/safetensors.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace rpb {

namespace {

namespace fs = std::filesystem;

void write_whole(const fs::path& path, std::string_view bytes) {
    OutputFile out(path.string());
    out.write(bytes);
    out.commit();
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(fmt::format("{}: cannot read the file", path.string()));
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// CSV lines after the header whose first field (the step) is at most `max_step`: the rows of
// a log written after the last saved state are dropped on resume.
std::vector<std::string> csv_rows_up_to(const fs::path& path, int64_t max_step, size_t column) {
    std::vector<std::string> rows;
    std::ifstream in(path);
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        if (header) {
            header = false;
            continue;
        }
        std::stringstream fields(line);
        std::string field;
        for (size_t k = 0; k <= column && std::getline(fields, field, ','); ++k) {
        }
        try {
            if (std::stoll(field) <= max_step) {
                rows.push_back(line);
            }
        } catch (const std::exception&) {
            // a damaged line: leave it out
        }
    }
    return rows;
}

std::string join_csv(const char* header, const std::vector<std::string>& rows) {
    std::string out = header;
    out += '\n';
    for (const std::string& r : rows) {
        out += r;
        out += '\n';
    }
    return out;
}

constexpr const char* kStepsHeader = "step,epoch,lr,loss,accuracy,grad_norm";
constexpr const char* kMetricsHeader =
    "epoch,step,train_loss,train_accuracy,test_loss,test_accuracy,seconds";

// What a state file records besides tensors.
struct Progress {
    int64_t step = 0; // updates done
    double epoch_loss_sum = 0.0;
    int64_t epoch_correct = 0;
    int64_t epoch_images = 0;
    int64_t epoch_steps = 0;
    double seconds = 0.0;
};

struct RunFiles {
    fs::path dir;
    fs::path run() const { return dir / "run.json"; }
    fs::path model() const { return dir / "model.safetensors"; }
    fs::path state() const { return dir / "state.safetensors"; }
    fs::path steps() const { return dir / "steps.csv"; }
    fs::path metrics() const { return dir / "metrics.csv"; }
    fs::path curves() const { return dir / "curves.png"; }
    fs::path curves_svg() const { return dir / "curves.svg"; }
};

std::string state_bytes(const ViT& model, Optimizer& optimizer, const TrainConfig& config,
                        const Progress& p) {
    std::vector<std::pair<std::string, FloatTensor>> tensors;
    for (const ParamInfo& info : model.layout()) {
        const float* src = model.parameters().data() + info.offset;
        tensors.emplace_back(info.name,
                             FloatTensor(info.shape, std::vector<float>(src, src + info.size)));
    }
    for (const auto& [name, buffer] : optimizer.state()) {
        tensors.emplace_back(name, FloatTensor({static_cast<int64_t>(buffer->size())}, *buffer));
    }
    nlohmann::ordered_json progress;
    progress["step"] = p.step;
    progress["epoch_loss_sum"] = p.epoch_loss_sum;
    progress["epoch_correct"] = p.epoch_correct;
    progress["epoch_images"] = p.epoch_images;
    progress["epoch_steps"] = p.epoch_steps;
    progress["seconds"] = p.seconds;
    return safetensors_bytes(tensors, {{"format", "pt"},
                                       {"rpbtool.config", config_to_json(model.config())},
                                       {"rpbtool.train", train_config_to_json(config, "", "")},
                                       {"rpbtool.progress", progress.dump()}});
}

// Restores model, optimiser and progress from a state file.
Progress load_state(const fs::path& path, ViT& model, Optimizer& optimizer) {
    SafetensorsMetadata metadata;
    const TensorMap file = read_safetensors(path.string(), metadata);
    const auto config = metadata.find("rpbtool.config");
    const auto progress = metadata.find("rpbtool.progress");
    if (config == metadata.end() || progress == metadata.end()) {
        throw Error(fmt::format("{}: not an rpbtool training state", path.string()));
    }
    std::map<std::string, FloatTensor> params;
    for (const auto& [name, array] : file) {
        FloatTensor t = to_float32(array, fmt::format("{}: tensor '{}'", path.string(), name));
        if (name.starts_with("optimizer.")) {
            bool found = false;
            for (auto& [state_name, buffer] : optimizer.state()) {
                if (state_name == name) {
                    if (t.size() != static_cast<int64_t>(buffer->size())) {
                        throw Error(fmt::format("{}: '{}' has {} values, the model {}",
                                                path.string(), name, t.size(), buffer->size()));
                    }
                    std::copy(t.data(), t.data() + t.size(), buffer->begin());
                    found = true;
                }
            }
            if (!found) {
                throw Error(fmt::format("{}: '{}' does not belong to the run's optimiser",
                                        path.string(), name));
            }
            continue;
        }
        params.emplace(name, std::move(t));
    }
    ViT restored = model_from_tensors(params, config->second, path.string());
    if (config_to_json(restored.config()) != config_to_json(model.config())) {
        throw Error(fmt::format("{}: the state's model differs from the run's", path.string()));
    }
    model.parameters() = restored.parameters();
    Progress p;
    try {
        const nlohmann::json j = nlohmann::json::parse(progress->second);
        p.step = j.at("step").get<int64_t>();
        p.epoch_loss_sum = j.at("epoch_loss_sum").get<double>();
        p.epoch_correct = j.at("epoch_correct").get<int64_t>();
        p.epoch_images = j.at("epoch_images").get<int64_t>();
        p.epoch_steps = j.at("epoch_steps").get<int64_t>();
        p.seconds = j.at("seconds").get<double>();
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("{}: malformed rpbtool.progress", path.string()));
    }
    return p;
}

std::string csv_number(double v) {
    return fmt::format("{:.9g}", v);
}

Figure curves_figure(const std::vector<EpochReport>& epochs) {
    LinePlot loss{"loss", "epoch", "cross-entropy", {}};
    LinePlot accuracy{"accuracy", "epoch", "accuracy", {}};
    LineSeries train_loss{"train", {}}, test_loss{"test", {}};
    LineSeries train_acc{"train", {}}, test_acc{"test", {}};
    for (const EpochReport& e : epochs) {
        const auto x = static_cast<double>(e.epoch);
        train_loss.points.push_back({x, e.train_loss});
        test_loss.points.push_back({x, e.test_loss});
        train_acc.points.push_back({x, e.train_accuracy});
        test_acc.points.push_back({x, e.test_accuracy});
    }
    loss.series = {train_loss, test_loss};
    accuracy.series = {train_acc, test_acc};
    return line_plots_figure({"training curves", {loss, accuracy}, 0});
}

std::vector<EpochReport> parse_metrics(const std::vector<std::string>& rows) {
    std::vector<EpochReport> out;
    for (const std::string& row : rows) {
        std::stringstream s(row);
        std::string f;
        std::vector<double> v;
        while (std::getline(s, f, ',')) {
            try {
                v.push_back(std::stod(f));
            } catch (const std::exception&) {
                v.push_back(NAN);
            }
        }
        if (v.size() >= 7) {
            out.push_back(EpochReport{static_cast<int64_t>(v[0]), static_cast<int64_t>(v[1]), v[2],
                                      v[3], v[4], v[5], v[6]});
        }
    }
    return out;
}

} // namespace

TrainOutcome train_run(const TrainConfig& given, const std::string& given_data,
                       const std::string& run_dir, bool resume, const std::string& given_from,
                       ThreadPool& pool, const TrainHooks& hooks) {
    const RunFiles files{fs::path(run_dir)};
    TrainConfig config = given;
    std::string data_dir = given_data;
    std::string from_model = given_from;
    std::error_code ec;
    if (resume) {
        if (!fs::exists(files.run(), ec)) {
            throw UsageError(fmt::format("-o {}: no run to resume there (no run.json); start it "
                                         "without --resume",
                                         run_dir));
        }
        config = train_config_from_json(read_text(files.run()), files.run().string(), &data_dir,
                                        &from_model);
    } else {
        if (fs::exists(run_dir, ec) &&
            !(fs::is_directory(run_dir, ec) && fs::is_empty(run_dir, ec))) {
            throw UsageError(fmt::format("-o {}: the run folder exists; continue it with --resume "
                                         "or choose another folder",
                                         run_dir));
        }
    }

    if (!resume) {
        // Usage errors before the data is read; the patch is checked against the image size
        // once that is known.
        TrainConfig early = config;
        early.model.image_h = early.model.image_w = early.model.patch * 7;
        early.optimizer.warmup = std::max<int64_t>(0, early.optimizer.warmup); // -1: 5%
        early.validate();
    }
    ImageSet train_set =
        load_image_set(data_dir, Split::train, static_cast<int>(config.model.num_classes));
    const ImageSet test_set =
        load_image_set(data_dir, Split::test, static_cast<int>(config.model.num_classes));
    if (config.limit_train > 0 && config.limit_train < train_set.count) {
        train_set.count = config.limit_train;
        train_set.pixels.resize(
            static_cast<size_t>(train_set.count * train_set.height * train_set.width));
        train_set.labels.resize(static_cast<size_t>(train_set.count));
    }

    // The model: from a file (its architecture and normalisation), or fresh with the data's
    // size and statistics.
    std::optional<ViT> start;
    if (!resume) {
        if (!from_model.empty()) {
            start.emplace(load_model(from_model));
            const ViTConfig& f = start->config();
            ViTConfig want = config.model;
            want.image_h = f.image_h;
            want.image_w = f.image_w;
            want.mean = f.mean;
            want.std = f.std;
            want.classes = f.classes;
            if (config_to_json(want) != config_to_json(f)) {
                throw UsageError(fmt::format("--from {}: its architecture ({}) differs from the "
                                             "options given",
                                             from_model, config_to_json(f)));
            }
            config.model = f;
        } else {
            config.model.image_h = train_set.height;
            config.model.image_w = train_set.width;

            config.model.in_chans = 1;
            config.model.mean.assign(1, 0.0f);
            config.model.std.assign(1, 1.0f);
            pixel_statistics(train_set, config.model.mean.data(), config.model.std.data());
            config.model.classes =
                default_class_names(data_dir, static_cast<int>(config.model.num_classes));
        }
    }
    if (!resume) {
        TrainConfig check = config;
        check.optimizer.warmup = std::max<int64_t>(0, check.optimizer.warmup);
        check.validate();
    }
    ViT model = start ? std::move(*start) : ViT(config.model);
    if (model.config().image_h != train_set.height || model.config().image_w != train_set.width ||
        test_set.height != train_set.height || test_set.width != train_set.width) {
        throw Error(fmt::format("{}: the images are {}x{} (test {}x{}), the model takes {}x{}",
                                data_dir, train_set.height, train_set.width, test_set.height,
                                test_set.width, model.config().image_h, model.config().image_w));
    }
    const int64_t batch = config.batch_size;
    const int64_t per_epoch = train_set.count / batch;
    if (per_epoch == 0) {
        throw UsageError(fmt::format("--batch-size {} is larger than the {} training images", batch,
                                     train_set.count));
    }
    const int64_t total = config.steps >= 0 ? config.steps : config.epochs * per_epoch;
    if (config.optimizer.warmup < 0) {
        config.optimizer.warmup = total / 20; // the default: 5% of the steps
    }
    Optimizer optimizer(config.optimizer, model.layout(), model.parameter_count());

    Progress progress;
    std::vector<std::string> step_rows;
    std::vector<std::string> metric_rows;
    if (resume && fs::exists(files.state(), ec)) {
        progress = load_state(files.state(), model, optimizer);
        step_rows = csv_rows_up_to(files.steps(), progress.step, 0);
        metric_rows = csv_rows_up_to(files.metrics(), progress.step, 1);
    } else if (!resume || !fs::exists(files.state(), ec)) {
        if (!start && !resume) {
            model.initialize(config.seed);
        } else if (resume) {
            // A run that stopped before its first save starts again from its beginning.
            if (!from_model.empty()) {
                model = load_model(from_model);
            } else {
                model.initialize(config.seed);
            }
        }
        fs::create_directories(run_dir, ec);
        if (ec) {
            throw Error(
                fmt::format("-o {}: cannot create the run folder: {}", run_dir, ec.message()));
        }
        write_whole(files.run(), train_config_to_json(config, data_dir, from_model));
    }

    auto save = [&]() {
        write_whole(files.steps(), join_csv(kStepsHeader, step_rows));
        write_whole(files.metrics(), join_csv(kMetricsHeader, metric_rows));
        const Figure curves = curves_figure(parse_metrics(metric_rows));
        write_whole(files.curves(), encode_png(rasterize(curves)));
        write_whole(files.curves_svg(), write_svg(curves));
        write_whole(files.model(), model_file_bytes(model));
        write_whole(files.state(), state_bytes(model, optimizer, config, progress)); // last
    };

    TrainOutcome outcome;
    outcome.total_steps = total;
    const auto session_start = std::chrono::steady_clock::now();
    const double seconds_before = progress.seconds;
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - session_start)
            .count();
    };
    if (total == 0 || progress.step >= total) {
        save();
        outcome.steps_done = progress.step;
        return outcome;
    }

    const ViTConfig& mc = model.config();
    const int64_t pixels = mc.image_h * mc.image_w;
    std::vector<uint8_t> images(static_cast<size_t>(batch * pixels));
    std::vector<int32_t> labels(static_cast<size_t>(batch));
    std::vector<float> grads(static_cast<size_t>(model.parameter_count()));
    std::vector<int64_t> order;
    int64_t order_epoch = -1;
    const int64_t first_step = progress.step;

    while (progress.step < total) {
        const int64_t s = progress.step;
        const int64_t epoch = s / per_epoch;
        const int64_t within = s % per_epoch;
        if (epoch != order_epoch) {
            order = epoch_order(config.seed, epoch, train_set.count, config.shuffle);
            order_epoch = epoch;
        }
        pool.run(batch, [&](int64_t i) {
            const int64_t position = within * batch + i;
            const int64_t image = order[static_cast<size_t>(position)];
            Augmentation a =
                draw_augmentation(config.seed, epoch, position, config.crop, config.flip);
            if (config.erase > 0.0) {
                a.erase = draw_erasing(config.seed, epoch, position, config.erase, mc.image_h,
                                       mc.image_w);
            }
            augment_image(train_set.pixels.data() + image * pixels, images.data() + i * pixels,
                          mc.image_h, mc.image_w, a);
            labels[static_cast<size_t>(i)] = train_set.labels[static_cast<size_t>(image)];
        });
        const ViT::BatchLoss measured =
            model.loss_and_gradients(pool, images.data(), labels.data(), batch,
                                     static_cast<float>(config.label_smoothing), grads.data());
        const double loss = measured.loss;
        if (!std::isfinite(loss)) {
            throw Error(fmt::format("loss is {} at step {} (epoch {}); the run's last saved state "
                                    "(step {}) is kept in {}",
                                    std::isnan(loss) ? "nan" : "infinite", s + 1, epoch + 1,
                                    first_step, run_dir));
        }
        const int64_t correct = measured.correct;
        const double norm = config.optimizer.clip_grad > 0.0
                                ? clip_gradients(pool, grads, config.optimizer.clip_grad)
                                : gradient_norm(pool, grads);
        const double lr = learning_rate(config.optimizer, s, total);
        optimizer.update(pool, model.parameters(), grads, lr, s + 1);
        progress.step = s + 1;
        progress.epoch_loss_sum += loss;
        progress.epoch_correct += correct;
        progress.epoch_images += batch;
        progress.epoch_steps += 1;
        step_rows.push_back(
            fmt::format("{},{},{},{},{},{}", s + 1, epoch + 1, csv_number(lr), csv_number(loss),
                        csv_number(static_cast<double>(correct) / static_cast<double>(batch)),
                        csv_number(norm)));
        if (hooks.on_step) {
            const double t = elapsed();
            const double rate = static_cast<double>((progress.step - first_step) * batch) / t;
            hooks.on_step(StepReport{progress.step, total, epoch + 1, loss, lr, rate,
                                     static_cast<double>((total - progress.step) * batch) / rate});
        }
        const bool epoch_end = within == per_epoch - 1 || progress.step == total;
        if (epoch_end) {
            EvalResult test;
            if (config.test_each_epoch) {
                test = evaluate(pool, model, test_set, config.eval_batch);
            }
            EpochReport r;
            r.epoch = epoch + 1;
            r.step = progress.step;
            r.train_loss = progress.epoch_loss_sum / static_cast<double>(progress.epoch_steps);
            r.train_accuracy = static_cast<double>(progress.epoch_correct) /
                               static_cast<double>(progress.epoch_images);
            r.test_loss = config.test_each_epoch ? test.loss : NAN;
            r.test_accuracy = config.test_each_epoch ? test.accuracy() : NAN;
            progress.seconds = seconds_before + elapsed();
            r.seconds = progress.seconds;
            metric_rows.push_back(
                fmt::format("{},{},{},{},{},{},{}", r.epoch, r.step, csv_number(r.train_loss),
                            csv_number(r.train_accuracy), csv_number(r.test_loss),
                            csv_number(r.test_accuracy), fmt::format("{:.1f}", r.seconds)));
            progress.epoch_loss_sum = 0.0;
            progress.epoch_correct = 0;
            progress.epoch_images = 0;
            progress.epoch_steps = 0;
            save();
            outcome.last_epoch = r;
            if (hooks.on_epoch) {
                hooks.on_epoch(r);
            }
        }
        if (hooks.stop != nullptr && hooks.stop->load() && progress.step < total) {
            progress.seconds = seconds_before + elapsed();
            if (!epoch_end) {
                save();
            }
            outcome.interrupted = true;
            break;
        }
    }
    outcome.steps_done = progress.step;
    return outcome;
}

} // namespace rpb
