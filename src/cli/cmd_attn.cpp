// rpbtool attn: one multi-head self-attention layer with relative position bias (Swin
// WindowAttention; T5 self-attention with --scale 1), on a given or random input.
#include "attn_options.hpp"
#include "commands.hpp"
#include "rpb/attention_stream.hpp"
#include "rpb/error.hpp"
#include "rpb/swin_v2.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <memory>

namespace rpb::cli {

namespace {

struct AttnCommandOptions {
    AttnOptions attn;
    OutputOptions output;
    std::string probs; ///< --probs PATH; empty: not written
};

// The output of a many-window setup, computed as the writer asks for rows: input items come
// from the file reader or the in-memory random input.
RowSource<float> streamed_rows(AttnSetup& setup, const std::string& input_path) {
    const int64_t item_floats = setup.x_shape[1] * setup.x_shape[2];
    InputItems read_items;
    if (setup.reader) {
        read_items = [reader = std::shared_ptr<NpyFileReader>(std::move(setup.reader)),
                      what = fmt::format("--input {}", input_path),
                      item_floats](int64_t first, int64_t count, float* out) {
            reader->read_float32(first * item_floats, count * item_floats, out, what);
        };
    } else {
        read_items = [x = std::make_shared<FloatTensor>(std::move(setup.x)),
                      item_floats](int64_t first, int64_t count, float* out) {
            std::copy_n(x->data() + first * item_floats, count * item_floats, out);
        };
    }
    return streamed_attention(setup.x_shape, std::move(read_items), std::move(setup.weights),
                              EntryIndex(setup.scheme), setup.config);
}

nlohmann::json attn_params(const AttnSetup& run, const AttnOptions& o) {
    nlohmann::json params = scheme_params(run.scheme);
    params["embed_dim"] = run.embed_dim;
    params["heads"] = run.heads;
    params["scale"] = run.scale;
    params["input"] = o.input.empty() ? nlohmann::json("random") : nlohmann::json(o.input);
    params["weights"] = o.weights.empty() ? nlohmann::json("random") : nlohmann::json(o.weights);
    params["seed"] = o.table.seed;
    return params;
}

void run_attn(const AttnCommandOptions& o) {
    const OutputFormat format = resolve_format(o.output);
    OutputOptions probs_output{o.probs, "", o.output.force};
    bool probs_extension_known = false;
    OutputFormat probs_format = format_from_extension(o.probs, &probs_extension_known);
    if (!probs_extension_known) {
        probs_format = OutputFormat::npy;
    }
    // Open the outputs before the computation: a bad path fails at once, not after it.
    auto out = open_output(o.output, format == OutputFormat::npy);
    std::unique_ptr<OutputFile> probs_out;
    if (!o.probs.empty()) {
        probs_out = open_output(probs_output, probs_format == OutputFormat::npy);
    }
    // Without probabilities, a large batch of windows is computed piece by piece as the
    // writer asks for it (same bits as the whole computation, a few MB of memory). Its input
    // is checked in full first only where a partial output could be seen (a pipe, not a
    // file renamed into place on success nor /dev/null): 1-2 ms of a 20 ms Swin run.
    const bool want_probs = !o.probs.empty();
    const InputReading reading = want_probs                    ? InputReading::whole
                                 : out->shows_partial_output() ? InputReading::streamed_checked
                                                               : InputReading::streamed;
    AttnSetup setup = prepare_attention(o.attn, reading);
    const nlohmann::json params = attn_params(setup, o.attn);
    const OutputMeta meta{"attn", std::string(scheme_type_name(setup.scheme.type)), params};
    if (!want_probs && !setup.logit_scale &&
        attention_group_items(setup.x_shape[0], setup.x_shape[1]) > 0) {
        write_tensor(*out, format, streamed_rows(setup, o.attn.input), meta);
        out->commit();
        return;
    }
    FloatTensor probs;
    FloatTensor output = setup.logit_scale
                             ? swin_v2_attention(setup.x, setup.weights, *setup.logit_scale,
                                                 EntryIndex(setup.scheme), setup.config,
                                                 want_probs ? &probs : nullptr)
                             : attention_forward(setup.x, setup.weights, EntryIndex(setup.scheme),
                                                 setup.config, want_probs ? &probs : nullptr);
    if (setup.input_was_2d) {
        output = FloatTensor({output.dim(1), output.dim(2)}, std::move(output.storage()));
    }
    write_tensor(*out, format, rows_of(output), meta);
    if (want_probs) {
        write_tensor(*probs_out, probs_format, rows_of(probs), meta);
        probs_out->commit();
    }
    out->commit();
}

} // namespace

Runner setup_attn(CLI::App& app) {
    auto options = std::make_shared<AttnCommandOptions>();
    CLI::App* command = app.add_subcommand(
        "attn", "Multi-head self-attention with relative position bias (output, probabilities)");
    command->configurable();
    add_attn_options(*command, options->attn);
    command->add_option("--probs", options->probs,
                        "Also write the attention probabilities (B, H, N, N) here (format from "
                        "the extension, default npy)");
    add_output_options(*command, options->output);
    return [options]() { run_attn(*options); };
}

} // namespace rpb::cli
