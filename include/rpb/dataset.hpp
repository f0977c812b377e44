// Image data sets for `rpbtool train` and `eval`: the four IDX files of MNIST and
// Fashion-MNIST in one folder (formats.md "IDX image data").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rpb {

enum class Split { train, test };

/// Grey-scale images with their labels.
struct ImageSet {
    int64_t count = 0, height = 0, width = 0; // one channel
    std::vector<uint8_t> pixels;              // count * height * width, row-major
    std::vector<int32_t> labels;              // count, each in [0, num_classes)
};

/// Loads one split from `dir`: train-images-idx3-ubyte + train-labels-idx1-ubyte
/// (Split::train) or t10k-images-idx3-ubyte + t10k-labels-idx1-ubyte (Split::test), each
/// as it is or with ".gz" (the plain file wins when both exist). Throws rpb::Error for
/// a missing file ("<dir>: no training images: looked for train-images-idx3-ubyte and
/// train-images-idx3-ubyte.gz"), read_idx_file's errors, images that are not uint8 with
/// 3 dimensions (count, height, width) of which none is 0, labels that are not uint8
/// with 1 dimension, counts that differ, and a label >= num_classes ("<path>: label 5 is
/// 12 (accepted: 0 to 9 for 10 classes)": the first bad one). rpb::UsageError when
/// num_classes is outside [1, 256] (uint8 labels cannot name more).
/// Example: load_image_set("/usr/share/datasets/fashion-mnist", Split::test) has count
/// 10000, height 28, width 28, labels 9, 2, 1, 1, ...
ImageSet load_image_set(const std::string& dir, Split split, int num_classes = 10);

/// Names for the classes of the data set in `dir`: Fashion-MNIST's ten ("T-shirt/top",
/// "Trouser", ..., "Ankle boot") when num_classes is 10 and the folder's own name (the
/// last component of its absolute path) contains "fashion" in any case; else "0".."9"
/// for 10 classes (MNIST's digits); else "class 0", "class 1", ... Looks at the name only,
/// never at the files. num_classes <= 0 gives no names.
std::vector<std::string> default_class_names(const std::string& dir, int num_classes);

} // namespace rpb
