// TrainConfig: validation and run.json.
#include "rpb/error.hpp"
#include "rpb/train.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

std::string train_config_to_json(const TrainConfig& c, const std::string& data_dir,
                                 const std::string& from_model) {
    nlohmann::ordered_json j;
    j["model"] = nlohmann::json::parse(config_to_json(c.model));
    j["data"] = data_dir;
    j["from"] = from_model;
    j["optimizer"] = optimizer_name(c.optimizer.kind);
    j["lr"] = c.optimizer.lr;
    j["min_lr"] = c.optimizer.min_lr;
    j["warmup"] = c.optimizer.warmup;
    j["weight_decay"] = c.optimizer.weight_decay;
    j["momentum"] = c.optimizer.momentum;
    j["clip_grad"] = c.optimizer.clip_grad;
    j["epochs"] = c.epochs;
    j["steps"] = c.steps;
    j["batch_size"] = c.batch_size;
    j["label_smoothing"] = c.label_smoothing;
    j["crop"] = c.crop;
    j["flip"] = c.flip;
    j["erase"] = c.erase;
    j["shuffle"] = c.shuffle;
    j["limit_train"] = c.limit_train;
    j["seed"] = c.seed;
    j["eval_batch"] = c.eval_batch;
    j["test_each_epoch"] = c.test_each_epoch;
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
        c.optimizer.lr = j.at("lr").get<double>();
        c.optimizer.min_lr = j.at("min_lr").get<double>();
        c.optimizer.warmup = j.at("warmup").get<int64_t>();
        c.optimizer.weight_decay = j.at("weight_decay").get<double>();
        c.optimizer.momentum = j.at("momentum").get<double>();
        c.optimizer.clip_grad = j.at("clip_grad").get<double>();
        c.epochs = j.at("epochs").get<int64_t>();
        c.steps = j.at("steps").get<int64_t>();
        c.batch_size = j.at("batch_size").get<int64_t>();
        c.label_smoothing = j.at("label_smoothing").get<double>();
        c.crop = j.at("crop").get<bool>();
        c.flip = j.at("flip").get<bool>();
        c.erase = j.value("erase", 0.0); // absent in run folders from before random erasing
        c.shuffle = j.at("shuffle").get<bool>();
        c.limit_train = j.at("limit_train").get<int64_t>();
        c.seed = j.at("seed").get<uint64_t>();
        c.eval_batch = j.at("eval_batch").get<int64_t>();
        c.test_each_epoch = j.at("test_each_epoch").get<bool>();
        c.validate();
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("{}: not a valid run description ({})", origin, e.what()));
    } catch (const UsageError& e) {
        throw Error(fmt::format("{}: {}", origin, e.what()));
    }
    return c;
}

} // namespace rpb
