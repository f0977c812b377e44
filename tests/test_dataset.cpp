#include "idx_files.hpp"
#include "rpb/dataset.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <chrono>
#include <doctest/doctest.h>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

using namespace rpb;
using namespace idx_test;

namespace {

// Three 2x4 images whose pixels count up from `first`, and their labels.
std::string images_file(uint8_t first = 0, uint32_t count = 3) {
    std::string pixels(count * 8, '\0');
    for (size_t i = 0; i < pixels.size(); ++i) {
        pixels[i] = static_cast<char>(first + i);
    }
    return idx_header(0x08, {count, 2, 4}) + pixels;
}

std::string labels_file(const std::string& labels) {
    return idx_header(0x08, {static_cast<uint32_t>(labels.size())}) + labels;
}

std::vector<uint8_t> counting(uint8_t first, size_t n) {
    std::vector<uint8_t> v(n);
    std::iota(v.begin(), v.end(), first);
    return v;
}

} // namespace

TEST_CASE("rpb::load_image_set reads the two files of a split, plain or gzip") {
    TempDir dir;
    const std::string d = dir.path.string();
    dir.write("train-images-idx3-ubyte", images_file());
    dir.write("train-labels-idx1-ubyte", labels_file(std::string("\0\x09\x04", 3)));
    dir.write("t10k-images-idx3-ubyte.gz", gzip(images_file(100, 2)));
    dir.write("t10k-labels-idx1-ubyte.gz", gzip(labels_file("\x07\x01")));

    const ImageSet train = load_image_set(d, Split::train);
    CHECK(train.count == 3);
    CHECK(train.height == 2);
    CHECK(train.width == 4);
    CHECK(train.pixels == counting(0, 24));
    CHECK(train.labels == std::vector<int32_t>{0, 9, 4});

    const ImageSet test = load_image_set(d, Split::test);
    CHECK(test.count == 2);
    CHECK(test.pixels == counting(100, 16));
    CHECK(test.labels == std::vector<int32_t>{7, 1});

    SUBCASE("the plain file wins over its .gz") {
        dir.write("train-images-idx3-ubyte.gz", gzip(images_file(50)));
        CHECK(load_image_set(d, Split::train).pixels == counting(0, 24));
    }
    SUBCASE("labels are checked against the class count") {
        CHECK_THROWS_WITH_AS(load_image_set(d, Split::train, 5),
                             (d + "/train-labels-idx1-ubyte: label 1 is 9 (accepted: 0 to 4 for 5 "
                                  "classes)")
                                 .c_str(),
                             Error);
        CHECK(load_image_set(d, Split::train, 256).labels[1] == 9);
    }
}

TEST_CASE("rpb::load_image_set refuses inconsistent data sets by name") {
    TempDir dir;
    const std::string d = dir.path.string();
    const std::string images = d + "/train-images-idx3-ubyte";
    const std::string labels = d + "/train-labels-idx1-ubyte";

    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train),
                         (d + ": no training images: looked for train-images-idx3-ubyte and "
                              "train-images-idx3-ubyte.gz")
                             .c_str(),
                         Error);
    dir.write("train-images-idx3-ubyte", images_file());
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train),
                         (d + ": no training labels: looked for train-labels-idx1-ubyte and "
                              "train-labels-idx1-ubyte.gz")
                             .c_str(),
                         Error);
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::test),
                         (d + ": no test images: looked for t10k-images-idx3-ubyte and "
                              "t10k-images-idx3-ubyte.gz")
                             .c_str(),
                         Error);

    dir.write("train-labels-idx1-ubyte", labels_file("\x01\x02"));
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train),
                         (d + ": 3 images in " + images + " but 2 labels in " + labels).c_str(),
                         Error);

    dir.write("train-labels-idx1-ubyte", labels_file("\x01\x0c\x0b"));
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train),
                         (labels + ": label 1 is 12 (accepted: 0 to 9 for 10 classes)").c_str(),
                         Error);
    CHECK(load_image_set(d, Split::train, 13).labels == std::vector<int32_t>{1, 12, 11});

    dir.write("train-labels-idx1-ubyte", idx_header(0x08, {3, 1}) + "\x01\x02\x03");
    CHECK_THROWS_WITH_AS(
        load_image_set(d, Split::train),
        (labels + ": labels must be uint8 with 1 dimension, found uint8 (3, 1)").c_str(), Error);
    dir.write("train-labels-idx1-ubyte", idx_header(0x09, {3}) + "\x01\x02\x03");
    CHECK_THROWS_WITH_AS(
        load_image_set(d, Split::train),
        (labels + ": labels must be uint8 with 1 dimension, found int8 (3,)").c_str(), Error);

    dir.write("train-labels-idx1-ubyte", labels_file("\x01\x02\x03"));
    dir.write("train-images-idx3-ubyte", idx_header(0x0C, {3, 1, 1}) + std::string(12, '\0'));
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train),
                         (images + ": images must be uint8 with 3 dimensions (count, height, "
                                   "width), found int32 (3, 1, 1)")
                             .c_str(),
                         Error);
    dir.write("train-images-idx3-ubyte", idx_header(0x08, {3, 4}) + std::string(12, '\0'));
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train),
                         (images + ": images must be uint8 with 3 dimensions (count, height, "
                                   "width), found uint8 (3, 4)")
                             .c_str(),
                         Error);
    dir.write("train-images-idx3-ubyte", idx_header(0x08, {3, 0, 28}));
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train),
                         (images + ": no images in shape (3, 0, 28) (none of count, height, "
                                   "width may be 0)")
                             .c_str(),
                         Error);

    // The IDX reader's own errors come through with the file's path.
    dir.write("train-images-idx3-ubyte", images_file().substr(0, 30));
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train),
                         (images + ": truncated IDX data: shape (3, 2, 4) of uint8 needs 24 "
                                   "bytes, 14 present")
                             .c_str(),
                         Error);

    CHECK_THROWS_WITH_AS(load_image_set(d + "/nowhere", Split::train),
                         (d + "/nowhere: not a data set folder (no such directory)").c_str(),
                         Error);
    CHECK_THROWS_WITH_AS(load_image_set(images, Split::train),
                         (images + ": not a data set folder (not a directory)").c_str(), Error);
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train, 0),
                         "number of classes 0 is not accepted (1 to 256: labels are uint8)",
                         UsageError);
    CHECK_THROWS_WITH_AS(load_image_set(d, Split::train, 257),
                         "number of classes 257 is not accepted (1 to 256: labels are uint8)",
                         UsageError);
}

// Expected values read from the Debian package's files with Python's gzip module (not
// with this code): labels[:12], labels[-3:], the sum of all pixels, row 14 of image 0.
TEST_CASE("rpb::load_image_set reads Debian's Fashion-MNIST") {
    const std::string d = "/usr/share/datasets/fashion-mnist";
    if (!std::filesystem::is_directory(d)) {
        MESSAGE("skipped: " << d << " is absent (apt-get install dataset-fashion-mnist)");
        return;
    }
    const auto start = std::chrono::steady_clock::now();
    const ImageSet train = load_image_set(d, Split::train);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("fashion-mnist training set loaded in " << seconds * 1000 << " ms");
    CHECK(train.count == 60000);
    CHECK(train.height == 28);
    CHECK(train.width == 28);
    REQUIRE(train.pixels.size() == 47040000);
    REQUIRE(train.labels.size() == 60000);
    CHECK(std::vector<int32_t>(train.labels.begin(), train.labels.begin() + 12) ==
          std::vector<int32_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9});
    CHECK(std::vector<int32_t>(train.labels.end() - 3, train.labels.end()) ==
          std::vector<int32_t>{3, 0, 5});
    for (int32_t c = 0; c < 10; ++c) {
        CHECK(std::count(train.labels.begin(), train.labels.end(), c) == 6000);
    }
    CHECK(std::accumulate(train.pixels.begin(), train.pixels.end(), int64_t{0}) == 3431114169);
    CHECK(std::vector<uint8_t>(train.pixels.begin() + 14 * 28, train.pixels.begin() + 15 * 28) ==
          std::vector<uint8_t>{0,   0,   1,   4,   6,   7,   2,   0,   0,   0,   0,   0,   237, 226,
                               217, 223, 222, 219, 222, 221, 216, 223, 229, 215, 218, 255, 77,  0});

    const ImageSet test = load_image_set(d, Split::test);
    CHECK(test.count == 10000);
    CHECK(std::vector<int32_t>(test.labels.begin(), test.labels.begin() + 12) ==
          std::vector<int32_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5});
    CHECK(std::vector<int32_t>(test.labels.end() - 3, test.labels.end()) ==
          std::vector<int32_t>{8, 1, 5});
    CHECK(std::accumulate(test.pixels.begin(), test.pixels.end(), int64_t{0}) == 573469082);
    CHECK(default_class_names(d, 10)[9] == "Ankle boot");
}

TEST_CASE("rpb::default_class_names") {
    const std::vector<std::string> fashion = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                              "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};
    CHECK(default_class_names("/data/fashion-mnist", 10) == fashion);
    CHECK(default_class_names("/data/Fashion_MNIST/", 10) == fashion);
    CHECK(default_class_names("/data/FASHION", 10) == fashion);
    CHECK(default_class_names("/data/fashion-mnist/raw/..", 10) == fashion);
    // Only the folder's own name counts, not its parents'.
    CHECK(default_class_names("/fashion/mnist", 10) ==
          std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
    CHECK(default_class_names("/data/fashion-mnist", 3) ==
          std::vector<std::string>{"class 0", "class 1", "class 2"});
    CHECK(default_class_names("/data/mnist", 12).back() == "class 11");
    CHECK(default_class_names("/data/mnist", 0).empty());
}
