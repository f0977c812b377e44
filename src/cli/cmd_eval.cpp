// rpbtool eval: accuracy, loss, per-class accuracy and the confusion matrix of a model file
// on a split, the logits as NPY, the confusion matrix as a picture.
#include "cli_common.hpp"
#include "commands.hpp"
#include "rpb/error.hpp"
#include "rpb/evaluate.hpp"
#include "rpb/heatmap.hpp"
#include "rpb/npy.hpp"
#include "rpb/png.hpp"

#include <fmt/format.h>

namespace rpb::cli {

namespace {

struct EvalOptions {
    std::string model;
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string split = "test";
    std::string logits;
    std::string confusion;
    OutputOptions output;
    int threads = 0;
    int64_t batch = 500;
};

std::string class_name(const ViTConfig& c, size_t k) {
    return k < c.classes.size() ? c.classes[k] : std::to_string(k);
}

std::string text_report(const EvalOptions& o, const ViTConfig& c, const EvalResult& r) {
    std::string t = fmt::format("{} on the {} split of {} ({} images): accuracy {:.2f}%, loss "
                                "{:.4f}\n\n",
                                o.model, o.split, o.data, r.images, 100 * r.accuracy(), r.loss);
    size_t width = 5;
    for (size_t k = 0; k < r.confusion.size(); ++k) {
        width = std::max(width, class_name(c, k).size());
    }
    t += fmt::format("{:<{}}  {:>7}  {:>8}\n", "class", width, "images", "accuracy");
    const std::vector<double> per_class = r.per_class();
    for (size_t k = 0; k < r.confusion.size(); ++k) {
        int64_t n = 0;
        for (int64_t v : r.confusion[k]) {
            n += v;
        }
        t += fmt::format("{:<{}}  {:>7}  {:>7.2f}%\n", class_name(c, k), width, n,
                         100 * per_class[k]);
    }
    t += "\nconfusion matrix (row: true class, column: predicted class)\n";
    t += fmt::format("{:>4}", "");
    for (size_t k = 0; k < r.confusion.size(); ++k) {
        t += fmt::format(" {:>5}", k);
    }
    t += '\n';
    for (size_t k = 0; k < r.confusion.size(); ++k) {
        t += fmt::format("{:>4}", k);
        for (int64_t v : r.confusion[k]) {
            t += fmt::format(" {:>5}", v);
        }
        t += fmt::format("  {}\n", class_name(c, k));
    }
    return t;
}

std::string json_report(const EvalOptions& o, const ViTConfig& c, const EvalResult& r) {
    nlohmann::ordered_json j;
    j["command"] = "eval";
    j["model"] = o.model;
    j["split"] = o.split;
    j["images"] = r.images;
    j["accuracy"] = r.accuracy();
    j["loss"] = r.loss;
    nlohmann::json per = nlohmann::json::array();
    const std::vector<double> acc = r.per_class();
    for (size_t k = 0; k < r.confusion.size(); ++k) {
        int64_t n = 0;
        for (int64_t v : r.confusion[k]) {
            n += v;
        }
        per.push_back({{"class", class_name(c, k)},
                       {"images", n},
                       {"correct", r.confusion[k][k]},
                       {"accuracy", acc[k]}});
    }
    j["per_class"] = per;
    j["confusion"] = r.confusion;
    return j.dump() + "\n";
}

void run_eval(const EvalOptions& o) {
    if (o.model.empty()) {
        throw UsageError("--model is required: the model file to evaluate (e.g. "
                         "runs/vit-rpb-2d/model.safetensors)");
    }
    if (o.split != "test" && o.split != "train") {
        throw UsageError(
            fmt::format("--split: '{}' is not a split (accepted: test, train)", o.split));
    }
    if (o.batch < 1 || o.batch > 65536) {
        throw UsageError(fmt::format("--batch-size must be from 1 to 65536, not {}", o.batch));
    }
    if (o.threads < 0) {
        throw UsageError(fmt::format("--threads must be >= 0, not {}", o.threads));
    }
    const OutputFormat format = resolve_format(o.output);
    if (format != OutputFormat::text && format != OutputFormat::json) {
        throw UsageError("eval writes text or json (the logits go to --logits FILE.npy)");
    }
    const ViT model = load_model(o.model);
    const ImageSet set = load_image_set(o.data, o.split == "test" ? Split::test : Split::train,
                                        static_cast<int>(model.config().num_classes));
    ThreadPool pool(o.threads);
    std::vector<float> logits;
    const EvalResult result =
        evaluate(pool, model, set, o.batch, o.logits.empty() ? nullptr : &logits);
    // Every file is prepared before any is committed: an error leaves none behind.
    std::unique_ptr<OutputFile> logits_out;
    if (!o.logits.empty()) {
        OutputOptions lo{o.logits, "npy", o.output.force};
        logits_out = open_output(lo, true);
        logits_out->write(npy_bytes(FloatTensor({set.count, model.config().num_classes}, logits)));
    }
    std::unique_ptr<OutputFile> picture;
    if (!o.confusion.empty()) {
        const auto k = static_cast<int64_t>(result.confusion.size());
        FloatTensor fraction({k, k});
        for (int64_t t = 0; t < k; ++t) {
            int64_t n = 0;
            for (int64_t v : result.confusion[static_cast<size_t>(t)]) {
                n += v;
            }
            for (int64_t p = 0; p < k; ++p) {
                fraction.at(t, p) =
                    n > 0 ? static_cast<float>(
                                static_cast<double>(result.confusion[static_cast<size_t>(t)]
                                                                    [static_cast<size_t>(p)]) /
                                static_cast<double>(n))
                          : 0.0f;
            }
        }
        HeatmapSpec spec;
        spec.title = fmt::format("confusion matrix: {} on {} ({} images, accuracy {:.2f}%)",
                                 o.model, o.split, result.images, 100 * result.accuracy());
        spec.panels.push_back({"fraction of each true class", fraction});
        spec.x_label = "predicted class";
        spec.y_label = "true class";
        spec.value_label = "fraction";
        spec.scale = ValueScale::linear;
        OutputOptions po{o.confusion, "", o.output.force};
        picture = open_output(po, true);
        // .svg: the same layout as vector graphics; anything else a PNG.
        const Figure figure = heatmap_figure(spec);
        const bool svg =
            o.confusion.size() >= 4 && o.confusion.compare(o.confusion.size() - 4, 4, ".svg") == 0;
        picture->write(svg ? write_svg(figure) : encode_png(rasterize(figure)));
    }
    auto out = open_output(o.output, false);
    out->write(format == OutputFormat::json ? json_report(o, model.config(), result)
                                            : text_report(o, model.config(), result));
    if (logits_out) {
        logits_out->commit();
    }
    if (picture) {
        picture->commit();
    }
    out->commit();
}

} // namespace

Runner setup_eval(CLI::App& app) {
    auto o = std::make_shared<EvalOptions>();
    CLI::App* c = app.add_subcommand(
        "eval", "Accuracy, loss, confusion matrix and logits of a trained model");
    c->configurable();
    c->add_option("--model", o->model, "Model file (rpbtool train's model.safetensors)");
    c->add_option("--data", o->data, "Folder with the four IDX files")->capture_default_str();
    c->add_option("--split", o->split, "test or train")->capture_default_str();
    c->add_option("--logits", o->logits, "Also write the (N, K) float32 logits as NPY");
    c->add_option("--confusion", o->confusion,
                  "Also draw the confusion matrix (SVG for a .svg FILE, else PNG)");
    c->add_option("--threads", o->threads, "Threads (0 = all cores)");
    c->add_option("--batch-size", o->batch, "Images per batch")->capture_default_str();
    add_output_options(*c, o->output);
    return [o]() { run_eval(*o); };
}

} // namespace rpb::cli
