// libFuzzer entry point for whole-checkpoint reading: any input must either work or throw
// rpb::Error through every step a command takes (inspect's find_biases, each block's
// load_attention, resize_checkpoint); a crash, sanitizer report or other exception is a bug.
#include "rpb/checkpoint.hpp"
#include "rpb/checkpoint_attention.hpp"
#include "rpb/error.hpp"
#include "rpb/resize.hpp"
#include "rpb/safetensors_file.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                                 reinterpret_cast<const std::byte*>(data) + size);
    try {
        const rpb::SafetensorsFile file(std::move(bytes), "fuzz.safetensors");
        for (const auto& bias : rpb::find_biases(file)) {
            try {
                (void)rpb::load_attention(file, bias.prefix, {}, {});
            } catch (const rpb::Error&) {
            }
        }
        try {
            size_t written = 0;
            rpb::resize_checkpoint(file, 3, 2, [&](const void*, size_t n) { written += n; });
        } catch (const rpb::Error&) {
        }
    } catch (const rpb::Error&) {
    }
    return 0;
}
