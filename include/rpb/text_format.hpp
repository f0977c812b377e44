// Human-readable tensor printing in numpy's style: nested brackets, aligned columns, and
// tensors of more than 1000 values summarised with "..." (3 items at each edge). Only the
// rows that are shown are ever requested from the source.
#pragma once

#include "rpb/output_file.hpp"
#include "rpb/tensor_writer.hpp"

namespace rpb {

void write_text(OutputFile& out, const RowSource<float>& source);
void write_text(OutputFile& out, const RowSource<int32_t>& source);

} // namespace rpb
