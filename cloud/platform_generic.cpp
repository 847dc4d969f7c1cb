// Any MQTT 3.1.1 broker (mosquitto, EMQX, AWS IoT Core...): username/password and/or a TLS client
// certificate, verified against the configured CA or the system store.
#include "cloud/platform_detail.hpp"

namespace cellgate::cloud::detail {
namespace {

constexpr uint16_t kPort = 1883;
constexpr uint16_t kTlsPort = 8883;
constexpr int kMinKeepalive = 10;
constexpr int kMaxKeepalive = 65535;  // a 16-bit field in CONNECT
constexpr size_t kPortableClientId = 23;  // MQTT 3.1.1 §3.1.3.1: what every broker must accept

}  // namespace

std::string generic_endpoint(const CloudConfig& c) {
    auto hp = parse_endpoint(c.endpoint);
    if (!hp) return c.endpoint;
    if (hp->port == 0) hp->port = c.tls.enabled ? kTlsPort : kPort;
    return join_endpoint(*hp);
}

void generic_rules(const CloudConfig& c, std::vector<RuleViolation>& out) {
    require(c.endpoint, "endpoint", "endpoint (host:port)", c, out);
    require(c.client_id, "client_id", "client_id", c, out);
    if (c.client_id.find('\0') != std::string::npos || c.client_id.size() > 65535) {
        out.push_back({"client_id", "client_id must be at most 65535 bytes without NUL characters"});
    }
    if (!c.password.empty() && c.username.empty()) {
        out.push_back({"password", "MQTT 3.1.1 sends a password only with a username (§3.1.2.9)"});
    }
    check_keepalive(c, kMinKeepalive, kMaxKeepalive, out);
}

void generic_warnings(const CloudConfig& c, std::vector<RuleViolation>& out) {
    warn_cellular_keepalive(c, kMaxKeepalive, out);
    if (c.client_id.size() > kPortableClientId) {
        out.push_back({"client_id", "client_id is longer than 23 characters; MQTT 3.1.1 brokers need not accept it"});
    }
    if (!c.tls.enabled && !c.password.empty()) {
        out.push_back({"tls", "the password is sent unencrypted; enable tls"});
    }
}

void generic_fill(const CloudConfig& c, ConnectParams& p) {
    p.client_id = c.client_id;
    p.username = c.username;
    p.password = c.password;
    p.ca_file = ca_file_for(c, "");
}

}  // namespace cellgate::cloud::detail
