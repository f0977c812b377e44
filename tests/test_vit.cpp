// The whole model against PyTorch: logits, loss and every parameter's gradient of the goldens
// made by scripts/gen_vit_golden.py (tests/golden/vit/README.md), for every position scheme.
#include "rpb/error.hpp"
#include "rpb/nn.hpp"
#include "rpb/npy.hpp"
#include "rpb/safetensors.hpp"
#include "rpb/vit.hpp"

#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <filesystem>
#include <limits>
#include <string>

using namespace rpb;

namespace {

const std::string golden_dir = std::string(RPB_TEST_DATA_DIR) + "/golden/vit/";

// max |got - want| / max |want| over a tensor.
double relative_error(const float* got, const float* want, int64_t n) {
    double diff = 0.0, scale = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        diff = std::max(diff, static_cast<double>(std::abs(got[i] - want[i])));
        scale = std::max(scale, static_cast<double>(std::abs(want[i])));
    }
    return diff / std::max(scale, 1e-30);
}

} // namespace

TEST_CASE("rpb::ViT forward and backward match PyTorch for every position scheme") {
    for (const char* name :
         {"rpb2d_cls", "rpb2d_mean", "rpb1d_cls", "t5_cls", "ape_cls", "none_mean"}) {
        CAPTURE(name);
        const std::string dir = golden_dir + name + "/";
        const ViT model = load_model(dir + "model.safetensors");
        const Array images = read_npy(dir + "images.npy");
        const IntTensor labels = to_int32(read_npy(dir + "labels.npy"), "labels");
        const FloatTensor want_logits = to_float32(read_npy(dir + "logits.npy"), "logits");
        const float want_loss = to_float32(read_npy(dir + "loss.npy"), "loss")[0];
        const TensorMap want_grads = read_safetensors(dir + "grads.safetensors");
        const int64_t batch = labels.size();
        const int64_t k = model.config().num_classes;
        REQUIRE(images.dtype == DType::u8);

        for (int threads : {1, 2}) {
            ThreadPool pool(threads);
            std::vector<float> logits(static_cast<size_t>(batch * k));
            std::vector<float> dlogits(logits.size());
            auto acts = make_activations();
            model.forward(pool, reinterpret_cast<const uint8_t*>(images.bytes.data()), batch,
                          logits.data(), acts.get());
            CHECK(relative_error(logits.data(), want_logits.data(), batch * k) < 1e-5);
            const double loss = nn::cross_entropy_forward_backward(
                logits.data(), labels.data(), batch, k, 0.1f, dlogits.data(), nullptr);
            CHECK(std::abs(loss - want_loss) < 1e-5);
            std::vector<float> grads(static_cast<size_t>(model.parameter_count()));
            model.backward(pool, *acts, dlogits.data(), grads.data());
            REQUIRE(want_grads.size() == model.layout().size());
            for (const ParamInfo& p : model.layout()) {
                CAPTURE(p.name);
                const FloatTensor want = to_float32(want_grads.at(p.name), p.name);
                REQUIRE(want.shape() == p.shape);
                if (p.name.ends_with("attn.qkv.bias")) {
                    // The key rows' true gradient is 0 (softmax ignores a constant per query):
                    // float32 leaves rounding noise there, so compare q and v rows by scale and
                    // the key rows absolutely.
                    const int64_t e = model.config().embed_dim;
                    const float* g = grads.data() + p.offset;
                    std::vector<float> got_qv(g, g + e), want_qv(want.data(), want.data() + e);
                    got_qv.insert(got_qv.end(), g + 2 * e, g + 3 * e);
                    want_qv.insert(want_qv.end(), want.data() + 2 * e, want.data() + 3 * e);
                    CHECK(relative_error(got_qv.data(), want_qv.data(), 2 * e) < 1e-4);
                    for (int64_t i = e; i < 2 * e; ++i) {
                        CHECK(std::abs(g[i]) < 1e-5);
                    }
                    continue;
                }
                CHECK(relative_error(grads.data() + p.offset, want.data(), p.size) < 1e-4);
            }
        }
    }
}

TEST_CASE("rpb::ViT gives the same bytes for any thread count") {
    const ViT model = load_model(golden_dir + "rpb2d_cls/model.safetensors");
    const Array images = read_npy(golden_dir + "rpb2d_cls/images.npy");
    const IntTensor labels = to_int32(read_npy(golden_dir + "rpb2d_cls/labels.npy"), "labels");
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        std::vector<float> logits(60), dlogits(60);
        auto acts = make_activations();
        model.forward(pool, reinterpret_cast<const uint8_t*>(images.bytes.data()), 6, logits.data(),
                      acts.get());
        nn::cross_entropy_forward_backward(logits.data(), labels.data(), 6, 10, 0.1f,
                                           dlogits.data(), nullptr);
        std::vector<float> grads(static_cast<size_t>(model.parameter_count()));
        model.backward(pool, *acts, dlogits.data(), grads.data());
        grads.insert(grads.end(), logits.begin(), logits.end());
        results.push_back(grads);
    }
    CHECK(results[0] == results[1]);
    CHECK(results[0] == results[2]);
}

TEST_CASE("rpb::ViT forward without kept activations gives the same logits") {
    const ViT model = load_model(golden_dir + "t5_cls/model.safetensors");
    const Array images = read_npy(golden_dir + "t5_cls/images.npy");
    ThreadPool pool(2);
    std::vector<float> kept(60), plain(60);
    auto acts = make_activations();
    model.forward(pool, reinterpret_cast<const uint8_t*>(images.bytes.data()), 6, kept.data(),
                  acts.get());
    model.forward(pool, reinterpret_cast<const uint8_t*>(images.bytes.data()), 6, plain.data(),
                  nullptr);
    CHECK(kept == plain);
}

TEST_CASE("rpb::model_file_bytes round-trips and the config is checked") {
    ViTConfig c;
    c.image_h = c.image_w = 12;
    c.embed_dim = 16;
    c.heads = 2;
    c.depth = 1;
    c.mlp_dim = 8;
    c.pos = PositionKind::t5;
    c.num_buckets = 8;
    c.max_distance = 16;
    c.classes = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    ViT model(c);
    model.initialize(7);
    const std::string bytes = model_file_bytes(model);
    const auto path = std::filesystem::temp_directory_path() / "rpb_test_model.safetensors";
    {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f != nullptr);
        std::fwrite(bytes.data(), 1, bytes.size(), f);
        std::fclose(f);
    }
    const ViT back = load_model(path.string());
    CHECK(back.parameters() == model.parameters());
    CHECK(config_to_json(back.config()) == config_to_json(model.config()));
    std::filesystem::remove(path);

    SUBCASE("impossible architectures are usage errors") {
        ViTConfig bad = c;
        bad.patch = 5;
        CHECK_THROWS_WITH_AS(bad.validate(),
                             "--patch 5 does not divide the 12x12 image (accepted: a divisor of "
                             "both sides)",
                             UsageError);
        bad = c;
        bad.heads = 3;
        CHECK_THROWS_WITH_AS(
            bad.validate(),
            "--heads 3 does not divide --embed-dim 16 (accepted: a divisor of the width)",
            UsageError);
    }
    SUBCASE("a model file with a wrong shape or a missing tensor names it") {
        std::map<std::string, FloatTensor> tensors;
        for (const ParamInfo& p : model.layout()) {
            tensors.emplace(p.name, FloatTensor(p.shape, 0.0f));
        }
        tensors["head.weight"] = FloatTensor({10, 15});
        CHECK_THROWS_WITH_AS(model_from_tensors(tensors, config_to_json(c), "m.safetensors"),
                             "m.safetensors: tensor 'head.weight' has shape (10, 15), the config "
                             "needs (10, 16)",
                             Error);
        tensors.erase("head.weight");
        CHECK_THROWS_WITH_AS(model_from_tensors(tensors, config_to_json(c), "m.safetensors"),
                             "m.safetensors: tensor 'head.weight' (10, 16) is missing for this "
                             "model's config",
                             Error);
        CHECK_THROWS_WITH_AS(model_from_tensors(tensors, "{\"depth\": 2}", "m.safetensors"),
                             "m.safetensors: rpbtool.config has no 'in_chans'", Error);
    }
}

TEST_CASE("rpb::ViT::loss_and_gradients matches PyTorch and forward + backward") {
    // 6 images: micro-batches of 4 and 2.
    for (const char* name : {"rpb2d_cls", "rpb2d_mean", "t5_cls", "ape_cls", "none_mean"}) {
        CAPTURE(name);
        const std::string dir = golden_dir + name + "/";
        const ViT model = load_model(dir + "model.safetensors");
        const Array images = read_npy(dir + "images.npy");
        const auto* pixels = reinterpret_cast<const uint8_t*>(images.bytes.data());
        const IntTensor labels = to_int32(read_npy(dir + "labels.npy"), "labels");
        const float want_loss = to_float32(read_npy(dir + "loss.npy"), "loss")[0];
        const FloatTensor want_logits = to_float32(read_npy(dir + "logits.npy"), "logits");
        const int64_t batch = labels.size();
        const int64_t k = model.config().num_classes;
        ThreadPool pool(2);
        // The op-by-op passes over the whole batch: the reference of the fast pass.
        std::vector<float> logits(static_cast<size_t>(batch * k)), dlogits(logits.size());
        auto acts = make_activations();
        model.forward(pool, pixels, batch, logits.data(), acts.get());
        const double loss = nn::cross_entropy_forward_backward(logits.data(), labels.data(), batch,
                                                               k, 0.1f, dlogits.data(), nullptr);
        std::vector<float> grads(static_cast<size_t>(model.parameter_count()));
        model.backward(pool, *acts, dlogits.data(), grads.data());
        int64_t correct = 0;
        for (int64_t i = 0; i < batch; ++i) {
            const float* z = logits.data() + i * k;
            correct += (std::max_element(z, z + k) - z) == labels[i] ? 1 : 0;
        }

        std::vector<float> fast_logits(logits.size());
        std::vector<float> fast(grads.size());
        const ViT::BatchLoss got = model.loss_and_gradients(pool, pixels, labels.data(), batch,
                                                            0.1f, fast.data(), fast_logits.data());
        CHECK(fast_logits == logits); // a row's forward values do not depend on its neighbours
        CHECK(std::abs(got.loss - loss) < 1e-12);
        CHECK(std::abs(got.loss - want_loss) < 1e-5);
        CHECK(got.correct == correct);
        for (const ParamInfo& p : model.layout()) {
            CAPTURE(p.name);
            // Another grouping of the same sums: within rounding of the reference.
            const float* g = fast.data() + p.offset;
            const float* r = grads.data() + p.offset;
            double scale = 0.0;
            for (int64_t i = 0; i < p.size; ++i) {
                scale = std::max(scale, static_cast<double>(std::abs(r[i])));
            }
            for (int64_t i = 0; i < p.size; ++i) {
                REQUIRE(std::abs(g[i] - r[i]) <= 1e-6 * scale + 1e-9);
            }
        }
    }
}

TEST_CASE("rpb::ViT::loss_and_gradients and predict give the same bytes for any thread count") {
    const ViT model = load_model(golden_dir + "rpb2d_cls/model.safetensors");
    const Array images = read_npy(golden_dir + "rpb2d_cls/images.npy");
    const auto* pixels = reinterpret_cast<const uint8_t*>(images.bytes.data());
    const IntTensor labels = to_int32(read_npy(golden_dir + "rpb2d_cls/labels.npy"), "labels");
    std::vector<std::vector<float>> results;
    std::vector<double> losses;
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        std::vector<float> grads(static_cast<size_t>(model.parameter_count()));
        std::vector<float> logits(60);
        losses.push_back(
            model.loss_and_gradients(pool, pixels, labels.data(), 6, 0.1f, grads.data()).loss);
        model.predict(pool, pixels, 6, logits.data());
        grads.insert(grads.end(), logits.begin(), logits.end());
        results.push_back(grads);
    }
    CHECK(results[0] == results[1]);
    CHECK(results[0] == results[2]);
    CHECK(losses[0] == losses[1]);
    CHECK(losses[0] == losses[2]);
    // predict gives forward's bits
    ThreadPool pool(2);
    std::vector<float> logits(60);
    model.forward(pool, pixels, 6, logits.data(), nullptr);
    CHECK(std::vector<float>(results[0].end() - 60, results[0].end()) == logits);
}

TEST_CASE("rpb::ViT::loss_and_gradients refuses a label past the classes") {
    const ViT model = load_model(golden_dir + "rpb2d_cls/model.safetensors");
    const Array images = read_npy(golden_dir + "rpb2d_cls/images.npy");
    ThreadPool pool(1);
    std::vector<int32_t> labels = {0, 1, 2, 10, 4, 5};
    std::vector<float> grads(static_cast<size_t>(model.parameter_count()));
    CHECK_THROWS_WITH_AS(
        model.loss_and_gradients(pool, reinterpret_cast<const uint8_t*>(images.bytes.data()),
                                 labels.data(), 6, 0.1f, grads.data()),
        "label 10 of image 3 is past the model's 10 classes", Error);
}

TEST_CASE("rpb::ViT::backward writes every gradient") {
    // loss_and_gradients keeps its per-micro-batch buffers between calls without clearing
    // them: that is only right if backward overwrites every value.
    for (const char* name : {"rpb2d_cls", "rpb1d_cls", "t5_cls", "ape_cls", "none_mean"}) {
        CAPTURE(name);
        const ViT model = load_model(golden_dir + name + "/model.safetensors");
        const Array images = read_npy(golden_dir + name + "/images.npy");
        ThreadPool pool(2);
        std::vector<float> logits(60), dlogits(60, 0.01f);
        auto acts = make_activations();
        model.forward(pool, reinterpret_cast<const uint8_t*>(images.bytes.data()), 6, logits.data(),
                      acts.get());
        std::vector<float> grads(static_cast<size_t>(model.parameter_count()),
                                 std::numeric_limits<float>::quiet_NaN());
        model.backward(pool, *acts, dlogits.data(), grads.data());
        for (const float g : grads) {
            REQUIRE(std::isfinite(g));
        }
    }
}
