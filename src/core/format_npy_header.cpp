#include "format_npy_header.hpp"

#include "format_io.hpp"
#include "rpb/error.hpp"

#include <fmt/format.h>
#include <utility>

namespace rpb::detail {

namespace {

// A parser for the one Python literal numpy writes: a dict with string keys, a string,
// a bool and a tuple of ints. Anything else is an error naming what was expected.
class HeaderParser {
public:
    HeaderParser(std::string_view text, std::string_view origin) : text_(text), origin_(origin) {}

    NpyHeader parse() {
        NpyHeader header;
        bool seen[3] = {false, false, false};
        skip_space();
        if (!consume('{')) {
            fail(fmt::format("expected a dict literal, found {}", found()));
        }
        for (;;) {
            skip_space();
            if (consume('}')) {
                break;
            }
            if (peek() != '\'' && peek() != '"') {
                fail(fmt::format("expected a quoted key or '}}' at offset {}, found {}", pos_,
                                 found()));
            }
            const std::string key = string_literal();
            int slot = key == "descr" ? 0 : key == "fortran_order" ? 1 : key == "shape" ? 2 : -1;
            if (slot < 0) {
                fail(fmt::format("unknown key '{}' (accepted: descr, fortran_order, shape)",
                                 printable(key)));
            }
            if (seen[slot]) {
                fail(fmt::format("duplicate key '{}'", key));
            }
            seen[slot] = true;
            skip_space();
            if (!consume(':')) {
                fail(fmt::format("expected ':' after key '{}', found {}", key, found()));
            }
            skip_space();
            if (slot == 0) {
                header.descr = descr_value();
            } else if (slot == 1) {
                header.fortran_order = bool_value();
            } else {
                header.shape = shape_value();
            }
            skip_space();
            if (consume('}')) {
                break;
            }
            if (!consume(',')) {
                fail(fmt::format("expected ',' or '}}' after the value of '{}', found {}", key,
                                 found()));
            }
        }
        skip_space();
        if (pos_ != text_.size()) {
            fail(fmt::format("unexpected {} after the dict", found()));
        }
        const char* names[3] = {"descr", "fortran_order", "shape"};
        for (int k = 0; k < 3; ++k) {
            if (!seen[k]) {
                fail(fmt::format("missing key '{}'", names[k]));
            }
        }
        return header;
    }

private:
    [[noreturn]] void fail(std::string_view detail) const {
        throw Error(fmt::format("{}: malformed .npy header: {}", origin_, detail));
    }

    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    bool at_end() const { return pos_ >= text_.size(); }

    bool consume(char c) {
        if (!at_end() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    void skip_space() {
        while (!at_end() &&
               std::string_view(" \t\n\r\f\v").find(text_[pos_]) != std::string_view::npos) {
            ++pos_;
        }
    }

    std::string found() const {
        if (at_end()) {
            return "the end of the header";
        }
        return fmt::format("'{}'", printable(text_.substr(pos_, 1)));
    }

    std::string string_literal() {
        const char quote = text_[pos_++];
        const size_t start = pos_;
        while (!at_end() && text_[pos_] != quote) {
            if (text_[pos_] == '\\' || text_[pos_] == '\n') {
                fail(fmt::format("unsupported character {} in a string at offset {}", found(),
                                 pos_));
            }
            ++pos_;
        }
        if (at_end()) {
            fail(fmt::format("unterminated string at offset {}", start - 1));
        }
        ++pos_;
        return std::string(text_.substr(start, pos_ - 1 - start));
    }

    std::string descr_value() {
        if (peek() == '[') {
            fail("descr is a list: structured dtypes are not supported");
        }
        if (peek() != '\'' && peek() != '"') {
            fail(fmt::format("descr must be a string such as '<f4', found {}", found()));
        }
        return string_literal();
    }

    bool bool_value() {
        for (const auto& [word, value] : {std::pair{std::string_view("True"), true},
                                          std::pair{std::string_view("False"), false}}) {
            if (text_.substr(pos_, word.size()) == word) {
                pos_ += word.size();
                return value;
            }
        }
        fail(fmt::format("fortran_order must be True or False, found {}", found()));
    }

    Shape shape_value() {
        if (!consume('(')) {
            fail(fmt::format("shape must be a tuple such as (2, 3) or (5,), found {}", found()));
        }
        Shape shape;
        bool trailing_comma = false;
        for (;;) {
            skip_space();
            if (consume(')')) {
                break;
            }
            if (!shape.empty() && !trailing_comma) {
                fail(fmt::format("expected ',' or ')' in shape, found {}", found()));
            }
            shape.push_back(integer());
            skip_space();
            trailing_comma = consume(',');
        }
        // "(3)" is an int in Python, not a tuple; numpy refuses it too.
        if (shape.size() == 1 && !trailing_comma) {
            fail(fmt::format("shape ({}) is not a tuple (a 1-d shape is written ({},))", shape[0],
                             shape[0]));
        }
        return shape;
    }

    int64_t integer() {
        const bool negative = consume('-');
        if (!(peek() >= '0' && peek() <= '9')) {
            fail(fmt::format("shape must hold integers, found {}", found()));
        }
        const size_t start = pos_;
        uint64_t value = 0;
        while (peek() >= '0' && peek() <= '9') {
            const auto digit = static_cast<uint64_t>(text_[pos_++] - '0');
            if (value > (static_cast<uint64_t>(INT64_MAX) - digit) / 10) {
                while (peek() >= '0' && peek() <= '9') {
                    ++pos_;
                }
                fail(fmt::format("dimension {} in shape does not fit in int64",
                                 printable(text_.substr(start, pos_ - start))));
            }
            value = value * 10 + digit;
        }
        consume('L'); // Python 2 long literals, which numpy also still accepts
        const auto signed_value = static_cast<int64_t>(value);
        return negative ? -signed_value : signed_value;
    }

    std::string_view text_;
    std::string_view origin_;
    size_t pos_ = 0;
};

} // namespace

NpyHeader parse_npy_header(std::string_view text, std::string_view origin) {
    return HeaderParser(text, origin).parse();
}

} // namespace rpb::detail
