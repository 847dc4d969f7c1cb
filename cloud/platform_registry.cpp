// The registry of cloud platforms: one line per platform. A platform is added by its
// cloud/platform_<name>.cpp, a value in `enum class Platform` and its line here.
#include "cloud/platform_profile.hpp"

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
    for (const PlatformProfile* each : platform_profiles())
        if (each->id() == p) return *each;
    // Only a Platform value cast from outside the enum gets here.
    return detail::generic_profile();
}

const char* to_string(Platform p) { return profile(p).name(); }

std::optional<Platform> platform_from_string(std::string_view name) {
    for (const PlatformProfile* each : platform_profiles())
        if (name == each->name()) return each->id();
    return std::nullopt;
}

}  // namespace cellgate::cloud
