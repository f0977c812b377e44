// TrainConfig: validation and run.json.
#include "rpb/error.hpp"
#include "rpb/train.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <string_view>
#include <type_traits>

namespace rpb {

void TrainConfig::validate() const {
    model.validate();
    optimizer.validate();
    if (epochs < 1) {
        throw UsageError(fmt::format("--epochs must be at least 1, not {}", epochs));
    }
    if (steps < -1) {
        throw UsageError(fmt::format("--steps must be >= 0, not {}", steps));
    }
    if (batch_size < 1 || batch_size > 65536) {
        throw UsageError(fmt::format("--batch-size must be from 1 to 65536, not {}", batch_size));
    }
    if (!(label_smoothing >= 0.0 && label_smoothing < 1.0)) {
        throw UsageError(
            fmt::format("--label-smoothing must be in [0, 1), not {}", label_smoothing));
    }
    if (!(erase >= 0.0 && erase <= 1.0)) {
        throw UsageError(fmt::format("--erase-prob must be in [0, 1], not {}", erase));
    }
    if (limit_train < 0) {
        throw UsageError(fmt::format("--limit-train must be >= 0, not {}", limit_train));
    }
    if (eval_batch < 1 || eval_batch > 65536) {
        throw UsageError(fmt::format("--eval-batch must be from 1 to 65536, not {}", eval_batch));
    }
}

namespace {

/// Every plain field of run.json with its key, in the file's order: one list for writing and
/// reading, so that a new field cannot be saved and then forgotten on --resume (or the reverse).
/// The model, the paths and the optimiser's name are written around it by hand.
template <class Config, class Visit>
void visit_run_fields(Config& c, Visit&& visit) {
    visit("lr", c.optimizer.lr);
    visit("min_lr", c.optimizer.min_lr);
    visit("warmup", c.optimizer.warmup);
    visit("weight_decay", c.optimizer.weight_decay);
    visit("momentum", c.optimizer.momentum);
    visit("clip_grad", c.optimizer.clip_grad);
    visit("epochs", c.epochs);
    visit("steps", c.steps);
    visit("batch_size", c.batch_size);
    visit("label_smoothing", c.label_smoothing);
    visit("crop", c.crop);
    visit("flip", c.flip);
    visit("erase", c.erase);
    visit("shuffle", c.shuffle);
    visit("limit_train", c.limit_train);
    visit("seed", c.seed);
    visit("eval_batch", c.eval_batch);
    visit("test_each_epoch", c.test_each_epoch);
}

/// Keys that run folders written before the key existed lack; they read as the value that
/// reproduces what those runs did.
bool optional_run_field(std::string_view key) {
    return key == "erase";
}

} // namespace

std::string train_config_to_json(const TrainConfig& c, const std::string& data_dir,
                                 const std::string& from_model) {
    nlohmann::ordered_json j;
    j["model"] = nlohmann::json::parse(config_to_json(c.model));
    j["data"] = data_dir;
    j["from"] = from_model;
    j["optimizer"] = optimizer_name(c.optimizer.kind);
    visit_run_fields(c, [&](const char* key, const auto& value) { j[key] = value; });
    return j.dump(2) + "\n";
}

TrainConfig train_config_from_json(const std::string& text, const std::string& origin,
                                   std::string* data_dir, std::string* from_model) {
    TrainConfig c;
    try {
        const nlohmann::json j = nlohmann::json::parse(text);
        c.model = config_from_json(j.at("model").dump(), origin);
        *data_dir = j.at("data").get<std::string>();
        *from_model = j.at("from").get<std::string>();
        c.optimizer.kind = parse_optimizer(j.at("optimizer").get<std::string>());
        visit_run_fields(c, [&](const char* key, auto& value) {
            using Value = std::remove_reference_t<decltype(value)>;
            if (optional_run_field(key) && !j.contains(key)) {
                value = Value{}; // erase: 0, no random erasing
            } else {
                value = j.at(key).get<Value>();
            }
        });
        c.validate();
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("{}: not a valid run description ({})", origin, e.what()));
    } catch (const UsageError& e) {
        throw Error(fmt::format("{}: {}", origin, e.what()));
    }
    return c;
}

} // namespace rpb
