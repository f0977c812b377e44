#include "rpb/array.hpp"
#include "rpb/error.hpp"
#include "rpb/npy.hpp"

#include <cstdio>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using rpb::Array;
using rpb::DType;
using rpb::Error;
using rpb::FloatTensor;
using rpb::NpyStream;
using rpb::Shape;

namespace {

// A temporary file holding `bytes`, removed at the end of the scope.
struct TempFile {
    std::string path;
    explicit TempFile(const std::string& bytes, const std::string& tag) {
        path = (std::filesystem::temp_directory_path() /
                ("rpb_test_stream_" + tag + "_" + std::to_string(getpid()) + ".npy"))
                   .string();
        std::ofstream(path, std::ios::binary) << bytes;
    }
    ~TempFile() { std::filesystem::remove(path); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
};

FloatTensor counting(const Shape& shape) {
    FloatTensor t(shape);
    for (int64_t i = 0; i < t.size(); ++i) {
        t[i] = static_cast<float>(i) * 0.5f - 7.0f;
    }
    return t;
}

} // namespace

TEST_CASE("rpb::NpyStream reads a file front to back in pieces of any size") {
    const FloatTensor values = counting({3, 50, 70}); // data larger than the preamble buffer
    const TempFile file(rpb::npy_bytes(values), "pieces");
    NpyStream in(file.path);
    CHECK(in.origin() == file.path);
    CHECK(in.shape() == Shape{3, 50, 70});
    CHECK(in.dtype() == DType::f32);
    CHECK(!in.fortran_order());
    std::vector<float> out(static_cast<size_t>(values.size()));
    int64_t at = 0;
    for (const int64_t n : {int64_t{1}, int64_t{0}, int64_t{4999}, int64_t{3000}, int64_t{2500}}) {
        in.read_float32(n, out.data() + at);
        at += n;
    }
    REQUIRE(at == values.size());
    CHECK(out == std::vector<float>(values.values().begin(), values.values().end()));
    CHECK_THROWS_WITH_AS(in.read_float32(1, out.data()),
                         (file.path + ": 1 more elements asked, 0 of 10500 are left").c_str(),
                         Error);
}

TEST_CASE("rpb::NpyStream reads a pipe on standard input and reports a short body at its end") {
    const FloatTensor values = counting({4, 1000});
    std::string bytes = rpb::npy_bytes(values);
    bytes.resize(bytes.size() - 40); // ten values short, beyond the first 10 kB: found at the end
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    // 16 kB fit in the pipe's buffer: the writer never waits for the reader.
    std::thread writer([&] {
        const char* p = bytes.data();
        size_t left = bytes.size();
        while (left > 0) {
            const ssize_t n = ::write(fds[1], p, left);
            if (n <= 0) {
                break;
            }
            p += n;
            left -= static_cast<size_t>(n);
        }
        ::close(fds[1]);
    });
    const int saved = ::dup(STDIN_FILENO);
    REQUIRE(::dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
    ::close(fds[0]);
    std::string error = "(no error)";
    float last = 0;
    try {
        NpyStream in("-");
        CHECK(in.origin() == "standard input");
        CHECK(in.count() == 4000);
        std::vector<float> out(4000);
        in.read_float32(3990, out.data());
        last = out[3989];
        in.read_float32(10, out.data());
    } catch (const Error& e) {
        error = e.what();
    }
    ::dup2(saved, STDIN_FILENO);
    ::close(saved);
    writer.join();
    CHECK(last == values[3989]);
    CHECK(error == "standard input: truncated .npy data: shape (4, 1000) of float32 needs 16000 "
                   "bytes, 15960 present");

    REQUIRE(std::freopen("/dev/null", "rb", stdin) != nullptr);
    CHECK_THROWS_WITH_AS(NpyStream("-"),
                         "standard input: not a .npy file (no \\x93NUMPY magic string)", Error);
}

TEST_CASE("rpb::NpyStream checks a file's size and converts like read_npy") {
    // A regular file that is too short fails at once, with read_npy's message.
    std::string bytes = rpb::npy_bytes(counting({10, 10}));
    const TempFile short_file(bytes.substr(0, bytes.size() - 4), "short");
    std::string expected;
    try {
        (void)rpb::read_npy(short_file.path);
    } catch (const Error& e) {
        expected = e.what();
    }
    REQUIRE(!expected.empty());
    CHECK_THROWS_WITH_AS(NpyStream(short_file.path), expected.c_str(), Error);
    CHECK_THROWS_WITH_AS(NpyStream("/nonexistent/x.npy"),
                         "/nonexistent/x.npy: cannot open: no such file or directory", Error);

    // Big-endian float64: swapped and narrowed; a NaN is named in the whole array.
    std::string header = rpb::npy_header(">f8", {2, 2});
    const double doubles[4] = {1.5, -2.0, 0.25, std::numeric_limits<double>::quiet_NaN()};
    for (const double d : doubles) {
        const auto* p = reinterpret_cast<const char*>(&d);
        for (int b = 7; b >= 0; --b) {
            header += p[b];
        }
    }
    const TempFile be(header, "be");
    NpyStream in(be.path);
    CHECK(in.dtype() == DType::f64);
    std::vector<float> out(3);
    in.read_float32(3, out.data());
    CHECK(out == std::vector<float>{1.5f, -2.0f, 0.25f});
    CHECK_THROWS_WITH_AS(in.read_float32(1, out.data()),
                         (be.path + ": element (1, 1) is nan (values must be finite)").c_str(),
                         Error);
}

TEST_CASE("rpb::NpyStream reads Fortran-order data whole, as read_npy") {
    std::string bytes("\x93NUMPY\x01\x00", 8);
    std::string dict = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
    const size_t total = (10 + dict.size() + 1 + 63) / 64 * 64; // the data 64-byte aligned
    dict.append(total - 10 - dict.size() - 1, ' ');
    dict += '\n';
    bytes += static_cast<char>(dict.size());
    bytes += '\0';
    bytes += dict;
    for (const float f : {1.f, 4.f, 2.f, 5.f, 3.f, 6.f}) { // column by column
        bytes.append(reinterpret_cast<const char*>(&f), 4);
    }
    const TempFile file(bytes, "fortran");
    NpyStream in(file.path);
    CHECK(in.fortran_order());
    std::vector<float> out(6);
    CHECK_THROWS_AS(in.read_float32(6, out.data()), Error);
    const Array a = in.read_whole();
    const FloatTensor t = rpb::to_float32(a, "t");
    CHECK(t.at(0, 1) == 2.f);
    CHECK(t.at(1, 0) == 4.f);
}
