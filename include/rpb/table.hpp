// Learned bias tables: initialisation, and reading one from an array or a .safetensors map.
//
// In memory a table is always a float32 tensor of shape (entries, heads): PyTorch's
// nn.Embedding(entries, heads).weight (HF T5, torchscale, zeta) and Swin/BEiT's
// relative_position_bias_table. T5X stores the transpose (heads, entries); both are read.
#pragma once

#include "rpb/array.hpp"
#include "rpb/safetensors.hpp"
#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rpb {

enum class TableInit { trunc_normal, normal, zeros };

/// Parses "trunc-normal", "normal", "zeros"; throws UsageError naming the value otherwise.
TableInit parse_table_init(std::string_view name);
std::string_view table_init_name(TableInit init);

/// A fresh (entries, heads) table. Element (e, h) is value e * heads + h of the stream
/// random_stream::table of `seed` (random.hpp): normal(0, std), the same truncated at
/// +-2 std, or all zeros. Identical bytes on every machine and thread count.
/// Throws UsageError when entries or heads < 1, or std is negative or not finite.
FloatTensor init_table(int64_t entries, int64_t heads, TableInit init, float std, uint64_t seed);

/// How a 2-D array stores a table. auto_detect decides from the shape and refuses a shape
/// that fits both ways (entries == heads).
enum class TableLayout { auto_detect, entries_heads, heads_entries };

/// Parses "auto", "entries-heads", "heads-entries"; throws UsageError otherwise.
TableLayout parse_table_layout(std::string_view name);
std::string_view table_layout_name(TableLayout layout);

/// Which layouts a shape fits for `entries` rows and, when known, `heads` columns.
struct LayoutFit {
    bool entries_heads = false;
    bool heads_entries = false;
};
LayoutFit table_layout_fit(const Shape& shape, int64_t entries, std::optional<int64_t> heads);

/// Converts a 2-D array to an (entries, heads) float32 table. `heads` unset means "take
/// it from the array". `what` names the source in messages ("table.npy",
/// "ckpt.safetensors:relative_position_bias_table"). Throws:
///   rpb::Error      not 2-D, a shape that fits neither layout or not the forced one (the
///                   message names the expected and the found shape), NaN/inf values;
///   rpb::UsageError auto_detect on a shape that fits both ways (entries == heads): the
///                   message asks for --table-layout.
FloatTensor table_from_array(const Array& array, int64_t entries, std::optional<int64_t> heads,
                             TableLayout layout, std::string_view what);

/// The tensor `name` of a .safetensors map, or, when `name` is empty, the single tensor that
/// could be the table: 2-D with a dimension equal to `entries` (and the other equal to
/// `heads` when known). Returns its name. Throws rpb::Error when `name` is absent, or no
/// tensor or several tensors fit; the message lists the tensors (with shapes) that are
/// there or that fit. `origin` names the file.
std::string select_table_tensor(const TensorMap& tensors, std::string_view name, int64_t entries,
                                std::optional<int64_t> heads, std::string_view origin);

/// "FILE[:NAME]" split into its parts. A string naming an existing file is all path;
/// otherwise the path is the shortest prefix before a ':' that names an existing file, or,
/// when none does, everything before the last ':' (reading it then reports the path).
struct TableSpec {
    std::string path;
    std::string name; ///< empty: not given
};
TableSpec parse_table_spec(std::string_view spec);

/// Reads a table from .npy (a single array; a NAME is a UsageError; "-" reads standard
/// input) or .safetensors (detected by content, not extension), picks the tensor as
/// select_table_tensor does and converts it as table_from_array does. `scheme` gives the
/// number of entries; `heads` unset takes the heads from the file (the CLI passes --heads
/// only when the user gave it). Example: load_table(parse_table_spec("t5.safetensors:"
/// "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"), scheme, {},
/// TableLayout::auto_detect) -> (32, 12).
FloatTensor load_table(const TableSpec& spec, const Scheme& scheme, std::optional<int64_t> heads,
                       TableLayout layout);

/// The name a checkpoint gives the table: "relative_attention_bias.weight" (HF T5) for t5,
/// "relative_position_bias_table" (Swin, BEiT) for 1d and 2d. Used by --save-table.
std::string_view table_tensor_name(SchemeType type);

} // namespace rpb
