#include "format_safetensors_header.hpp"

#include "format_io.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace rpb::detail {

namespace {

constexpr std::array<std::pair<std::string_view, DType>, 10> safetensors_dtypes = {{
    {"F32", DType::f32},
    {"F64", DType::f64},
    {"F16", DType::f16},
    {"BF16", DType::bf16},
    {"I64", DType::i64},
    {"I32", DType::i32},
    {"I16", DType::i16},
    {"I8", DType::i8},
    {"U8", DType::u8},
    {"BOOL", DType::boolean},
}};

// Offset of the first byte that breaks UTF-8 (overlong forms, surrogates and code points
// above U+10FFFF included), or npos.
size_t invalid_utf8_at(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t n = 0;
        uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07u;
        } else {
            return i;
        }
        if (s.size() - i <= n) {
            return i;
        }
        for (size_t k = 1; k <= n; ++k) {
            const auto t = static_cast<unsigned char>(s[i + k]);
            if ((t & 0xc0u) != 0x80u) {
                return i;
            }
            cp = (cp << 6) | (t & 0x3fu);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
            return i;
        }
        i += n + 1;
    }
    return std::string_view::npos;
}

using Entry = SafetensorsEntry;

using Json = nlohmann::json;

// Streams the header through nlohmann's SAX interface: nothing but the entries is kept,
// nesting the format does not allow is skipped without allocation, and duplicate keys
// (which a DOM parse would silently collapse) are seen.
class HeaderReader : public nlohmann::json_sax<Json> {
public:
    explicit HeaderReader(std::string_view origin) : origin_(origin) {}

    std::vector<Entry> entries;
    std::map<std::string, std::string> metadata;

    bool null() override { return scalar(false, true); }
    bool boolean(bool) override { return scalar(false, false); }
    bool number_integer(number_integer_t) override { return scalar(false, false); }
    bool number_unsigned(number_unsigned_t value) override {
        if (skip_ == 0 && (where_ == Where::shape || where_ == Where::offsets)) {
            Entry& e = entries.back();
            if (where_ == Where::shape) {
                if (value > static_cast<uint64_t>(INT64_MAX)) {
                    fail_entry("shape must be an array of non-negative integers");
                }
                e.shape.push_back(static_cast<int64_t>(value));
            } else {
                if (e.offsets.size() == 2) {
                    fail_entry("data_offsets must be [begin, end]");
                }
                e.offsets.push_back(value);
            }
            return true;
        }
        return scalar(false, false);
    }
    bool number_float(number_float_t, const string_t&) override { return scalar(false, false); }
    bool binary(binary_t&) override { return scalar(false, false); }
    bool string(string_t& value) override {
        if (skip_ == 0 && where_ == Where::metadata) {
            metadata.emplace(key_, value);
        }
        if (skip_ == 0 && where_ == Where::entry && key_ == "dtype") {
            Entry& e = entries.back();
            const auto* it = std::find_if(safetensors_dtypes.begin(), safetensors_dtypes.end(),
                                          [&](const auto& d) { return d.first == value; });
            if (it == safetensors_dtypes.end()) {
                fail_entry(fmt::format("unsupported dtype '{}' (accepted: F32, F64, F16, BF16, "
                                       "I64, I32, I16, I8, U8, BOOL)",
                                       printable(value)));
            }
            e.dtype = it->second;
            return true;
        }
        return scalar(true, false);
    }

    bool start_object(std::size_t) override { return open(true); }
    bool start_array(std::size_t) override { return open(false); }

    bool end_object() override { return close(); }
    bool end_array() override {
        if (skip_ == 0 && where_ == Where::offsets && entries.back().offsets.size() != 2) {
            fail_entry("data_offsets must be [begin, end]");
        }
        return close();
    }

    bool key(string_t& name) override {
        if (skip_ > 0) {
            return true;
        }
        key_ = name;
        if (where_ == Where::root) {
            if (!names_.insert(name).second) {
                fail(fmt::format("duplicate tensor name '{}'", printable(name)));
            }
        } else if (where_ == Where::metadata) {
            if (!metadata_keys_.insert(name).second) {
                fail(fmt::format("duplicate key '{}' in __metadata__", printable(name)));
            }
        } else if (where_ == Where::entry) {
            const unsigned bit = name == "dtype"          ? 1u
                                 : name == "shape"        ? 2u
                                 : name == "data_offsets" ? 4u
                                                          : 0u;
            if ((entries.back().seen & bit) != 0) {
                fail_entry(fmt::format("duplicate key '{}'", name));
            }
            entries.back().seen |= bit;
        }
        return true;
    }

    bool parse_error(std::size_t, const std::string&,
                     const nlohmann::detail::exception& error) override {
        std::string_view text = error.what();
        // Drop nlohmann's "[json.exception.parse_error.101] " tag.
        if (const size_t close_tag = text.find("] "); close_tag != std::string_view::npos) {
            text.remove_prefix(close_tag + 2);
        }
        fail(fmt::format("safetensors header is not valid JSON: {}", printable(text, 200)));
    }

private:
    enum class Where { top, root, metadata, entry, shape, offsets, done };

    [[noreturn]] void fail(std::string_view detail) const {
        throw Error(fmt::format("{}: {}", origin_, detail));
    }
    [[noreturn]] void fail_entry(std::string_view detail) const {
        fail(fmt::format("tensor '{}': {}", printable(entries.back().name), detail));
    }
    [[noreturn]] void fail_metadata() const {
        fail("safetensors __metadata__ must be an object mapping strings to strings");
    }
    [[noreturn]] void fail_value() const {
        if (where_ == Where::shape) {
            fail_entry("shape must be an array of non-negative integers");
        }
        if (where_ == Where::offsets) {
            fail_entry("data_offsets must be [begin, end]");
        }
        if (key_ == "dtype") {
            fail_entry("dtype must be a string such as \"F32\"");
        }
        if (key_ == "shape") {
            fail_entry("shape must be an array of non-negative integers");
        }
        fail_entry("data_offsets must be [begin, end]");
    }

    bool scalar(bool is_string, bool is_null) {
        if (skip_ > 0) {
            return true;
        }
        switch (where_) {
        case Where::top:
            fail("safetensors header is not a JSON object");
        case Where::root:
            if (key_ == "__metadata__") {
                if (is_null) {
                    return true; // an absent map, as serde reads Option<HashMap>
                }
                fail_metadata();
            }
            fail(fmt::format("tensor '{}' must be an object with dtype, shape and data_offsets",
                             printable(key_)));
        case Where::metadata:
            if (!is_string) {
                fail_metadata();
            }
            return true;
        case Where::entry:
            if (key_ == "dtype" || key_ == "shape" || key_ == "data_offsets") {
                fail_value();
            }
            return true; // unknown keys are ignored, as by the reference reader
        default:
            fail_value();
        }
    }

    bool open(bool object) {
        if (skip_ > 0) {
            ++skip_;
            return true;
        }
        switch (where_) {
        case Where::top:
            if (!object) {
                fail("safetensors header is not a JSON object");
            }
            where_ = Where::root;
            return true;
        case Where::root:
            if (key_ == "__metadata__") {
                if (!object) {
                    fail_metadata();
                }
                where_ = Where::metadata;
                return true;
            }
            if (!object) {
                scalar(false, false);
            }
            entries.push_back(Entry{key_, DType::f32, {}, {}, 0});
            where_ = Where::entry;
            return true;
        case Where::entry:
            if (key_ == "shape" && !object) {
                where_ = Where::shape;
            } else if (key_ == "data_offsets" && !object) {
                where_ = Where::offsets;
            } else if (key_ == "dtype" || key_ == "shape" || key_ == "data_offsets") {
                fail_value();
            } else {
                skip_ = 1;
            }
            return true;
        case Where::metadata:
            fail_metadata();
        default:
            fail_value();
        }
    }

    bool close() {
        if (skip_ > 0) {
            --skip_;
            return true;
        }
        where_ = where_ == Where::root                                 ? Where::done
                 : where_ == Where::metadata || where_ == Where::entry ? Where::root
                 : where_ == Where::shape || where_ == Where::offsets  ? Where::entry
                                                                       : where_;
        return true;
    }

    std::string_view origin_;
    Where where_ = Where::top;
    std::string key_;
    size_t skip_ = 0;
    std::set<std::string> names_;
    std::set<std::string> metadata_keys_;
};

} // namespace

std::string_view safetensors_dtype_name(DType dtype) {
    for (const auto& [name, d] : safetensors_dtypes) {
        if (d == dtype) {
            return name;
        }
    }
    return "F32";
}

std::vector<SafetensorsEntry>
parse_safetensors_header(std::string_view header, std::string_view origin,
                         std::map<std::string, std::string>* metadata) {
    if (const size_t bad = invalid_utf8_at(header); bad != std::string_view::npos) {
        throw Error(
            fmt::format("{}: safetensors header is not valid UTF-8 (byte {})", origin, 8 + bad));
    }

    HeaderReader reader(origin);
    Json::sax_parse(header, &reader);
    for (const Entry& e : reader.entries) {
        for (const auto& [bit, key] :
             {std::pair{1u, "dtype"}, std::pair{2u, "shape"}, std::pair{4u, "data_offsets"}}) {
            if ((e.seen & bit) == 0) {
                throw Error(
                    fmt::format("{}: tensor '{}' has no {}", origin, printable(e.name), key));
            }
        }
    }

    if (metadata != nullptr) {
        *metadata = std::move(reader.metadata);
    }
    return std::move(reader.entries);
}

} // namespace rpb::detail
