#include "rpb/dataset.hpp"

#include "rpb/error.hpp"
#include "rpb/idx.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fmt/format.h>
#include <system_error>

namespace rpb {

namespace fs = std::filesystem;

namespace {

constexpr int max_classes = 256;

// The plain file first (as formats.md lists it), then its gzip form.
std::string find_file(const std::string& dir, const std::string& name, std::string_view what) {
    std::error_code ec;
    for (const std::string& candidate : {name, name + ".gz"}) {
        const fs::path path = fs::path(dir) / candidate;
        if (fs::exists(path, ec)) {
            return path.string();
        }
    }
    throw Error(fmt::format("{}: no {}: looked for {} and {}.gz", dir, what, name, name));
}

std::string shape_text(const IdxArray& array) {
    return fmt::format("{} {}", idx_type_name(array.type), shape_string(array.dims));
}

} // namespace

ImageSet load_image_set(const std::string& dir, Split split, int num_classes) {
    if (num_classes < 1 || num_classes > max_classes) {
        throw UsageError(fmt::format("number of classes {} is not accepted (1 to {}: labels are "
                                     "uint8)",
                                     num_classes, max_classes));
    }
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw Error(fmt::format("{}: not a data set folder ({})", dir,
                                fs::exists(dir, ec) ? "not a directory" : "no such directory"));
    }
    const bool train = split == Split::train;
    const std::string prefix = train ? "train" : "t10k";
    const std::string_view what = train ? "training" : "test";
    const std::string images_path =
        find_file(dir, prefix + "-images-idx3-ubyte", fmt::format("{} images", what));
    const std::string labels_path =
        find_file(dir, prefix + "-labels-idx1-ubyte", fmt::format("{} labels", what));

    // Labels first: small, and their count is known before the large inflate starts.
    IdxArray labels = read_idx_file(labels_path);
    if (labels.type != IdxType::u8 || labels.dims.size() != 1) {
        throw Error(fmt::format("{}: labels must be uint8 with 1 dimension, found {}", labels_path,
                                shape_text(labels)));
    }
    IdxArray images = read_idx_file(images_path);
    if (images.type != IdxType::u8 || images.dims.size() != 3) {
        throw Error(fmt::format("{}: images must be uint8 with 3 dimensions (count, height, "
                                "width), found {}",
                                images_path, shape_text(images)));
    }
    if (std::find(images.dims.begin(), images.dims.end(), 0) != images.dims.end()) {
        throw Error(fmt::format("{}: no images in shape {} (none of count, height, width may "
                                "be 0)",
                                images_path, shape_string(images.dims)));
    }
    if (images.dims[0] != labels.dims[0]) {
        throw Error(fmt::format("{}: {} images in {} but {} labels in {}", dir, images.dims[0],
                                images_path, labels.dims[0], labels_path));
    }

    ImageSet set;
    set.count = images.dims[0];
    set.height = images.dims[1];
    set.width = images.dims[2];
    set.labels.resize(labels.data.size());
    for (size_t i = 0; i < labels.data.size(); ++i) {
        const auto label = static_cast<int32_t>(labels.data[i]);
        if (label >= num_classes) {
            throw Error(fmt::format("{}: label {} is {} (accepted: 0 to {} for {} classes)",
                                    labels_path, i, label, num_classes - 1, num_classes));
        }
        set.labels[i] = label;
    }
    const auto* pixels = reinterpret_cast<const uint8_t*>(images.data.data());
    set.pixels.assign(pixels, pixels + images.data.size());
    return set;
}

std::vector<std::string> default_class_names(const std::string& dir, int num_classes) {
    static const std::array<std::string, 10> fashion = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    std::vector<std::string> names;
    if (num_classes <= 0) {
        return names;
    }
    // The absolute path, so that "." or "data/" inside fashion-mnist/ still count.
    std::error_code ec;
    fs::path path = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    if (ec) {
        path = fs::path(dir).lexically_normal();
    }
    if (!path.has_filename()) {
        path = path.parent_path();
    }
    std::string folder = path.filename().string();
    std::transform(folder.begin(), folder.end(), folder.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (num_classes == 10 && folder.find("fashion") != std::string::npos) {
        return {fashion.begin(), fashion.end()};
    }
    for (int i = 0; i < num_classes; ++i) {
        names.push_back(num_classes == 10 ? std::to_string(i) : fmt::format("class {}", i));
    }
    return names;
}

} // namespace rpb
