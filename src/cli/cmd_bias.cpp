// rpbtool bias: the (heads, q, k) bias tensor a model adds to its attention logits, from a
// given table or a fresh one, streamed row by row whatever its size.
#include "cli_common.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "rpb/bias.hpp"
#include "rpb/error.hpp"
#include "rpb/table.hpp"
#include "table_options.hpp"

#include <fmt/format.h>
#include <memory>

namespace rpb::cli {

namespace {

struct BiasOptions {
    SchemeOptions scheme;
    TableOptions table;
    OutputOptions output;
    int64_t batch = 0; ///< 0: (H, q, k)
    CLI::Option* batch_option = nullptr;
    std::string save_table;
    bool quiet = false;
};

void run_bias(const BiasOptions& o) {
    const Scheme scheme = scheme_for_table(o.table, o.scheme);
    const OutputFormat format = resolve_format(o.output);
    std::optional<int64_t> batch;
    if (o.batch_option->count() > 0) {
        if (o.batch < 1 || o.batch > 65536) {
            throw UsageError(fmt::format(
                "--batch {} is out of range: expected an integer from 1 to 65536", o.batch));
        }
        batch = o.batch;
    }
    const FloatTensor table = resolve_table(o.table, scheme);
    const int64_t heads = table.dim(1);
    const Shape shape = bias_shape(scheme, heads, batch);
    const int64_t bytes = shape_size(shape) * static_cast<int64_t>(sizeof(float));

    auto out = open_output(o.output, format == OutputFormat::npy);
    auto progress = std::make_shared<Progress>("bias", bytes, o.quiet);
    const RowSource<float> source =
        bias_source(scheme, table, batch,
                    [progress](int64_t done, int64_t total) { progress->update(done, total); });
    nlohmann::json params = scheme_params(scheme);
    params["heads"] = heads;
    if (batch) {
        params["batch"] = *batch;
    }
    params["table"] = !o.table.cpb.empty()    ? nlohmann::json("cpb " + o.table.cpb)
                      : o.table.table.empty() ? nlohmann::json(o.table.init)
                                              : nlohmann::json(o.table.table);
    if (o.table.table.empty() && o.table.cpb.empty()) {
        params["std"] = o.table.std;
        params["seed"] = o.table.seed;
    }
    write_tensor(*out, format, source,
                 OutputMeta{"bias", std::string(scheme_type_name(scheme.type)), params});
    if (!o.save_table.empty()) {
        save_table(o.save_table, table, scheme.type);
    }
    out->commit();
}

} // namespace

Runner setup_bias(CLI::App& app) {
    auto options = std::make_shared<BiasOptions>();
    CLI::App* command =
        app.add_subcommand("bias", "Bias tensors (heads, q, k) from a table, given or initialised");
    command->configurable();
    add_scheme_options(*command, options->scheme);
    add_table_options(*command, options->table, true);
    options->batch_option =
        command->add_option("--batch", options->batch,
                            "zeta/torchscale layout (B*H, q, k), row b*H + h (default (H, q, k))");
    command->add_option("--save-table", options->save_table,
                        "Also write the table used (.npy or .safetensors)");
    command->add_flag("-q,--quiet", options->quiet, "No progress on standard error");
    add_output_options(*command, options->output);
    return [options]() { run_bias(*options); };
}

} // namespace rpb::cli
