#include "base/duration_text.hpp"

#include <limits>
#include <utility>

namespace cellgate {

std::string duration_text(std::chrono::milliseconds d) {
    long long left = d.count();
    if (left == 0) return "0s";
    std::string out;
    if (left < 0) {
        out = "-";
        // -(LLONG_MIN) overflows; no duration this daemon handles comes near it.
        left = left == std::numeric_limits<long long>::min() ? std::numeric_limits<long long>::max() : -left;
    }
    for (auto [unit, ms] : {std::pair{"h", 3'600'000LL}, {"m", 60'000LL}, {"s", 1'000LL}, {"ms", 1LL}}) {
        if (left >= ms) {
            out += std::to_string(left / ms) + unit;
            left %= ms;
        }
    }
    return out;
}

}  // namespace cellgate
