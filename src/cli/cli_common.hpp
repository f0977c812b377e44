// Option groups shared by the subcommands: the scheme options, the output options, and
// the helpers that turn them into core-library values. No math here.
#pragma once

#include "rpb/output_file.hpp"
#include "rpb/scheme.hpp"
#include "rpb/tensor_writer.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace rpb::cli {

/// cli.md "Scheme options", as given on the command line (or in the --config file).
struct SchemeOptions {
    std::string type; ///< empty: inferred from --window
    int64_t num_buckets = 32;
    int64_t max_distance = 128;
    bool causal = false;
    int64_t qlen = 128;
    int64_t klen = -1; ///< -1: same as qlen
    int64_t offset = 0;
    std::string window; ///< "7", "7x7"; empty: 7x7 for 2d
    bool cls_token = false;

    // The options, to tell "given" from "default".
    CLI::Option* type_option = nullptr;
    CLI::Option* window_option = nullptr;
    CLI::Option* t5_options[6] = {};
    CLI::Option* cls_option = nullptr;
};

void add_scheme_options(CLI::App& command, SchemeOptions& options);

/// Resolves the type (inference from --window), checks that the options given belong to it,
/// and validates the scheme. Throws UsageError naming the option.
Scheme make_scheme(const SchemeOptions& options);

/// Whether any scheme option was given (else a checkpoint's table may say the scheme).
bool scheme_options_given(const SchemeOptions& options);

/// The scheme's parameters for the JSON "params" object.
nlohmann::json scheme_params(const Scheme& scheme);

/// cli.md "Output and errors": -o, --format, --force.
struct OutputOptions {
    std::string path = "-";
    std::string format; ///< empty: from the extension of path, else text
    bool force = false;
};

void add_output_options(CLI::App& command, OutputOptions& options);

/// The format to write: --format, else the extension of -o, else text.
OutputFormat resolve_format(const OutputOptions& options);

/// Opens the output; refuses binary output to a terminal unless --force.
std::unique_ptr<OutputFile> open_output(const OutputOptions& options, bool binary);

/// Parses an option's value as a positive window "W" or "HxW"; throws UsageError.
void parse_window(const std::string& text, int64_t& height, int64_t& width, bool& two_d);

} // namespace rpb::cli
