// libFuzzer entry point for the .safetensors reader: any input must either parse or throw
// rpb::Error; a crash, sanitizer report, other exception or huge allocation is a bug.
#include "rpb/error.hpp"
#include "rpb/safetensors.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
    try {
        const rpb::TensorMap tensors = rpb::parse_safetensors(file, "fuzz.safetensors");
        for (const auto& [name, array] : tensors) {
            try {
                (void)rpb::to_float32(array, name);
            } catch (const rpb::Error&) {
            }
        }
    } catch (const rpb::Error&) {
    }
    return 0;
}
