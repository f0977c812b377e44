#include "cli_common.hpp"

#include "rpb/error.hpp"

#include <charconv>
#include <fmt/format.h>

namespace rpb::cli {

void add_scheme_options(CLI::App& command, SchemeOptions& o) {
    auto* group = command.add_option_group("Scheme options");
    o.type_option = group->add_option("--type", o.type,
                                      "Scheme: t5 | 1d | 2d (default t5, or from --window: "
                                      "HxW means 2d, W means 1d)");
    o.t5_options[0] =
        group->add_option("--num-buckets", o.num_buckets, "T5 buckets")->capture_default_str();
    o.t5_options[1] = group->add_option("--max-distance", o.max_distance, "T5 max distance")
                          ->capture_default_str();
    o.t5_options[2] =
        group->add_flag("--causal", o.causal, "T5 unidirectional (decoder) bucketing");
    o.t5_options[3] = group->add_option("--qlen", o.qlen, "T5 query length")->capture_default_str();
    o.t5_options[4] = group->add_option("--klen", o.klen, "T5 key length (default: qlen)");
    o.t5_options[5] =
        group->add_option("--offset", o.offset, "T5 position of the first query (zeta step)")
            ->capture_default_str();
    o.window_option = group->add_option("--window", o.window,
                                        "Window: W (1d) or HxW (2d; with --type 2d, 7 means "
                                        "7x7); default 7x7 for 2d");
    o.cls_option =
        group->add_flag("--cls-token", o.cls_token, "2d: BEiT class token (3 extra table entries)");
}

void parse_window(const std::string& text, int64_t& height, int64_t& width, bool& two_d) {
    auto bad = [&]() {
        return UsageError(
            fmt::format("--window {}: expected a positive integer W or HxW, e.g. 7 or 7x7", text));
    };
    auto parse = [&](std::string_view part) {
        int64_t value = 0;
        const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || error != std::errc() || end != part.data() + part.size()) {
            throw bad();
        }
        if (value < 1) {
            throw UsageError(fmt::format(
                "--window {}: each side must be a positive integer, e.g. 7 or 7x7", text));
        }
        return value;
    };
    const auto x = text.find('x');
    if (x == std::string::npos) {
        height = width = parse(text);
        two_d = false;
    } else {
        height = parse(std::string_view(text).substr(0, x));
        width = parse(std::string_view(text).substr(x + 1));
        two_d = true;
    }
}

Scheme make_scheme(const SchemeOptions& o) {
    Scheme scheme;
    int64_t height = 7, width = 7;
    bool window_is_2d = true;
    const bool window_given = o.window_option && o.window_option->count() > 0;
    if (window_given) {
        parse_window(o.window, height, width, window_is_2d);
    }
    const bool type_given = o.type_option && o.type_option->count() > 0 && !o.type.empty();
    std::string type = o.type;
    if (!type_given) {
        type = window_given ? (window_is_2d ? "2d" : "1d") : "t5";
    }
    if (type == "t5") {
        scheme.type = SchemeType::t5;
    } else if (type == "1d") {
        scheme.type = SchemeType::window1d;
    } else if (type == "2d") {
        scheme.type = SchemeType::window2d;
    } else {
        throw UsageError(fmt::format("--type {}: unknown scheme: expected t5, 1d or 2d", type));
    }

    // Options that belong to another scheme are an error rather than silently ignored.
    for (CLI::Option* option : o.t5_options) {
        if (scheme.type != SchemeType::t5 && option && option->count() > 0) {
            throw UsageError(
                fmt::format("{} applies to --type t5, not --type {}", option->get_name(), type));
        }
    }
    if (scheme.type == SchemeType::t5 && window_given) {
        throw UsageError(
            fmt::format("--window {} applies to --type 1d or 2d, not --type t5", o.window));
    }
    if (scheme.type != SchemeType::window2d && o.cls_token) {
        throw UsageError(fmt::format("--cls-token applies to --type 2d, not --type {}", type));
    }
    if (scheme.type == SchemeType::window1d && window_given && window_is_2d) {
        throw UsageError(fmt::format(
            "--window {} is two-dimensional: --type 1d takes a single length, e.g. 7", o.window));
    }
    if (scheme.type == SchemeType::window1d && !window_given) {
        throw UsageError("--type 1d needs --window W, the window length, e.g. --window 7");
    }

    scheme.t5 = {o.num_buckets, o.max_distance, !o.causal};
    scheme.qlen = o.qlen;
    scheme.klen = o.klen < 0 && !(o.t5_options[4] && o.t5_options[4]->count()) ? o.qlen : o.klen;
    scheme.offset = o.offset;
    scheme.window_h = height;
    scheme.window_w = width;
    scheme.cls_token = o.cls_token;
    scheme.validate();
    return scheme;
}

bool scheme_options_given(const SchemeOptions& s) {
    bool given =
        s.type_option->count() > 0 || s.window_option->count() > 0 || s.cls_option->count() > 0;
    for (const CLI::Option* option : s.t5_options) {
        given = given || (option != nullptr && option->count() > 0);
    }
    return given;
}

nlohmann::json scheme_params(const Scheme& s) {
    switch (s.type) {
    case SchemeType::t5:
        return {{"num_buckets", s.t5.num_buckets},
                {"max_distance", s.t5.max_distance},
                {"bidirectional", s.t5.bidirectional},
                {"qlen", s.qlen},
                {"klen", s.klen},
                {"offset", s.offset}};
    case SchemeType::window1d:
        return {{"window", s.window_w}, {"entries", s.num_entries()}};
    case SchemeType::window2d:
        return {{"window", {s.window_h, s.window_w}},
                {"cls_token", s.cls_token},
                {"entries", s.num_entries()}};
    }
    return nlohmann::json::object();
}

void add_output_options(CLI::App& command, OutputOptions& o) {
    auto* group = command.add_option_group("Output options");
    group->add_option("-o,--output", o.path, "Output file; - is standard output")
        ->capture_default_str();
    group->add_option("--format", o.format,
                      "text | json | npy | csv (default: from the extension of -o, else text)");
    group->add_flag("--force", o.force, "Write binary output to a terminal anyway");
}

OutputFormat resolve_format(const OutputOptions& o) {
    if (!o.format.empty()) {
        return parse_output_format(o.format);
    }
    return format_from_extension(o.path);
}

std::unique_ptr<OutputFile> open_output(const OutputOptions& o, bool binary) {
    auto out = std::make_unique<OutputFile>(o.path);
    if (binary && out->is_terminal() && !o.force) {
        throw UsageError(fmt::format(
            "refusing to write binary output to a terminal ({}): redirect it, give -o FILE, "
            "or add --force",
            out->display_name()));
    }
    return out;
}

} // namespace rpb::cli
