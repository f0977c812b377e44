// Errors thrown by the core library. The core never prints or exits: the front end
// catches these once, prints "rpbtool: error: <what()>" and picks the exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace rpb {

/// A run-time failure: unreadable or malformed input file, I/O error. Exit status 1.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A bad option value or an impossible combination of options. Exit status 2.
class UsageError : public Error {
public:
    using Error::Error;
};

} // namespace rpb
