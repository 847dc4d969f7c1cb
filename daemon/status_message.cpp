#include "daemon/status_message.hpp"

#include <nlohmann/json.hpp>

namespace cellgate {

namespace {
using Json = nlohmann::ordered_json;

Json modem_json(const modem::ModemStatus& m) {
    Json j = {{"state", modem::to_string(m.state)}};
    if (m.failed_reason != modem::FailedReason::none) j["failed_reason"] = modem::to_string(m.failed_reason);
    if (m.signal_quality > 0) j["signal"] = m.signal_quality;
    if (m.rssi_dbm != 0) j["rssi"] = m.rssi_dbm;
    if (m.access_tech != modem::AccessTech::none) j["technology"] = modem::to_string(m.access_tech);
    if (!m.operator_name.empty()) j["operator"] = m.operator_name;
    if (!m.ip_address.empty()) j["ip"] = m.ip_address;
    return j;
}

}  // namespace

std::string status_message(GatewayState state, std::string_view reason, const GatewayInputs& in) {
    Json sessions = Json::object();
    for (const auto& s : in.sessions) sessions[s.name] = {{"state", cloud::to_string(s.state)}};
    const Json j = {{"state", to_string(state)},
                    {"reason", reason},
                    {"modem", modem_json(in.modem)},
                    {"sessions", std::move(sessions)}};
    // Replace, not throw: an operator name from the network is not guaranteed to be UTF-8.
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string offline_message(std::string_view reason) {
    const Json j = {{"state", "offline"}, {"reason", reason}};
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace cellgate
