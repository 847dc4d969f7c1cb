#include "modem/at_redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "modem/vendor_detail.hpp"

namespace cellgate::modem {
namespace {

struct SecretRule {
    std::string_view name;       // upper-case, without "AT"
    std::string_view first_arg;  // "" = any; else the rule holds only for this subcommand
    uint32_t secret_mask;        // bit i = argument i is secret
};

constexpr uint32_t kAll = 0xffffffffu;
constexpr uint32_t bits(unsigned a, unsigned b) { return (1u << a) | (1u << b); }

// The commands that carry credentials, per the vendors' AT manuals.
constexpr std::array kSecretRules = {
    SecretRule{"+CGAUTH", "", bits(2, 3)},      // user/password (SIMCom puts the password first)
    SecretRule{"+QICSGP", "", bits(3, 4)},
    SecretRule{"+CPNETAPN", "", bits(2, 3)},
    SecretRule{"^NDISDUP", "", bits(3, 4)},
    SecretRule{"^AUTHDATA", "", bits(3, 4)},    // Huawei: <cid>,<auth>,<PLMN>,<password>,<user>
    SecretRule{"+CNCFG", "", bits(3, 4)},
    SecretRule{"+CPIN", "", kAll},
    SecretRule{"+CPWD", "", kAll},
    SecretRule{"+CLCK", "", kAll},
    // MQTT on the module's own stack: Quectel QMTCONN <idx>,<client id>,<user>,<password>, its
    // Aliyun device secret, SIMCom CMQTTCONNECT <idx>,<server>,<keepalive>,<clean>,<user>,<password>,
    // Luat MCONFIG <client id>,<user>,<password>.
    SecretRule{"+QMTCONN", "", bits(2, 3)},
    SecretRule{"+QMTCFG", "ALIAUTH", 1u << 4},
    SecretRule{"+CMQTTCONNECT", "", bits(4, 5)},
    SecretRule{"+MCONFIG", "", bits(1, 2)},
};

// Read replies that echo credentials back, with the positions of their values.
struct ReplyRule {
    std::string_view prefix;  // as the module prints it, including ':'
    uint32_t secret_mask;
};
constexpr std::array kReplyRules = {
    ReplyRule{"+QICSGP:", bits(2, 3)},  // <type>,<APN>,<user>,<password>,<auth>
    ReplyRule{"+CGAUTH:", bits(2, 3)},
    ReplyRule{"PWD:", kAll},            // Luat AT+CPNETAPN? answers one line per setting
    ReplyRule{"+CPIN:", 0},             // "+CPIN: READY" names no secret
};

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
           });
}

std::string unquoted_upper(std::string_view s) {
    std::string out;
    for (const char c : detail::trim(s))
        if (c != '"') out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return out;
}

std::string masked_args(std::string_view args, uint32_t mask) {
    std::string out;
    const auto parts = detail::split_raw(args);
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) out.push_back(',');
        const std::string_view arg = parts[i];
        const std::string_view bare = detail::trim(arg);
        const bool secret = (i >= 32) ? mask == kAll : (mask >> i) & 1u;
        if (!secret || bare.empty() || bare == "\"\"") {
            out.append(arg);
        } else {
            out.append(arg.front() == ' ' ? " " : "");
            out.append(bare.front() == '"' ? "\"***\"" : "***");
        }
    }
    return out;
}

}  // namespace

std::string redacted(std::string_view at_command) {
    const size_t eq = at_command.find('=');
    if (eq == std::string_view::npos || at_command.size() < 2) return std::string(at_command);
    std::string_view name = at_command.substr(0, eq);
    if (name.size() >= 2 && iequals(name.substr(0, 2), "AT")) name.remove_prefix(2);
    const std::string_view args = at_command.substr(eq + 1);
    uint32_t mask = 0;
    for (const auto& rule : kSecretRules) {
        if (!iequals(name, rule.name)) continue;
        if (!rule.first_arg.empty() && unquoted_upper(detail::split_raw(args).front()) != rule.first_arg) continue;
        mask = rule.secret_mask;
    }
    if (mask == 0) return std::string(at_command);
    return std::string(at_command.substr(0, eq + 1)) + masked_args(args, mask);
}

std::string redacted_line(std::string_view line) {
    const std::string_view t = detail::trim(line);
    if (t.size() >= 2 && iequals(t.substr(0, 2), "AT")) return redacted(t);
    for (const auto& rule : kReplyRules) {
        if (t.size() < rule.prefix.size() || !iequals(t.substr(0, rule.prefix.size()), rule.prefix)) continue;
        if (rule.secret_mask == 0) break;
        return std::string(t.substr(0, rule.prefix.size())) + masked_args(t.substr(rule.prefix.size()), rule.secret_mask);
    }
    return std::string(line);
}

}  // namespace cellgate::modem
