// What cellgatectl prints: mmcli-style tables for people, JSON for scripts, one line per change
// for `watch`. Pure: properties and the current time in, text out.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/gateway_client.hpp"

namespace cellgate::ctl {

using Json = nlohmann::ordered_json;

struct Snapshot {
    Properties gateway;
    Properties modem;
    std::vector<std::pair<std::string, Properties>> sessions;  // by name
};

// "3m12s": whole seconds, in the config file's duration syntax.
std::string age_text(uint64_t seconds);
// "2024-05-01 12:00:03" in the local time zone, from µs since the epoch.
std::string local_time(uint64_t epoch_us);
// "connected for 3m12s (since 2024-05-01 12:00:03)", "backoff (retry delay 8s)", "idle".
std::string session_state_text(const Properties& session, uint64_t now_us);

// The overview: gateway, modem, one short section per session.
std::string render_status(const Snapshot& s, uint64_t now_us);
// Every modem property.
std::string render_modem(const Properties& modem);
// Every property of each session.
std::string render_sessions(const std::vector<std::pair<std::string, Properties>>& sessions, uint64_t now_us);

// The properties as the bus has them: D-Bus names, numbers as numbers.
Json to_json(const Properties& props);
// {"gateway":{...},"modem":{...},"sessions":{"lab":{...}}}
Json to_json(const Snapshot& s);

// One `watch` line: "12:00:03 cloud lab: State=connected ConnectedSince=2024-05-01 12:00:03".
std::string change_line(const std::string& clock, const std::string& object, const Properties& changed);

}  // namespace cellgate::ctl
