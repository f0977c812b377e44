// rpbtool resize: 2d tables for a new window, as the official Swin code does for fine-tuning
// at a higher resolution (per head bicubic, PyTorch numerics); one table, or a whole
// checkpoint with its index buffers rewritten so that the model at the new window loads it.
#include "cli_common.hpp"
#include "commands.hpp"
#include "rpb/error.hpp"
#include "rpb/resize.hpp"
#include "rpb/table.hpp"
#include "table_options.hpp"

#include <fmt/format.h>
#include <memory>

namespace rpb::cli {

namespace {

struct ResizeOptions {
    std::string table;      ///< FILE[:NAME]
    std::string checkpoint; ///< FILE
    std::string window;     ///< HxW of --table
    std::string to;         ///< HxW
    std::string layout = "auto";
    std::string output;
    bool quiet = false;
};

void window_of(const std::string& option, const std::string& text, int64_t& h, int64_t& w) {
    bool two_d = false;
    try {
        parse_window(text, h, w, two_d);
    } catch (const UsageError& e) {
        // The shared parser names --window; say which option it was.
        const std::string message = e.what();
        throw UsageError(message.starts_with("--window") ? option + message.substr(8) : message);
    }
    if (h > 1024 || w > 1024) {
        throw UsageError(fmt::format("{} {}: expected sides from 1 to 1024", option, text));
    }
}

void resize_one_table(const ResizeOptions& o, int64_t to_h, int64_t to_w) {
    if (o.window.empty()) {
        throw UsageError("--table needs --window HxW, the window the table was trained at");
    }
    Scheme from;
    from.type = SchemeType::window2d;
    window_of("--window", o.window, from.window_h, from.window_w);
    const TableSpec spec = parse_table_spec(o.table);
    const TableLayout layout = parse_table_layout(o.layout);
    FloatTensor table;
    try {
        table = load_table(spec, from, std::nullopt, layout);
    } catch (const Error& first) {
        // A BEiT table has the 3 class-token entries more: try that before giving up.
        from.cls_token = true;
        try {
            table = load_table(spec, from, std::nullopt, layout);
        } catch (const Error&) {
            throw first;
        }
    }
    const FloatTensor resized = resize_table(table, from, to_h, to_w);
    save_table(o.output, resized, SchemeType::window2d);
}

void run_resize(const ResizeOptions& o) {
    if (o.table.empty() == o.checkpoint.empty()) {
        throw UsageError("resize needs exactly one of --table FILE[:NAME] and --checkpoint FILE");
    }
    if (o.to.empty()) {
        throw UsageError("resize needs --to HxW, the new window");
    }
    int64_t to_h = 0;
    int64_t to_w = 0;
    window_of("--to", o.to, to_h, to_w);
    if (!o.table.empty()) {
        if (o.output.empty() || o.output == "-") {
            throw UsageError("resize --table needs -o OUT.npy or OUT.safetensors");
        }
        resize_one_table(o, to_h, to_w);
        return;
    }
    if (!o.window.empty()) {
        throw UsageError("--window is for --table: a checkpoint's index buffers give its windows");
    }
    if (!o.output.ends_with(".safetensors")) {
        throw UsageError(fmt::format("-o {}: --checkpoint writes a .safetensors file (expected "
                                     "a name ending in .safetensors)",
                                     o.output.empty() ? "(none)" : o.output));
    }
    const SafetensorsFile file(o.checkpoint);
    OutputFile out(o.output);
    const auto changes = resize_checkpoint(
        file, to_h, to_w, [&](const void* data, size_t size) { out.write(data, size); });
    out.commit();
    if (!o.quiet) {
        fmt::print(stderr, "rpbtool: resized {} tensors of {} for a {}x{} window\n", changes.size(),
                   o.checkpoint, to_h, to_w);
    }
}

} // namespace

Runner setup_resize(CLI::App& app) {
    auto options = std::make_shared<ResizeOptions>();
    CLI::App* command = app.add_subcommand(
        "resize", "2d tables resized for a new window (Swin fine-tuning: per-head bicubic)");
    command->configurable();
    command->add_option("--table", options->table,
                        "One table, FILE[:NAME] (.npy or .safetensors), BEiT class-token "
                        "entries kept");
    command->add_option("--checkpoint", options->checkpoint,
                        "A whole .safetensors checkpoint: every 2d table and index buffer");
    command->add_option("--window", options->window, "--table: the window it was trained at, HxW");
    command->add_option("--to", options->to, "The new window, HxW (or W for WxW)");
    command
        ->add_option("--table-layout", options->layout,
                     "auto | entries-heads | heads-entries: how --table stores the table")
        ->capture_default_str();
    command->add_option("-o,--output", options->output,
                        "Output: .npy or .safetensors for --table, .safetensors for --checkpoint");
    command->add_flag("-q,--quiet", options->quiet, "No summary on standard error");
    return [options]() { run_resize(*options); };
}

} // namespace rpb::cli
