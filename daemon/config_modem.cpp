// The `modem:` section.
#include <algorithm>
#include <iterator>
#include <optional>
#include <string>

#include "daemon/config_reader.hpp"

namespace cellgate::config_detail {
namespace {

using namespace std::chrono_literals;

constexpr Choice<std::optional<modem::Vendor>> kVendors[] = {
    {"auto", std::nullopt},
    {"generic", modem::Vendor::generic},
    {"quectel", modem::Vendor::quectel},
    {"simcom", modem::Vendor::simcom},
    {"luat", modem::Vendor::luat},
    {"huawei", modem::Vendor::huawei},
};
constexpr Choice<modem::ApnAuth> kAuths[] = {
    {"none", modem::ApnAuth::none}, {"pap", modem::ApnAuth::pap}, {"chap", modem::ApnAuth::chap}};
constexpr Choice<modem::IpType> kIpTypes[] = {
    {"ipv4", modem::IpType::ipv4}, {"ipv6", modem::IpType::ipv6}, {"ipv4v6", modem::IpType::ipv4v6}};
constexpr Choice<const char*> kIpMethods[] = {{"auto", "auto"}, {"dhcp", "dhcp"}, {"static", "static"}};
constexpr Choice<const char*> kRoutes[] = {{"failover", "failover"}, {"primary", "primary"}, {"none", "none"}};
constexpr Choice<int> kBauds[] = {{"9600", 9600},     {"19200", 19200},   {"38400", 38400},
                                  {"57600", 57600},   {"115200", 115200}, {"230400", 230400},
                                  {"460800", 460800}, {"921600", 921600}};

// APN credentials end up inside a quoted AT argument: a '"' or CR would break out of it.
// The value may be a secret (password), so the messages never include it. false = reported.
bool read_credential(Errors& e, const Field& f, std::string& out) {
    if (f.value.IsNull()) return true;  // `password:` with no value: none
    auto s = read_scalar(e, f, "a string");
    if (!s) return false;
    if (s->size() > 64) {
        e.add(f.at(), f.path, "must be at most 64 characters");
        return false;
    }
    if (s->find('"') != std::string::npos || has_control_chars(*s)) {
        e.add(f.at(), f.path, "must not contain '\"' or control characters");
        return false;
    }
    out = *s;
    return true;
}

void read_apn(Errors& e, const Field& section, modem::ApnSettings& apn) {
    MapWalker m(e, section.value, section.path, where_of(section.key),
                {"name", "user", "password", "auth", "ip_type"});

    if (auto f = m.require("name", "set the APN your operator gave you, e.g. cmnet")) {
        if (auto s = read_scalar(e, *f, "an APN name")) {
            const bool chars_ok = std::all_of(s->begin(), s->end(), [](char c) {
                return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '-';
            });
            if (s->empty() || s->size() > 62 || !chars_ok)
                e.add(f->at(), f->path, "must be 1-62 characters of A-Z a-z 0-9 . -, got " + quoted(*s));
            else
                apn.name = *s;
        }
    }
    bool user_ok = true;
    if (auto f = m.get("user")) user_ok = read_credential(e, *f, apn.user);
    if (auto f = m.get("password"); f && read_credential(e, *f, apn.password) && !apn.password.empty())
        e.saw_inline_secret(f->at(), f->path);
    if (auto f = m.get("auth")) {
        if (auto v = read_choice(e, *f, kAuths)) {
            apn.auth = *v;
            if (apn.auth != modem::ApnAuth::none && user_ok && apn.user.empty())
                e.add(f->at(), f->path, f->value.Scalar() + " needs a non-empty apn.user");
        }
    }
    if (auto f = m.get("ip_type"))
        if (auto v = read_choice(e, *f, kIpTypes)) apn.ip_type = *v;
}

}  // namespace

std::optional<modem::ModemConfig> read_modem(Errors& e, const Field& section) {
    modem::ModemConfig c;
    MapWalker m(e, section.value, section.path, where_of(section.key),
                {"port", "vendor", "baud", "pin", "apn", "cid", "signal_interval", "registration_grace",
                 "registration_timeout", "status_poll", "recovery_backoff", "recovery_backoff_max",
                 "port_return_timeout", "interface", "ip_method", "route"});

    if (auto f = m.require("port", "set a device path such as /dev/ttyUSB2 or \"auto\"")) {
        if (auto s = read_scalar(e, *f, "a device path or \"auto\"")) {
            if (*s != "auto" && (s->empty() || s->front() != '/' || s->size() > 4095 || has_control_chars(*s)))
                e.add(f->at(), f->path, "must be \"auto\" or an absolute device path such as /dev/ttyUSB2, got " +
                                            quoted(*s));
            else
                c.port = *s;
        }
    }
    if (auto f = m.get("vendor"))
        if (auto v = read_choice(e, *f, kVendors)) c.vendor = *v;
    if (auto f = m.get("baud")) {
        if (auto s = read_scalar(e, *f, "a baud rate")) {
            const auto it = std::find_if(std::begin(kBauds), std::end(kBauds),
                                         [&](const auto& b) { return b.name == *s; });
            if (it == std::end(kBauds))
                e.add(f->at(), f->path,
                      "must be a standard rate: 9600, 19200, 38400, 57600, 115200, 230400, 460800 or 921600, got " +
                          quoted(*s));
            else
                c.baud = it->value;
        }
    }
    if (auto f = m.get("pin"); f && !f->value.IsNull()) {  // `pin:` with no value: no PIN
        if (auto s = read_scalar(e, *f, "a quoted PIN such as \"1234\"")) {
            const bool digits = std::all_of(s->begin(), s->end(), [](char ch) { return ch >= '0' && ch <= '9'; });
            if (!digits || s->size() < 4 || s->size() > 8) {
                e.add(f->at(), f->path, "must be 4-8 digits");  // never echo the PIN
            } else {
                e.saw_inline_secret(f->at(), f->path);
                c.pin = *s;
            }
        }
    }
    if (auto f = m.require("apn", "set at least apn.name")) read_apn(e, *f, c.apn);
    if (auto f = m.get("cid"))
        if (auto v = read_int(e, *f, 1, 15)) c.cid = *v;

    const auto duration = [&](std::string_view key, milliseconds& out, milliseconds lo, milliseconds hi) {
        if (auto f = m.get(key))
            if (auto v = read_duration(e, *f, lo, hi)) out = *v;
    };
    duration("signal_interval", c.signal_interval, 5s, 1h);
    duration("registration_grace", c.registration_grace, 5s, 1h);
    duration("registration_timeout", c.registration_timeout, 10s, 1h);
    duration("status_poll", c.status_poll, 5s, 1h);
    read_ordered_durations(e, m, {"recovery_backoff", 1s, 10min, c.recovery_backoff},
                           {"recovery_backoff_max", 1s, 1h, c.recovery_backoff_max});
    duration("port_return_timeout", c.port_return_timeout, 5s, 10min);

    if (auto f = m.get("interface")) {
        if (auto s = read_scalar(e, *f, "a network interface name")) {
            // The kernel's rules for a name (IFNAMSIZ, no '/', no spaces or ':').
            const bool ok = !s->empty() && s->size() < 16 && *s != "." && *s != ".." &&
                            std::none_of(s->begin(), s->end(), [](char ch) {
                                return ch == '/' || ch == ':' || ch <= ' ' || ch == 0x7f;
                            });
            if (!ok) e.add(f->at(), f->path, "must be a network interface name such as usb0 or wwan0, got " + quoted(*s));
            else c.data_path.interface = *s;
        }
    }
    if (auto f = m.get("ip_method"))
        if (auto v = read_choice(e, *f, kIpMethods)) c.data_path.ip_method = *v;
    if (auto f = m.get("route"))
        if (auto v = read_choice(e, *f, kRoutes)) c.data_path.route = *v;
    return c;
}

}  // namespace cellgate::config_detail
