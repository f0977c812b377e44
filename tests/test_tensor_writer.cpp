#include "rpb/error.hpp"
#include "rpb/tensor_writer.hpp"

#include <cmath>
#include <cstdio>
#include <doctest/doctest.h>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <unistd.h>

using namespace rpb;

namespace {

// Writes through a real OutputFile into a temporary path and returns the bytes.
template <typename T>
std::string render(OutputFormat format, const Tensor<T>& tensor, bool streamed = false) {
    char path[] = "/tmp/rpb_writer_XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::close(fd);
    {
        OutputFile out(path);
        RowSource<T> source = rows_of(tensor);
        if (streamed) {
            source.in_memory = nullptr; // as a computed source: through the block buffers
        }
        write_tensor(out, format, source, OutputMeta{"bias", "t5", {{"heads", 2}}});
        out.commit();
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    std::remove(path);
    return s.str();
}

IntTensor iota(Shape shape) {
    IntTensor t(std::move(shape));
    for (int64_t i = 0; i < t.size(); ++i) {
        t[i] = static_cast<int32_t>(i);
    }
    return t;
}

} // namespace

TEST_CASE("rpb::write_tensor JSON nests like numpy.tolist()") {
    CHECK(render(OutputFormat::json, iota({2, 2, 3})) ==
          "{\"command\":\"bias\",\"type\":\"t5\",\"params\":{\"heads\":2}, \"dtype\": \"int32\", "
          "\"shape\": [2, 2, 3], \"data\": [[[0, 1, 2],\n  [3, 4, 5]],\n [[6, 7, 8],\n  [9, 10, "
          "11]]]}\n");
    CHECK(
        render(OutputFormat::json, iota({3})).ends_with("\"shape\": [3], \"data\": [0, 1, 2]}\n"));
    FloatTensor f({2}, std::vector<float>{0.1f, -2.0f});
    CHECK(render(OutputFormat::json, f).ends_with("\"data\": [0.1, -2.0]}\n"));
}

TEST_CASE("rpb::write_tensor refuses NaN and infinity in JSON and CSV") {
    FloatTensor f({2}, std::vector<float>{1.0f, std::numeric_limits<float>::quiet_NaN()});
    CHECK_THROWS_AS(render(OutputFormat::json, f), Error);
    f[1] = std::numeric_limits<float>::infinity();
    CHECK_THROWS_AS(render(OutputFormat::csv, f), Error);
}

TEST_CASE("rpb::write_tensor CSV holds rank 2 at most") {
    CHECK(render(OutputFormat::csv, iota({2, 3})) == "0,1,2\n3,4,5\n");
    CHECK_THROWS_WITH_AS(render(OutputFormat::csv, iota({2, 2, 2})),
                         "--format csv holds 1-D or 2-D data, and this output has shape (2, 2, "
                         "2): use --format npy or json",
                         UsageError);
}

TEST_CASE("rpb::write_tensor NPY: header then little-endian data, in many blocks") {
    // Larger than one 4 MB block so that the double-buffered path runs several times.
    const IntTensor big = iota({3, 700, 1000});
    const std::string bytes = render(OutputFormat::npy, big, true);
    CHECK(bytes == render(OutputFormat::npy, big)); // the in-memory path writes the same
    REQUIRE(bytes.size() == 128 + big.size() * 4);
    CHECK(bytes.substr(0, 6) == "\x93NUMPY");
    CHECK(bytes.find("'shape': (3, 700, 1000), }") != std::string::npos);
    bool same = true;
    for (int64_t i = 0; i < big.size(); i += 997) {
        int32_t v = 0;
        std::memcpy(&v, bytes.data() + 128 + i * 4, 4);
        same = same && v == big[i];
    }
    CHECK(same);
}

TEST_CASE("rpb::write_tensor text aligns columns and abbreviates like numpy") {
    CHECK(render(OutputFormat::text, iota({2, 3})) == "[[0 1 2]\n [3 4 5]]\n");
    CHECK(render(OutputFormat::text, iota({2, 2, 2})) ==
          "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]\n");
    const std::string big = render(OutputFormat::text, iota({100, 100}));
    CHECK(big.starts_with("[[   0    1    2 ...   97   98   99]\n"));
    CHECK(big.find(" ...\n") != std::string::npos);
    CHECK(big.ends_with(" [9900 9901 9902 ... 9997 9998 9999]]\n"));
}

TEST_CASE("rpb::format_from_extension and rpb::parse_output_format") {
    bool known = false;
    CHECK(format_from_extension("a/b.npy", &known) == OutputFormat::npy);
    CHECK(known);
    CHECK(format_from_extension("b.json") == OutputFormat::json);
    CHECK(format_from_extension("-", &known) == OutputFormat::text);
    CHECK_FALSE(known);
    CHECK_THROWS_WITH_AS(parse_output_format("xml"),
                         "--format xml: unknown format: expected text, json, npy or csv",
                         UsageError);
}
