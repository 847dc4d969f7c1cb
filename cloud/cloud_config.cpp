#include "cloud/cloud_config.hpp"

namespace cellgate::cloud {

const char* to_string(Platform p) {
    switch (p) {
        case Platform::aliyun: return "aliyun";
        case Platform::onenet: return "onenet";
        case Platform::onenet_legacy: return "onenet-legacy";
        case Platform::generic: return "generic";
    }
    return "generic";
}

std::optional<Platform> platform_from_string(std::string_view name) {
    for (Platform p : {Platform::aliyun, Platform::onenet, Platform::onenet_legacy, Platform::generic}) {
        if (name == to_string(p)) return p;
    }
    return std::nullopt;
}

}  // namespace cellgate::cloud
