#include "attn_options.hpp"

#include "rpb/array.hpp"
#include "rpb/checkpoint_attention.hpp"
#include "rpb/error.hpp"
#include "rpb/npy.hpp"
#include "rpb/output_file.hpp"
#include "rpb/random.hpp"
#include "rpb/safetensors.hpp"
#include "rpb/swin_v2.hpp"
#include "rpb/worker_thread.hpp"

#include <cmath>
#include <exception>
#include <fmt/format.h>
#include <map>

namespace rpb::cli {

namespace {

constexpr int64_t max_embed_dim = 65536;
constexpr int64_t max_batch = 65536;

std::string with_dot(const std::string& prefix) {
    return prefix.empty() || prefix.back() == '.' ? prefix : prefix + ".";
}

// The checkpoint mapped, and the attention block under --prefix (any family's names).
std::optional<CheckpointAttention> load_block(const AttnOptions& o, const SafetensorsFile& file) {
    const std::string prefix = with_dot(o.prefix);
    bool any = false;
    for (const auto& e : file.entries()) {
        any = any || e.name.compare(0, prefix.size(), prefix) == 0;
    }
    if (!any) {
        std::string names;
        int shown = 0;
        for (const auto& entry : file.entries()) {
            if (shown++ == 8) {
                names += fmt::format(", ... ({} in all)", file.entries().size());
                break;
            }
            names += (names.empty() ? "" : ", ") + entry.name;
        }
        throw Error(fmt::format("--weights {}: no tensor names start with --prefix '{}'; it "
                                "holds: {}",
                                o.weights, o.prefix, names));
    }
    std::optional<int64_t> embed_dim;
    if (o.embed_dim_option->count() > 0) {
        embed_dim = o.embed_dim;
    }
    return load_attention(file, o.prefix, embed_dim, o.table.given_heads());
}

void check_input_layout(const std::string& path, const Shape& shape, DType dtype) {
    if (shape.size() != 2 && shape.size() != 3) {
        throw Error(fmt::format("--input {}: expected shape (N, E) or (B, N, E), found {}", path,
                                shape_string(shape)));
    }
    if (dtype != DType::f32 && dtype != DType::f64) {
        throw Error(fmt::format("--input {}: expected float32 or float64, found {}", path,
                                dtype_name(dtype)));
    }
}

// Bytes of input converted per read when a file is checked or streamed piece by piece.
constexpr int64_t input_piece_bytes = int64_t{256} << 10;

// The input, given as --input: its shape, and either its values or a reader for them.
struct LoadedInput {
    Shape shape; ///< (B, N, E); a 2-D file is (1, N, E)
    bool was_2d = false;
    FloatTensor x;
    std::unique_ptr<NpyFileReader> reader;
};

// Opens --input. A regular file stays open (prepare_attention streams it or reads it
// straight into the tensor); a pipe (or Fortran-order data) is read whole and converted.
LoadedInput load_input(const std::string& path) {
    LoadedInput input;
    if (auto reader = NpyFileReader::open(path)) {
        check_input_layout(path, reader->shape(), reader->dtype());
        input.shape = reader->shape();
        input.reader = std::move(reader);
    } else {
        const Array array = read_npy(path);
        check_input_layout(path, array.shape, array.dtype);
        input.x = to_float32(array, fmt::format("--input {}", path));
        input.shape = array.shape;
    }
    input.was_2d = input.shape.size() == 2;
    if (input.was_2d) {
        input.shape.insert(input.shape.begin(), 1);
        if (!input.reader) {
            input.x = FloatTensor(input.shape, std::move(input.x.storage()));
        }
    }
    return input;
}

// Every value of a streamed input is checked before any output is written (the same
// messages as a whole read): an error never leaves a half-written pipe or device. The two
// halves are checked on two threads; the first bad value in file order is the one named.
void check_streamed_input(const NpyFileReader& reader, const std::string& path) {
    const std::string what = fmt::format("--input {}", path);
    const int64_t piece = std::max<int64_t>(1, input_piece_bytes / int64_t{sizeof(float)});
    auto check = [&](int64_t begin, int64_t end) {
        std::vector<float> scratch(static_cast<size_t>(std::min(piece, end - begin)));
        for (int64_t first = begin; first < end; first += piece) {
            reader.read_float32(first, std::min(piece, end - first), scratch.data(), what);
        }
    };
    const int64_t middle = (reader.count() / piece + 1) / 2 * piece;
    if (middle >= reader.count()) {
        check(0, reader.count());
        return;
    }
    std::exception_ptr second_error;
    WorkerThread second([&] {
        try {
            check(middle, reader.count());
        } catch (...) {
            second_error = std::current_exception();
        }
    });
    try {
        check(0, middle);
    } catch (...) {
        second.join();
        throw;
    }
    second.join();
    if (second_error) {
        std::rethrow_exception(second_error);
    }
}

} // namespace

void add_attn_options(CLI::App& command, AttnOptions& o) {
    add_scheme_options(command, o.scheme);
    add_table_options(command, o.table, false);
    auto* group = command.add_option_group("Attention options");
    o.embed_dim_option =
        group->add_option("--embed-dim", o.embed_dim, "Model width E, divisible by --heads")
            ->capture_default_str();
    group->add_option("--input", o.input, "x as .npy, (N, E) or (B, N, E), float32/64; - = stdin");
    o.tokens_option = group->add_option(
        "--tokens", o.tokens, "Random input length (default: the scheme's; t5: sets q = k)");
    o.batch_option =
        group->add_option("--batch", o.batch, "Random input batch")->capture_default_str();
    group->add_option("--weights", o.weights,
                      ".safetensors with qkv.weight/qkv.bias/proj.weight/proj.bias (Swin/timm) "
                      "or q/k/v/o.weight (HF T5), and the table");
    group->add_option("--prefix", o.prefix,
                      "Take the names under this prefix, e.g. layers.0.blocks.1.attn.");
    group->add_option("--save-weights", o.save_weights, "Write the weights used (.safetensors)");
    o.scale_option = group->add_option("--scale", o.scale,
                                       "Logit scale (default head_dim^-0.5; 1 reproduces T5)");
}

std::string AttnSetup::describe() const {
    return fmt::format("{}; E={} heads={} scale={:g}", scheme.describe(), embed_dim, heads, scale);
}

AttnSetup prepare_attention(const AttnOptions& o, InputReading reading) {
    AttnSetup run;
    // The input first: for t5 its length sets q = k.
    LoadedInput input;
    if (!o.input.empty()) {
        if (o.tokens_option->count() > 0 || o.batch_option->count() > 0) {
            throw UsageError("--tokens and --batch shape the random input: not with --input");
        }
        input = load_input(o.input);
        run.input_was_2d = input.was_2d;
    }
    // The checkpoint's block first: without scheme options its table says the scheme.
    std::unique_ptr<SafetensorsFile> file;
    std::optional<CheckpointAttention> block;
    if (!o.weights.empty()) {
        file = std::make_unique<SafetensorsFile>(o.weights);
        block = load_block(o, *file);
    }
    Scheme scheme = make_scheme(o.scheme);
    if (!scheme_options_given(o.scheme) && block && block->bias && block->bias->resolved) {
        scheme = block->bias->scheme;
    }
    if (scheme.type == SchemeType::t5) {
        const bool qlen_given = o.scheme.t5_options[3]->count() > 0;
        int64_t n = scheme.qlen;
        if (!o.input.empty()) {
            n = input.shape[1];
        } else if (o.tokens_option->count() > 0) {
            n = o.tokens;
        }
        if (qlen_given && n != scheme.qlen) {
            throw UsageError(
                fmt::format("--qlen {} does not match the {} tokens of the input", scheme.qlen, n));
        }
        if (o.scheme.t5_options[4]->count() > 0 && o.scheme.klen != n) {
            throw UsageError(fmt::format(
                "--klen {}: self-attention has as many keys as queries ({})", o.scheme.klen, n));
        }
        scheme.qlen = n;
        scheme.klen = n;
    }
    scheme.validate();
    run.scheme = scheme;
    const int64_t n = run.scheme.num_queries();

    // E and H come from the checkpoint unless given.
    run.embed_dim = block ? block->embed_dim : o.embed_dim;
    if (!o.input.empty() && o.embed_dim_option->count() == 0 && !block) {
        run.embed_dim = input.shape[2];
    }
    if (run.embed_dim < 1 || run.embed_dim > max_embed_dim) {
        throw UsageError(fmt::format("--embed-dim {} is out of range: expected an integer from 1 "
                                     "to {}",
                                     run.embed_dim, max_embed_dim));
    }
    std::optional<FloatTensor> table;
    if (!o.table.table.empty()) {
        table = resolve_table(o.table, run.scheme);
    }
    run.heads = o.table.heads;
    if (!o.table.given_heads()) {
        if (table) {
            run.heads = table->dim(1);
        } else if (block) {
            run.heads = block->heads;
            if (run.heads == 0) {
                throw UsageError(fmt::format("--weights {}: the block '{}' has no table to tell "
                                             "its heads: give --heads (or --table)",
                                             o.weights, block->prefix));
            }
        }
    }
    if (run.heads < 1 || run.heads > run.embed_dim || run.embed_dim % run.heads != 0) {
        throw UsageError(fmt::format("--embed-dim {} is not divisible by --heads {}: expected "
                                     "heads that divide the model width",
                                     run.embed_dim, run.heads));
    }
    AttentionWeights weights;
    if (!block) {
        weights = init_weights(run.embed_dim, run.heads, run.scheme.num_entries(), o.table.seed);
    } else {
        weights = std::move(block->weights);
        if (block->swin_v2) {
            if (run.scheme.type != SchemeType::window2d || run.scheme.cls_token) {
                throw UsageError(fmt::format("--prefix {}: a Swin V2 block needs a 2d window "
                                             "without class token, not {}",
                                             block->prefix, run.scheme.describe()));
            }
            if (!table) {
                table = cpb_table(block->cpb, run.scheme.window_h, run.scheme.window_w);
            }
            run.logit_scale = std::move(block->logit_scale);
        } else if (!table && weights.table.size() == 0) {
            throw Error(fmt::format("--weights {}: the block '{}' has no relative position bias "
                                    "table (nor one it shares): name one with --table FILE:NAME",
                                    o.weights, block->prefix));
        }
    }
    if (table) {
        weights.table = std::move(*table);
    }
    if (!o.save_weights.empty()) {
        if (!o.save_weights.ends_with(".safetensors")) {
            throw UsageError(fmt::format(
                "--save-weights {}: expected a file name ending in .safetensors", o.save_weights));
        }
        OutputFile out(o.save_weights);
        out.write(safetensors_bytes({{"proj.bias", weights.proj_bias},
                                     {"proj.weight", weights.proj_weight},
                                     {"qkv.bias", weights.qkv_bias},
                                     {"qkv.weight", weights.qkv_weight},
                                     {"relative_position_bias_table", weights.table}}));
        out.commit();
    }

    // The input: given, or seeded normal (B, N, E).
    if (o.input.empty()) {
        if (o.batch < 1 || o.batch > max_batch) {
            throw UsageError(
                fmt::format("--batch {} is out of range: expected an integer from 1 to {}", o.batch,
                            max_batch));
        }
        if (o.tokens_option->count() > 0 && o.tokens != n) {
            throw UsageError(fmt::format("--tokens {} does not fit the scheme: {} has {} tokens",
                                         o.tokens, run.scheme.describe(), n));
        }
        run.x_shape = {o.batch, n, run.embed_dim};
        run.x = FloatTensor(run.x_shape, polar_normal_values(o.table.seed, shape_size(run.x_shape),
                                                             1.0f, random_stream::input));
    } else if (input.shape[1] != n) {
        throw Error(fmt::format("--input {} has {} tokens, but {} has {}", o.input, input.shape[1],
                                run.scheme.describe(), n));
    } else if (input.shape[2] != run.embed_dim) {
        throw Error(fmt::format("--input {} has width {}, but --embed-dim is {}", o.input,
                                input.shape[2], run.embed_dim));
    } else {
        run.x_shape = input.shape;
        run.x = std::move(input.x);
        run.reader = std::move(input.reader);
    }

    run.config.heads = run.heads;
    run.config.causal = run.scheme.type == SchemeType::t5 && !run.scheme.t5.bidirectional;
    if (o.scale_option->count() > 0) {
        if (!std::isfinite(o.scale)) {
            throw UsageError(fmt::format("--scale {}: expected a finite number", o.scale));
        }
        run.config.scale = static_cast<float>(o.scale);
    } else if (block && block->family == "q,k,v") {
        run.config.scale = 1.0f; // HF T5 folds the scale into its initialisation
    }
    run.scale =
        run.config.scale.value_or(1.0f / std::sqrt(static_cast<float>(run.embed_dim / run.heads)));
    run.weights = std::move(weights);
    if (run.reader) {
        if (reading != InputReading::whole && !run.logit_scale &&
            attention_group_items(run.x_shape[0], run.x_shape[1]) > 0) {
            if (reading == InputReading::streamed_checked) {
                check_streamed_input(*run.reader, o.input);
            }
        } else {
            // Not streamed (too few windows, or the whole computation asked for): read whole.
            run.x = FloatTensor(run.x_shape);
            run.reader->read_float32(0, run.reader->count(), run.x.data(),
                                     fmt::format("--input {}", o.input));
            run.reader.reset();
        }
    }
    return run;
}

AttnRun run_attention(const AttnOptions& o, bool want_probs) {
    AttnRun run;
    static_cast<AttnSetup&>(run) = prepare_attention(o, InputReading::whole);
    const EntryIndex index(run.scheme);
    FloatTensor* probs = want_probs ? &run.probs : nullptr;
    run.output = run.logit_scale ? swin_v2_attention(run.x, run.weights, *run.logit_scale, index,
                                                     run.config, probs)
                                 : attention_forward(run.x, run.weights, index, run.config, probs);
    return run;
}

} // namespace rpb::cli
