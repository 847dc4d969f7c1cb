// The config loader must turn any byte string into a result with errors, never a throw or a crash:
// `cellgated --check-config` runs it on whatever an operator typed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto result = cellgate::load_config_string(text, "fuzz.yaml");
        // The contract: a config exactly when there are no errors.
        if (result.config.has_value() == !result.errors.empty()) std::abort();
        for (const auto& e : result.errors) {
            if (e.file != "fuzz.yaml" || e.line < 0 || e.column < 0 || e.message.empty()) std::abort();
            (void)e.to_string();
        }
    } catch (...) {
        std::abort();
    }
    return 0;
}
