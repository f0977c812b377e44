// What each head of a learned window table prefers, in a few numbers: how strongly it favours
// near keys, the key at its own position, its row over its column, and whether it is mirror
// symmetric. `rpbtool inspect --structure` prints them; docs/experiments.md reads them to say
// what a trained ViT's heads learned (locality, direction) without eyeballing pictures alone.
//
// All of them describe the table's spatial entries as they are (each offset counted once, not
// weighted by how many query-key pairs read it), so that a table can be read on its own.
#pragma once

#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"

#include <cstdint>
#include <vector>

namespace rpb {

/// One head's numbers. The window schemes' offset is query - key: (dy, dx) for 2d, d for 1d
/// (dy = 0). NaN where a number is undefined (a constant table has no correlation; 1d tables
/// have no columns; tables without a class token no class entries).
struct HeadStructure {
    int64_t head = 0;
    /// (b(0, 0) - mean) / std over the spatial entries: how much more a token attends to its own
    /// position than to an average offset.
    double self = 0;
    /// Pearson correlation of b with minus the Euclidean length of the offset: +1 for a bias
    /// that falls with distance, 0 for none, -1 for one that favours far keys.
    double locality = 0;
    /// 2d: (mean of b over dy = 0, dx != 0) - (mean over dx = 0, dy != 0), in std: > 0 favours
    /// keys in the query's row (horizontal), < 0 in its column (vertical).
    double row_minus_column = 0;
    /// Pearson correlation of b(dy, dx) with b(dy, -dx) over all offsets: 1 for a table that is
    /// left-right symmetric (what horizontal-flip augmentation would make), -1 antisymmetric.
    /// For 1d: b(d) with b(-d), looking forward against looking back.
    double mirror = 0;
    /// 1d tables of a sequence of image patches (row_length > 0): Pearson correlation of b(d)
    /// with b(d + row_length) over all d where both exist. Keys one image row further away sit
    /// row_length tokens further along the sequence, so a head that treats the same column of
    /// neighbouring rows alike, having found the image's rows in a 1d sequence, scores high.
    double row_period = 0;
    /// The class token's entries (2d with a class token), raw: class token to a patch, a patch
    /// to the class token, the class token to itself.
    double cls_to_token = 0;
    double token_to_cls = 0;
    double cls_to_cls = 0;
};

/// One HeadStructure per column of `table` (entries, heads) of a 1d or 2d window scheme;
/// `row_length` > 0 says that a 1d table's tokens are image patches, row by row, that many a
/// row (row_period is NaN without it, and for 2d tables). Throws rpb::UsageError for t5 (its
/// buckets are not offsets) and rpb::Error when the table's rows do not match the scheme.
std::vector<HeadStructure> table_structure(const FloatTensor& table, const Scheme& scheme,
                                           int64_t row_length = 0);

} // namespace rpb
