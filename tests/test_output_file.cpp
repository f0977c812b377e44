#include "rpb/error.hpp"
#include "rpb/output_file.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace rpb;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "rpb_test_XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() { fs::remove_all(path); }
    size_t entries() const {
        return static_cast<size_t>(std::distance(fs::directory_iterator(path), {}));
    }
};

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("rpb::OutputFile writes a regular file only on commit") {
    TempDir dir;
    const fs::path target = dir.path / "out.txt";
    {
        OutputFile out(target.string());
        out.write("hello");
        CHECK_FALSE(fs::exists(target)); // only the temporary file exists so far
        CHECK(dir.entries() == 1);
        out.commit();
    }
    CHECK(read_all(target) == "hello");
    CHECK(dir.entries() == 1);
}

TEST_CASE("rpb::OutputFile leaves nothing behind when not committed") {
    TempDir dir;
    const fs::path target = dir.path / "out.txt";
    { std::ofstream(target) << "old"; }
    {
        OutputFile out(target.string());
        out.write("partial");
    } // destroyed without commit, as after an exception
    CHECK(read_all(target) == "old");
    CHECK(dir.entries() == 1);
}

TEST_CASE("rpb::OutputFile gives new files the usual mode, keeps an existing file's") {
    TempDir dir;
    const fs::path target = dir.path / "mode.txt";
    const mode_t mask = ::umask(022);
    {
        OutputFile out(target.string());
        out.commit();
    }
    struct stat info {};
    REQUIRE(::stat(target.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0644);
    ::chmod(target.c_str(), 0600);
    {
        OutputFile out(target.string());
        out.commit();
    }
    REQUIRE(::stat(target.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    ::umask(mask);
}

TEST_CASE("rpb::OutputFile writes devices in place and reports a full disk") {
    {
        OutputFile out("/dev/null");
        out.write("x");
        out.commit();
    }
    CHECK(fs::is_character_file("/dev/null"));
    auto fill_disk = [] {
        OutputFile full("/dev/full");
        full.write(std::string(100000, 'x'));
        full.commit();
    };
    CHECK_THROWS_WITH_AS(fill_disk(), "cannot write '/dev/full': No space left on device", Error);
}

TEST_CASE("rpb::OutputFile refuses directories and missing parents") {
    TempDir dir;
    CHECK_THROWS_WITH_AS(OutputFile(dir.path.string()),
                         ("cannot write '" + dir.path.string() + "': it is a directory").c_str(),
                         Error);
    const std::string missing = (dir.path / "no" / "x.npy").string();
    CHECK_THROWS_WITH_AS(OutputFile{missing},
                         ("cannot create '" + missing + "': No such file or directory").c_str(),
                         Error);
}

TEST_CASE("rpb::OutputFile says whether a partial output could be seen") {
    TempDir dir;
    CHECK_FALSE(OutputFile((dir.path / "new.npy").string()).shows_partial_output());
    CHECK_FALSE(OutputFile("/dev/null").shows_partial_output());
    const fs::path fifo = dir.path / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Opening a FIFO for writing waits for a reader: hold one open (non-blocking) first.
    const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    CHECK(OutputFile(fifo.string()).shows_partial_output());
    ::close(reader);
    CHECK(OutputFile("/dev/full").shows_partial_output());
}
