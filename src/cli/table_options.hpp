// Options that choose a bias table, shared by bias, attn and visualize: --heads, --table,
// --table-layout, --init, --std, --seed.
#pragma once

#include "cli_common.hpp"
#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace rpb::cli {

struct TableOptions {
    int64_t heads = 12;
    std::string table; ///< FILE[:NAME]; empty: initialise
    std::string layout = "auto";
    std::string init = "trunc-normal";
    double std = 0.02; ///< double, so that JSON params print 0.02, not 0.0199999995
    uint64_t seed = 0;
    std::string cpb;               ///< FILE:PREFIX of a Swin V2 block; empty: none
    std::string pretrained_window; ///< --pretrained-window HxW for --cpb; empty: the window

    CLI::Option* heads_option = nullptr;

    /// --heads when the user gave it (a table file decides otherwise).
    std::optional<int64_t> given_heads() const;
};

/// Adds the options; `with_init` adds --init, --std, --cpb and --pretrained-window (bias,
/// visualize), not for attn, whose fresh tables come with its fresh weights.
void add_table_options(CLI::App& command, TableOptions& options, bool with_init);

/// The (entries, heads) table: read from --table, made by a Swin V2 MLP (--cpb), or
/// initialised from --init/--std/--seed.
FloatTensor resolve_table(const TableOptions& options, const Scheme& scheme);

/// The scheme the options give; with --cpb and no scheme option, the Swin V2 block's own
/// window (from its relative_position_index or relative_coords_table).
Scheme scheme_for_table(const TableOptions& table, const SchemeOptions& scheme);

/// Writes a table to FILE as .npy or .safetensors (named as the scheme's models name it),
/// whole or not at all. Throws UsageError for another extension.
void save_table(const std::string& path, const FloatTensor& table, SchemeType type);

} // namespace rpb::cli
