// Training against PyTorch's own runs (tests/golden/vit/README.md section 3): the loss of every
// step, the final model and its test metrics; the data pipeline; resuming to the same bytes.
#include "rpb/error.hpp"
#include "rpb/evaluate.hpp"
#include "rpb/npy.hpp"
#include "rpb/safetensors.hpp"
#include "rpb/train.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

using namespace rpb;
namespace fs = std::filesystem;

namespace {

const std::string golden = std::string(RPB_TEST_DATA_DIR) + "/golden/vit/";

struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name)
        : path(fs::temp_directory_path() /
               ("rpb_test_" + name + "_" + std::to_string(::getpid()))) {
        fs::remove_all(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// The small golden model's architecture, as the README's command lines give it.
TrainConfig golden_config(OptimizerKind kind) {
    TrainConfig c;
    c.model.patch = 4;
    c.model.embed_dim = 16;
    c.model.depth = 2;
    c.model.heads = 2;
    c.model.mlp_dim = 32;
    c.batch_size = 16;
    c.epochs = 2;
    c.shuffle = false;
    c.crop = c.flip = false;
    c.optimizer.kind = kind;
    c.optimizer.min_lr = 1e-5;
    if (kind == OptimizerKind::adamw) {
        c.optimizer.lr = 2e-3;
        c.optimizer.warmup = 3;
        c.optimizer.weight_decay = 0.05;
        c.label_smoothing = 0.1;
        c.optimizer.clip_grad = 1.0;
    } else {
        c.optimizer.lr = 0.05;
        c.optimizer.warmup = 0;
        c.optimizer.weight_decay = 1e-4;
        c.optimizer.momentum = 0.9;
    }
    return c;
}

std::vector<double> csv_column(const fs::path& path, size_t column) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    std::vector<double> out;
    while (std::getline(in, line)) {
        std::stringstream s(line);
        std::string f;
        for (size_t k = 0; k <= column; ++k) {
            std::getline(s, f, ',');
        }
        out.push_back(std::stod(f));
    }
    return out;
}

std::string file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("rpb::train_run follows PyTorch's runs step by step (AdamW and SGD)") {
    for (const auto& [kind, folder] : {std::pair{OptimizerKind::adamw, "train_adamw"},
                                       std::pair{OptimizerKind::sgd, "train_sgd"}}) {
        CAPTURE(folder);
        TempDir run(folder);
        ThreadPool pool(2);
        const TrainOutcome outcome =
            train_run(golden_config(kind), golden + "data", run.path.string(), false,
                      golden + "train_init.safetensors", pool, {});
        CHECK(outcome.steps_done == 12);
        const FloatTensor losses = to_float32(read_npy(golden + folder + "/losses.npy"), "losses");
        const FloatTensor lrs = to_float32(read_npy(golden + folder + "/lrs.npy"), "lrs");
        const std::vector<double> got_loss = csv_column(run.path / "steps.csv", 3);
        const std::vector<double> got_lr = csv_column(run.path / "steps.csv", 2);
        REQUIRE(got_loss.size() == 12);
        for (size_t s = 0; s < 12; ++s) {
            CAPTURE(s);
            CHECK(std::abs(got_loss[s] - losses[static_cast<int64_t>(s)]) < 1e-5);
            CHECK(got_lr[s] == doctest::Approx(lrs[static_cast<int64_t>(s)]).epsilon(1e-6));
        }
        // The final model, tensor by tensor (the key slice of qkv.bias is AdamW's amplified
        // rounding noise on a zero gradient: compared absolutely).
        const ViT got = load_model((run.path / "model.safetensors").string());
        const ViT want = load_model(golden + folder + "/final.safetensors");
        for (const ParamInfo& p : got.layout()) {
            CAPTURE(p.name);
            const float* a = got.parameters().data() + p.offset;
            const float* b = want.parameters().data() + p.offset;
            double diff = 0.0, scale = 0.0;
            const int64_t e = got.config().embed_dim;
            for (int64_t i = 0; i < p.size; ++i) {
                if (p.name.ends_with("qkv.bias") && i >= e && i < 2 * e) {
                    CHECK(std::abs(a[i] - b[i]) < 1e-4);
                    continue;
                }
                diff = std::max(diff, static_cast<double>(std::abs(a[i] - b[i])));
                scale = std::max(scale, static_cast<double>(std::abs(b[i])));
            }
            CHECK(diff <= 1e-4 * scale);
        }
        // Its test metrics, as `rpbtool eval` computes them.
        std::ifstream mj(golden + folder + "/metrics.json");
        const nlohmann::json metrics = nlohmann::json::parse(mj);
        const ImageSet test = load_image_set(golden + "data", Split::test);
        std::vector<float> logits;
        const EvalResult r = evaluate(pool, got, test, 500, &logits);
        CHECK(r.accuracy() == doctest::Approx(metrics["test_accuracy"].get<double>()));
        CHECK(std::abs(r.loss - metrics["test_loss"].get<double>()) < 1e-5);
        const FloatTensor want_logits =
            to_float32(read_npy(golden + folder + "/test_logits.npy"), "logits");
        double worst = 0.0;
        for (int64_t i = 0; i < want_logits.size(); ++i) {
            worst = std::max(worst, static_cast<double>(std::abs(logits[i] - want_logits[i])));
        }
        CHECK(worst < 1e-4);
        const std::vector<double> test_acc = csv_column(run.path / "metrics.csv", 5);
        REQUIRE(test_acc.size() == 2);
        CHECK(test_acc[1] == doctest::Approx(r.accuracy()));
    }
}

TEST_CASE("rpb::train_run gives the same bytes for any thread count and after a resume") {
    TrainConfig c = golden_config(OptimizerKind::adamw);
    c.shuffle = true;
    c.crop = c.flip = true;
    c.epochs = 3;
    c.seed = 11;
    TempDir a("threads1"), b("threads3"), r("resumed");
    {
        ThreadPool pool(1);
        train_run(c, golden + "data", a.path.string(), false, "", pool, {});
    }
    {
        ThreadPool pool(3);
        train_run(c, golden + "data", b.path.string(), false, "", pool, {});
    }
    CHECK(file_bytes(a.path / "model.safetensors") == file_bytes(b.path / "model.safetensors"));
    CHECK(file_bytes(a.path / "steps.csv") == file_bytes(b.path / "steps.csv"));

    // Stopped after its 4th step (mid-epoch), then resumed: the same model at the end.
    std::atomic<bool> stop{false};
    TrainHooks hooks;
    hooks.stop = &stop;
    hooks.on_step = [&](const StepReport& s) { stop = s.step == 4; };
    ThreadPool pool(2);
    const TrainOutcome first =
        train_run(c, golden + "data", r.path.string(), false, "", pool, hooks);
    CHECK(first.interrupted);
    CHECK(first.steps_done == 4);
    CHECK(csv_column(r.path / "steps.csv", 0).size() == 4);
    CHECK_THROWS_AS(train_run(c, golden + "data", r.path.string(), false, "", pool, {}),
                    UsageError); // an existing run is never overwritten
    const TrainOutcome rest = train_run(c, "", r.path.string(), true, "", pool, {});
    CHECK_FALSE(rest.interrupted);
    CHECK(rest.steps_done == 18);
    CHECK(file_bytes(a.path / "model.safetensors") == file_bytes(r.path / "model.safetensors"));
    CHECK(file_bytes(a.path / "steps.csv") == file_bytes(r.path / "steps.csv"));
}

TEST_CASE("rpb::epoch_order and draw_augmentation are seeded and cover their ranges") {
    const std::vector<int64_t> order = epoch_order(3, 0, 1000, true);
    CHECK(std::set<int64_t>(order.begin(), order.end()).size() == 1000);
    CHECK(order == epoch_order(3, 0, 1000, true));
    CHECK(order != epoch_order(3, 1, 1000, true));
    CHECK(order != epoch_order(4, 0, 1000, true));
    CHECK(epoch_order(3, 0, 5, false) == std::vector<int64_t>{0, 1, 2, 3, 4});
    std::set<int> dys, dxs;
    int flips = 0;
    for (int64_t i = 0; i < 2000; ++i) {
        const Augmentation a = draw_augmentation(1, 2, i, true, true);
        dys.insert(a.dy);
        dxs.insert(a.dx);
        flips += a.flip ? 1 : 0;
    }
    CHECK(dys == std::set<int>{0, 1, 2, 3, 4});
    CHECK(dxs == std::set<int>{0, 1, 2, 3, 4});
    CHECK(flips > 900);
    CHECK(flips < 1100);
    const Augmentation none = draw_augmentation(1, 2, 3, false, false);
    CHECK((none.dy == 2 && none.dx == 2 && !none.flip));
}

TEST_CASE("rpb::augment_image pads with zeros, crops and flips") {
    // 3x3 image 1..9; crop offset (0, 4) of the 2-padded image shifts right by 2 and down by 2.
    const uint8_t src[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    uint8_t dst[9];
    augment_image(src, dst, 3, 3, {2, 2, false, {}});
    CHECK(std::vector<uint8_t>(dst, dst + 9) == std::vector<uint8_t>(src, src + 9));
    augment_image(src, dst, 3, 3, {0, 4, false, {}}); // row y reads y - 2, column x reads x + 2
    CHECK(std::vector<uint8_t>(dst, dst + 9) == std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 3, 0, 0});
    augment_image(src, dst, 3, 3, {2, 2, true, {}});
    CHECK(std::vector<uint8_t>(dst, dst + 9) == std::vector<uint8_t>{3, 2, 1, 6, 5, 4, 9, 8, 7});
    augment_image(src, dst, 3, 3, {3, 1, true, {}}); // down one, left one, then mirrored
    CHECK(std::vector<uint8_t>(dst, dst + 9) == std::vector<uint8_t>{5, 4, 0, 8, 7, 0, 0, 0, 0});
}

// torchvision's RandomErasing (tests/golden/erase/erase.json, scripts/gen_erase_golden.py).
TEST_CASE("rpb::erase_box_size is torchvision's box for the same two draws") {
    std::ifstream in(std::string(RPB_TEST_DATA_DIR) + "/golden/erase/erase.json");
    REQUIRE(in.good());
    const nlohmann::json g = nlohmann::json::parse(in);
    int fitted = 0;
    for (const nlohmann::json& box : g.at("boxes")) {
        const auto [h, w] =
            erase_box_size(box.at("scale").get<float>(), box.at("log_ratio").get<float>(), 28, 28);
        CAPTURE(box.dump());
        CHECK(h == box.at("h").get<int>());
        CHECK(w == box.at("w").get<int>());
        fitted += box.at("fits").get<bool>() ? 1 : 0;
    }
    CHECK(fitted > 300); // most first attempts fit; the rest must come out as {0, 0}
    CHECK(fitted < 400);
    // Python's round() is half to even: on a 16x16 image, area 256 * 81/1024 = 20.25 (exact
    // in binary) and ratio 1 give sqrt 4.5 -> 4; 256 * 121/1024 = 30.25 gives 5.5 -> 6.
    CHECK(erase_box_size(81.0f / 1024.0f, 0.0f, 16, 16) == std::pair<int, int>{4, 4});
    CHECK(erase_box_size(121.0f / 1024.0f, 0.0f, 16, 16) == std::pair<int, int>{6, 6});
    CHECK(erase_box_size(0.999f, 0.0f, 28, 28) == std::pair<int, int>{0, 0}); // 28 >= 28
}

TEST_CASE("rpb::draw_erasing follows torchvision's distribution of boxes") {
    std::ifstream in(std::string(RPB_TEST_DATA_DIR) + "/golden/erase/erase.json");
    REQUIRE(in.good());
    const nlohmann::json d = nlohmann::json::parse(in).at("distribution");
    const int64_t draws = d.at("draws").get<int64_t>();
    int64_t erased = 0;
    double sum[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < draws; ++i) {
        const EraseBox b = draw_erasing(7, i / 60000, i % 60000, 0.5, 28, 28);
        if (b.h == 0) {
            continue;
        }
        ++erased;
        REQUIRE((b.h >= 1 && b.w >= 1 && b.y >= 0 && b.x >= 0));
        REQUIRE((b.y + b.h <= 28 && b.x + b.w <= 28 && b.h < 28 && b.w < 28));
        sum[0] += b.h;
        sum[1] += b.w;
        sum[2] += b.y;
        sum[3] += b.x;
    }
    // The share erased: each a binomial share of sd sqrt(1/4 / draws); allow 5 sd of the
    // difference.
    const double share_sd = std::sqrt(0.5 * 0.5 / static_cast<double>(draws));
    CHECK(std::abs(static_cast<double>(erased - d.at("erased").get<int64_t>()) /
                   static_cast<double>(draws)) < 5.0 * std::sqrt(2.0) * share_sd);
    const char* names[4] = {"h", "w", "y", "x"};
    for (int k = 0; k < 4; ++k) {
        const double mean = sum[k] / static_cast<double>(erased);
        const double ref = d.at(names[k]).at("mean").get<double>();
        const double se =
            d.at(names[k]).at("sd").get<double>() / std::sqrt(static_cast<double>(erased));
        CAPTURE(names[k]);
        CAPTURE(mean);
        CAPTURE(ref);
        CHECK(std::abs(mean - ref) < 5.0 * std::sqrt(2.0) * se); // 5 sd of the difference
    }
    // Seeded, on a stream of its own: the same box again, another for another image or seed.
    const EraseBox a = draw_erasing(3, 1, 17, 1.0, 28, 28);
    const EraseBox b = draw_erasing(3, 1, 17, 1.0, 28, 28);
    CHECK((a.y == b.y && a.x == b.x && a.h == b.h && a.w == b.w));
    CHECK(a.h > 0);
    CHECK(draw_erasing(3, 1, 17, 0.0, 28, 28).h == 0);
}

TEST_CASE("rpb::augment_image clears the erasing box after the crop and flip") {
    std::vector<uint8_t> src(16);
    for (int i = 0; i < 16; ++i) {
        src[static_cast<size_t>(i)] = static_cast<uint8_t>(i + 1);
    }
    std::vector<uint8_t> dst(16);
    Augmentation a;
    a.flip = true;
    a.erase = {1, 0, 2, 3}; // rows 1-2, columns 0-2 of the flipped image
    augment_image(src.data(), dst.data(), 4, 4, a);
    CHECK(dst == std::vector<uint8_t>{4, 3, 2, 1, 0, 0, 0, 5, 0, 0, 0, 9, 16, 15, 14, 13});
}

TEST_CASE("rpb::learning_rate is warm-up then cosine, as math.md section 7") {
    OptimizerConfig c;
    c.lr = 1.0;
    c.min_lr = 0.0;
    c.warmup = 4;
    CHECK(learning_rate(c, 0, 12) == doctest::Approx(0.25));
    CHECK(learning_rate(c, 3, 12) == doctest::Approx(1.0));
    CHECK(learning_rate(c, 4, 12) == doctest::Approx(1.0));
    CHECK(learning_rate(c, 8, 12) == doctest::Approx(0.5));
    CHECK(learning_rate(c, 11, 12) == doctest::Approx((1 + std::cos(M_PI * 7 / 8)) / 2));
}

TEST_CASE("run.json gives back every field of the TrainConfig, and old run folders still read") {
    TrainConfig c;
    c.model.pos = PositionKind::t5;
    c.optimizer.kind = OptimizerKind::sgd;
    c.optimizer.lr = 0.125;
    c.optimizer.min_lr = 0.0625;
    c.optimizer.warmup = 7;
    c.optimizer.weight_decay = 0.25;
    c.optimizer.momentum = 0.5;
    c.optimizer.clip_grad = 2.5;
    c.epochs = 3;
    c.steps = 11;
    c.batch_size = 33;
    c.label_smoothing = 0.375;
    c.crop = false;
    c.flip = false;
    c.erase = 0.75;
    c.shuffle = false;
    c.limit_train = 99;
    c.seed = 12345678901234ULL;
    c.eval_batch = 77;
    c.test_each_epoch = false;
    const std::string text = train_config_to_json(c, "/data/dir", "from.safetensors");

    std::string data_dir, from_model;
    const TrainConfig back = train_config_from_json(text, "run.json", &data_dir, &from_model);
    CHECK(data_dir == "/data/dir");
    CHECK(from_model == "from.safetensors");
    // Written again, the parsed config gives the same text: no field is lost either way.
    CHECK(train_config_to_json(back, data_dir, from_model) == text);
    CHECK(back.model.pos == PositionKind::t5);
    CHECK(back.optimizer.kind == OptimizerKind::sgd);
    CHECK(back.optimizer.lr == 0.125);
    CHECK(back.optimizer.min_lr == 0.0625);
    CHECK(back.optimizer.warmup == 7);
    CHECK(back.optimizer.weight_decay == 0.25);
    CHECK(back.optimizer.momentum == 0.5);
    CHECK(back.optimizer.clip_grad == 2.5);
    CHECK(back.epochs == 3);
    CHECK(back.steps == 11);
    CHECK(back.batch_size == 33);
    CHECK(back.label_smoothing == 0.375);
    CHECK(back.crop == false);
    CHECK(back.flip == false);
    CHECK(back.erase == 0.75);
    CHECK(back.shuffle == false);
    CHECK(back.limit_train == 99);
    CHECK(back.seed == 12345678901234ULL);
    CHECK(back.eval_batch == 77);
    CHECK(back.test_each_epoch == false);
    // The keys of run.json, in order: the format other tools and older run folders rely on.
    std::vector<std::string> keys;
    const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(text);
    for (const auto& item : ordered.items()) {
        keys.push_back(item.key());
    }
    CHECK(keys ==
          std::vector<std::string>{
              "model",      "data",           "from",         "optimizer",       "lr",
              "min_lr",     "warmup",         "weight_decay", "momentum",        "clip_grad",
              "epochs",     "steps",          "batch_size",   "label_smoothing", "crop",
              "flip",       "erase",          "shuffle",      "limit_train",     "seed",
              "eval_batch", "test_each_epoch"});

    nlohmann::json j = nlohmann::json::parse(text);
    j.erase("erase"); // a run folder from before random erasing
    CHECK(train_config_from_json(j.dump(), "old.json", &data_dir, &from_model).erase == 0.0);
    j = nlohmann::json::parse(text);
    j.erase("seed");
    CHECK_THROWS_WITH_AS(train_config_from_json(j.dump(), "cut.json", &data_dir, &from_model),
                         doctest::Contains("cut.json: not a valid run description"), Error);
    j = nlohmann::json::parse(text);
    j["label_smoothing"] = 1.5;
    CHECK_THROWS_WITH_AS(train_config_from_json(j.dump(), "bad.json", &data_dir, &from_model),
                         doctest::Contains("bad.json: --label-smoothing must be in [0, 1)"), Error);
}
