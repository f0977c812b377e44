// libFuzzer entry point for the .npy reader: any input must either parse or throw
// rpb::Error; a crash, sanitizer report, other exception or huge allocation is a bug.
#include "rpb/error.hpp"
#include "rpb/npy.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
    try {
        const rpb::Array array = rpb::parse_npy(file, "fuzz.npy");
        // Exercise the conversions on whatever parsed.
        try {
            (void)rpb::to_float32(array, "fuzz");
        } catch (const rpb::Error&) {
        }
        try {
            (void)rpb::to_int32(array, "fuzz");
        } catch (const rpb::Error&) {
        }
    } catch (const rpb::Error&) {
    }
    return 0;
}
