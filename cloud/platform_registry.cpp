// The registry of cloud platforms: one line per platform. A platform is added by its
// cloud/platform_<name>.cpp, a value in `enum class Platform` and its line here.
#include "cloud/platform_profile.hpp"

#include <cstddef>
#include <vector>

namespace cellgate::cloud {
namespace detail {

// Each defined in its cloud/platform_<name>.cpp.
const PlatformProfile& aliyun_profile();
const PlatformProfile& onenet_profile();
const PlatformProfile& onenet_legacy_profile();
const PlatformProfile& generic_profile();

}  // namespace detail

std::span<const PlatformProfile* const> platform_profiles() {
    // In the order the config's messages list the platforms.
    static const PlatformProfile* const kAll[] = {
        &detail::aliyun_profile(),
        &detail::onenet_profile(),
        &detail::onenet_legacy_profile(),
        &detail::generic_profile(),
    };
    return kAll;
}

const PlatformProfile& profile(Platform p) {
    // Asked for several times per message: the search runs once, for every value at a time.
    static const auto by_id = [] {
        std::vector<const PlatformProfile*> table;
        for (const PlatformProfile* each : platform_profiles()) {
            const auto i = static_cast<size_t>(each->id());
            if (i >= table.size()) table.resize(i + 1);
            table[i] = each;
        }
        return table;
    }();
    const auto i = static_cast<size_t>(p);
    // Only a Platform value cast from outside the enum misses.
    return i < by_id.size() && by_id[i] ? *by_id[i] : detail::generic_profile();
}

const char* to_string(Platform p) { return profile(p).name(); }

std::optional<Platform> platform_from_string(std::string_view name) {
    for (const PlatformProfile* each : platform_profiles())
        if (name == each->name()) return each->id();
    return std::nullopt;
}

}  // namespace cellgate::cloud
