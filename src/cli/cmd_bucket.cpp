// rpbtool bucket: the index map (which table entry each query/key pair reads), or with
// --summary one row per table entry.
#include "cli_common.hpp"
#include "commands.hpp"
#include "rpb/error.hpp"
#include "rpb/index.hpp"

#include <fmt/format.h>
#include <memory>

namespace rpb::cli {

namespace {

struct BucketOptions {
    SchemeOptions scheme;
    OutputOptions output;
    bool summary = false;
};

std::string offset_label(const Scheme& scheme, int32_t entry) {
    const WindowOffset offset = window_offset(scheme, entry);
    switch (offset.kind) {
    case WindowOffset::Kind::cls_to_token:
        return "cls -> token";
    case WindowOffset::Kind::token_to_cls:
        return "token -> cls";
    case WindowOffset::Kind::cls_to_cls:
        return "cls -> cls";
    case WindowOffset::Kind::spatial:
        break;
    }
    return scheme.type == SchemeType::window1d ? fmt::format("{}", offset.dx)
                                               : fmt::format("({}, {})", offset.dy, offset.dx);
}

std::string distance_label(const EntryUsage& u) {
    if (!u.has_distance_range) {
        return "-";
    }
    return u.min_distance == u.max_distance
               ? fmt::format("{}", u.min_distance)
               : fmt::format("{} .. {}", u.min_distance, u.max_distance);
}

// The summary is a small table (one row per entry), so it is built in memory.
void write_summary(const Scheme& scheme, const OutputOptions& output_options) {
    const OutputFormat format = resolve_format(output_options);
    if (format == OutputFormat::npy) {
        throw UsageError("--summary writes text, json or csv, not npy");
    }
    const auto usage = summarize_entries(scheme);
    const bool t5 = scheme.type == SchemeType::t5;
    std::string text;
    if (format == OutputFormat::json) {
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& u : usage) {
            nlohmann::json row = {{"entry", u.entry}, {"pairs", u.pairs}};
            if (t5 && u.has_distance_range) {
                row["min_distance"] = u.min_distance;
                row["max_distance"] = u.max_distance;
            }
            if (!t5) {
                const WindowOffset offset = window_offset(scheme, u.entry);
                if (offset.kind == WindowOffset::Kind::spatial) {
                    if (scheme.type == SchemeType::window2d) {
                        row["dy"] = offset.dy;
                    }
                    row["dx"] = offset.dx;
                } else {
                    row["kind"] = offset_label(scheme, u.entry);
                }
            }
            rows.push_back(row);
        }
        nlohmann::json params = scheme_params(scheme);
        params["summary"] = true;
        const nlohmann::json doc = {
            {"command", "bucket"},
            {"type", scheme_type_name(scheme.type)},
            {"params", params},
            {"dtype", "int64"},
            {"shape", {usage.size()}},
            {"columns", t5 ? nlohmann::json{"entry", "pairs", "min_distance", "max_distance"}
                           : nlohmann::json{"entry", "pairs", "dy", "dx", "kind"}},
            {"data", rows}};
        text = doc.dump() + "\n";
    } else if (format == OutputFormat::csv) {
        text = t5 ? "bucket,pairs,min_distance,max_distance\n" : "entry,pairs,offset\n";
        for (const auto& u : usage) {
            text +=
                t5 ? (u.has_distance_range ? fmt::format("{},{},{},{}\n", u.entry, u.pairs,
                                                         u.min_distance, u.max_distance)
                                           : fmt::format("{},{},,\n", u.entry, u.pairs))
                   : fmt::format("{},{},\"{}\"\n", u.entry, u.pairs, offset_label(scheme, u.entry));
        }
    } else {
        text = fmt::format("# {}\n", scheme.describe());
        text += t5 ? fmt::format("{:>6}  {:>12}  {}\n", "bucket", "pairs", "key - query")
                   : fmt::format("{:>6}  {:>12}  {}\n", "entry", "pairs",
                                 scheme.type == SchemeType::window1d ? "query - key"
                                                                     : "query - key (dy, dx)");
        for (const auto& u : usage) {
            text += fmt::format("{:>6}  {:>12}  {}\n", u.entry, u.pairs,
                                t5 ? distance_label(u) : offset_label(scheme, u.entry));
        }
    }
    auto out = open_output(output_options, false);
    out->write(text);
    out->commit();
}

void run_bucket(const BucketOptions& options) {
    const Scheme scheme = make_scheme(options.scheme);
    if (options.summary) {
        write_summary(scheme, options.output);
        return;
    }
    const OutputFormat format = resolve_format(options.output);
    // Rows are produced on demand from the q + k - 1 distinct entries (t5, 1d) or the
    // small dense window map, so even a 16384 x 16384 map streams in little memory.
    const auto index = std::make_shared<EntryIndex>(scheme);
    RowSource<int32_t> source;
    source.shape = {index->rows(), index->cols()};
    source.fill = [index](int64_t first, int64_t count, int32_t* out) {
        for (int64_t i = first; i < first + count; ++i) {
            std::copy_n(index->row(i), index->cols(), out + (i - first) * index->cols());
        }
    };
    OutputMeta meta{"bucket", std::string(scheme_type_name(scheme.type)), scheme_params(scheme)};
    auto out = open_output(options.output, format == OutputFormat::npy);
    write_tensor(*out, format, source, meta);
    out->commit();
}

} // namespace

Runner setup_bucket(CLI::App& app) {
    auto options = std::make_shared<BucketOptions>();
    CLI::App* command = app.add_subcommand(
        "bucket", "Which table entry each (query, key) pair reads: an int32 map");
    command->configurable();
    add_scheme_options(*command, options->scheme);
    command->add_flag("--summary", options->summary,
                      "One row per table entry: pairs reading it and, for t5, the key - query "
                      "distances it covers");
    add_output_options(*command, options->output);
    return [options]() { run_bucket(*options); };
}

} // namespace rpb::cli
