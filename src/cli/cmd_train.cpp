// rpbtool train: the seed project's ViT (math.md 6) trained as math.md 7 says, into a run
// folder that --resume continues after any interruption.
#include "commands.hpp"
#include "rpb/error.hpp"
#include "rpb/train.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace rpb::cli {

namespace {

// The recipe (samples/vit_fashion_mnist.toml): `rpbtool train` with no options runs it.
struct TrainOptions {
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string out;
    std::string pos = "rpb-2d";
    std::string pool = "cls";
    int64_t patch = 4, embed_dim = 64, depth = 6, heads = 4, mlp_dim = -1;
    int64_t num_buckets = 32, max_distance = 128;
    int64_t epochs = 60, steps = -1, batch_size = 128;
    std::string optimizer = "adamw";
    double lr = 3e-3, min_lr = 1e-5, weight_decay = 0.05, momentum = 0.0, label_smoothing = 0.1,
           clip_grad = 0.0;
    int64_t warmup = -1;
    std::string augment = "crop,flip";
    double erase_prob = 0.5;
    std::string shuffle = "on";
    int64_t limit_train = 0;
    uint64_t seed = 0;
    int threads = 0;
    int64_t eval_batch = 500;
    std::string test = "on";
    bool resume = false;
    std::string from;
    bool quiet = false;
};

// Options that define the run, with their key in run.json ("model." for the architecture):
// on --resume a given value must agree with the run's.
const std::vector<std::pair<const char*, const char*>> run_keys = {
    {"--pos", "model.pos"},
    {"--pool", "model.pool"},
    {"--patch", "model.patch_size"},
    {"--embed-dim", "model.embed_dim"},
    {"--depth", "model.depth"},
    {"--heads", "model.num_heads"},
    {"--mlp-dim", "model.mlp_dim"},
    {"--num-buckets", "model.num_buckets"},
    {"--max-distance", "model.max_distance"},
    {"--epochs", "epochs"},
    {"--steps", "steps"},
    {"--batch-size", "batch_size"},
    {"--optimizer", "optimizer"},
    {"--lr", "lr"},
    {"--min-lr", "min_lr"},
    {"--warmup", "warmup"},
    {"--weight-decay", "weight_decay"},
    {"--momentum", "momentum"},
    {"--label-smoothing", "label_smoothing"},
    {"--clip-grad", "clip_grad"},
    {"--erase-prob", "erase"},
    {"--shuffle", "shuffle"},
    {"--limit-train", "limit_train"},
    {"--seed", "seed"},
    {"--eval-batch", "eval_batch"},
    {"--test", "test_each_epoch"},
    {"--from", "from"},
};

std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int sig) {
    stop_signal.store(sig);
    stop_requested.store(true);
    // A second signal ends the process at once; the last saved state stays.
    std::signal(sig, SIG_DFL);
}

// --augment: "none", or a comma-separated set of crop, flip and erase in any order.
void parse_augment(const std::string& text, double erase_prob, TrainConfig* c) {
    c->crop = c->flip = false;
    c->erase = 0.0;
    const auto refuse = [&](const std::string& why) {
        throw UsageError(fmt::format("--augment: '{}' is not accepted ({}; accepted: none, or a "
                                     "comma-separated set of crop, flip, erase)",
                                     text, why));
    };
    if (text == "none") {
        return;
    }
    bool erase = false;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        const std::string item = text.substr(start, comma - start);
        bool* flag = item == "crop"    ? &c->crop
                     : item == "flip"  ? &c->flip
                     : item == "erase" ? &erase
                                       : nullptr;
        if (flag == nullptr) {
            refuse(item.empty() ? "an empty item" : fmt::format("unknown item '{}'", item));
        }
        if (*flag) {
            refuse(fmt::format("'{}' twice", item));
        }
        *flag = true;
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    if (erase) {
        if (!(erase_prob > 0.0 && erase_prob <= 1.0)) {
            throw UsageError(fmt::format("--erase-prob must be in (0, 1], not {}", erase_prob));
        }
        c->erase = erase_prob;
    }
}

TrainConfig make_config(const TrainOptions& o) {
    TrainConfig c;
    c.model.pos = parse_position(o.pos);
    c.model.pool = parse_pool(o.pool);
    c.model.patch = o.patch;
    c.model.embed_dim = o.embed_dim;
    c.model.depth = o.depth;
    c.model.heads = o.heads;
    c.model.mlp_dim = o.mlp_dim > 0 ? o.mlp_dim : 2 * o.embed_dim;
    c.model.num_buckets = o.num_buckets;
    c.model.max_distance = o.max_distance;
    c.optimizer.kind = parse_optimizer(o.optimizer);
    c.optimizer.lr = o.lr;
    c.optimizer.min_lr = o.min_lr;
    c.optimizer.weight_decay = o.weight_decay;
    c.optimizer.momentum = o.momentum;
    c.optimizer.clip_grad = o.clip_grad;
    c.epochs = o.epochs;
    c.steps = o.steps;
    c.batch_size = o.batch_size;
    c.label_smoothing = o.label_smoothing;
    parse_augment(o.augment, o.erase_prob, &c);
    if (o.shuffle != "on" && o.shuffle != "off") {
        throw UsageError(
            fmt::format("--shuffle: '{}' is not accepted (accepted: on, off)", o.shuffle));
    }
    c.shuffle = o.shuffle == "on";
    c.limit_train = o.limit_train;
    c.seed = o.seed;
    c.eval_batch = o.eval_batch;
    if (o.test != "on" && o.test != "off") {
        throw UsageError(fmt::format("--test: '{}' is not accepted (accepted: on, off)", o.test));
    }
    c.test_each_epoch = o.test == "on";
    // Warm-up: given, or -1 for 5% of the steps (train_run resolves it).
    c.optimizer.warmup = o.warmup;
    return c;
}

const nlohmann::json* find_key(const nlohmann::json& j, const std::string& key) {
    const nlohmann::json* node = &j;
    size_t start = 0;
    while (true) {
        const size_t dot = key.find('.', start);
        const std::string part = key.substr(start, dot - start);
        const auto it = node->find(part);
        if (it == node->end()) {
            return nullptr;
        }
        node = &*it;
        if (dot == std::string::npos) {
            return node;
        }
        start = dot + 1;
    }
}

// On --resume: every run-defining option given must agree with the run.
void check_resume_options(const CLI::App& command, const TrainConfig& given,
                          const std::string& given_from, const std::string& run_dir) {
    const std::string path = run_dir + "/run.json";
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        throw UsageError(fmt::format("-o {}: no run to resume there (no run.json); start it "
                                     "without --resume",
                                     run_dir));
    }
    std::string text;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
        text.append(buf, n);
    }
    std::fclose(f);
    nlohmann::json saved;
    try {
        saved = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("{}: not a valid run description", path));
    }
    const nlohmann::json now = nlohmann::json::parse(train_config_to_json(given, "", given_from));
    for (const auto& [option, key] : run_keys) {
        if (command.count(option) == 0) {
            continue;
        }
        const nlohmann::json* a = find_key(saved, key);
        const nlohmann::json* b = find_key(now, key);
        if (a != nullptr && b != nullptr && *a != *b) {
            throw UsageError(fmt::format("{} {} differs from the run's {} in {}: --resume "
                                         "continues the run as it was started",
                                         option, b->dump(), a->dump(), path));
        }
    }
}

std::string clock(double seconds) {
    const auto s = static_cast<int64_t>(seconds + 0.5);
    return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                     : fmt::format("{}:{:02}", s / 60, s % 60);
}

void run_train(const TrainOptions& o, const CLI::App& command) {
    TrainConfig config = make_config(o);
    const std::string run_dir = o.out.empty() ? "runs/vit-" + o.pos : o.out;
    if (o.resume) {
        check_resume_options(command, config, o.from, run_dir);
    }
    if (o.threads < 0) {
        throw UsageError(fmt::format("--threads must be >= 0, not {}", o.threads));
    }
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const bool terminal = isatty(STDERR_FILENO) != 0 && !o.quiet;
    TrainHooks hooks;
    hooks.stop = &stop_requested;
    hooks.on_step = [&](const StepReport& r) {
        if (!terminal) {
            return;
        }
        static auto last = std::chrono::steady_clock::time_point{};
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(200) && r.step != r.total) {
            return;
        }
        last = now;
        fmt::print(stderr,
                   "\r\033[Kepoch {}  step {}/{}  loss {:.4f}  lr {:.2e}  {:.0f} img/s  "
                   "ETA {}",
                   r.epoch, r.step, r.total, r.loss, r.lr, r.images_per_second,
                   clock(r.eta_seconds));
        std::fflush(stderr);
    };
    hooks.on_epoch = [&](const EpochReport& r) {
        if (o.quiet) {
            return;
        }
        fmt::print(stderr,
                   "{}epoch {}: train loss {:.4f} acc {:.2f}%  test loss {:.4f} acc "
                   "{:.2f}%  ({})\n",
                   terminal ? "\r\033[K" : "", r.epoch, r.train_loss, 100 * r.train_accuracy,
                   r.test_loss, 100 * r.test_accuracy, clock(r.seconds));
    };
    ThreadPool pool(o.threads);
    const TrainOutcome outcome = train_run(config, o.data, run_dir, o.resume, o.from, pool, hooks);
    if (outcome.interrupted) {
        const int sig = stop_signal.load();
        fmt::print(stderr,
                   "{}rpbtool: stopped by {} at step {} of {}; the state is saved: "
                   "continue with rpbtool train -o {} --resume\n",
                   terminal ? "\r\033[K" : "", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                   outcome.steps_done, outcome.total_steps, run_dir);
        std::exit(128 + (sig == 0 ? SIGINT : sig));
    }
    if (!o.quiet) {
        fmt::print(stderr, "{}trained {} steps; model: {}/model.safetensors\n",
                   terminal ? "\r\033[K" : "", outcome.steps_done, run_dir);
    }
}

} // namespace

Runner setup_train(CLI::App& app) {
    auto o = std::make_shared<TrainOptions>();
    CLI::App* c = app.add_subcommand(
        "train", "Train a Vision Transformer with relative position bias (Fashion-MNIST, MNIST)");
    c->configurable();
    c->add_option("--data", o->data, "Folder with the four IDX files (plain or .gz)")
        ->capture_default_str();
    c->add_option("-o,--output", o->out, "Run folder (default runs/vit-<pos>)");
    c->add_option("--pos", o->pos, "Position scheme: rpb-2d, rpb-1d, t5, ape, none")
        ->capture_default_str();
    c->add_option("--pool", o->pool, "cls (class token) or mean (of the patch tokens)")
        ->capture_default_str();
    c->add_option("--patch", o->patch, "Patch size")->capture_default_str();
    c->add_option("--embed-dim", o->embed_dim, "Width E")->capture_default_str();
    c->add_option("--depth", o->depth, "Blocks")->capture_default_str();
    c->add_option("--heads", o->heads, "Attention heads")->capture_default_str();
    c->add_option("--mlp-dim", o->mlp_dim, "MLP width (default 2 x embed-dim)");
    c->add_option("--num-buckets", o->num_buckets, "T5 buckets")->capture_default_str();
    c->add_option("--max-distance", o->max_distance, "T5 max distance")->capture_default_str();
    c->add_option("--epochs", o->epochs, "Passes over the training set")->capture_default_str();
    c->add_option("--steps", o->steps,
                  "Stop after S steps; the schedule spans S; 0 writes the initial model only");
    c->add_option("--batch-size", o->batch_size, "Images per step")->capture_default_str();
    c->add_option("--optimizer", o->optimizer, "adamw or sgd")->capture_default_str();
    c->add_option("--lr", o->lr, "Peak learning rate")->capture_default_str();
    c->add_option("--min-lr", o->min_lr, "Final learning rate (cosine)")->capture_default_str();
    c->add_option("--warmup", o->warmup, "Warm-up steps (default 5% of the steps)");
    c->add_option("--weight-decay", o->weight_decay,
                  "Weight decay (not on biases, norms, "
                  "cls_token, pos_embed, tables)")
        ->capture_default_str();
    c->add_option("--momentum", o->momentum, "SGD momentum")->capture_default_str();
    c->add_option("--label-smoothing", o->label_smoothing, "Label smoothing")
        ->capture_default_str();
    c->add_option("--clip-grad", o->clip_grad, "Max global gradient norm (0 = off)")
        ->capture_default_str();
    c->add_option("--augment", o->augment,
                  "Comma-separated set of crop, flip, erase (random erasing), or none")
        ->capture_default_str();
    c->add_option("--erase-prob", o->erase_prob,
                  "Probability of random erasing per image (with --augment ...,erase)")
        ->capture_default_str();
    c->add_option("--shuffle", o->shuffle, "on, or off for batches in file order")
        ->capture_default_str();
    c->add_option("--limit-train", o->limit_train, "Use only the first N training images");
    c->add_option("--seed", o->seed, "Seed: same seed, same bytes")->capture_default_str();
    c->add_option("--threads", o->threads, "Threads (0 = all cores); never changes the result");
    c->add_option("--eval-batch", o->eval_batch, "Images per evaluation batch")
        ->capture_default_str();
    c->add_option("--test", o->test, "on: evaluate the test split after every epoch; off")
        ->capture_default_str();
    c->add_flag("--resume", o->resume, "Continue the run in -o DIR from its last saved state");
    c->add_option("--from", o->from, "Start from a model file's weights and normalisation");
    c->add_flag("-q,--quiet", o->quiet, "No progress or epoch lines on standard error");
    return [o, c]() { run_train(*o, *c); };
}

} // namespace rpb::cli
