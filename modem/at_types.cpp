#include "modem/at_types.hpp"

namespace cellgate::modem {

const char* to_string(AtStatus status) {
    switch (status) {
        case AtStatus::ok: return "ok";
        case AtStatus::error: return "error";
        case AtStatus::cme_error: return "cme-error";
        case AtStatus::cms_error: return "cms-error";
        case AtStatus::no_carrier: return "no-carrier";
        case AtStatus::connect: return "connect";
        case AtStatus::prompt: return "prompt";
        case AtStatus::timeout: return "timeout";
        case AtStatus::port_closed: return "port-closed";
    }
    return "unknown";
}

std::string AtResult::value(std::string_view prefix) const {
    for (const auto& line : lines) {
        if (!line.starts_with(prefix)) continue;
        std::string_view rest(line);
        rest.remove_prefix(prefix.size());
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
        return std::string(rest);
    }
    return {};
}

}  // namespace cellgate::modem
