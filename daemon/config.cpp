#include "daemon/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <expected>
#include <initializer_list>
#include <span>
#include <sstream>
#include <string_view>
#include <utility>

#include "cloud/platform.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;

// Anything bigger is not a config file (and /dev/zero must not hang --check-config).
constexpr size_t kMaxFileSize = 1 << 20;

struct Where {
    int line = 0;
    int column = 0;
};

Where where_of(const YAML::Mark& m) {
    if (m.is_null() || m.line < 0 || m.column < 0) return {};
    return {m.line + 1, m.column + 1};
}

Where where_of(const YAML::Node& n) { return n.IsDefined() ? where_of(n.Mark()) : Where{}; }

class Errors {
public:
    explicit Errors(std::string file) : file_(std::move(file)) {}

    void add(Where w, std::string key, std::string message) {
        errors_.push_back({file_, w.line, w.column, std::move(key), std::move(message)});
    }
    bool empty() const { return errors_.empty(); }
    bool has_key(std::string_view key) const {
        return std::any_of(errors_.begin(), errors_.end(), [&](const ConfigError& e) { return e.key == key; });
    }
    bool has_key_prefix(std::string_view prefix) const {
        return std::any_of(errors_.begin(), errors_.end(),
                           [&](const ConfigError& e) { return e.key.starts_with(prefix); });
    }
    const std::string& file() const { return file_; }

    // Sorted by position so --check-config reads top to bottom; positionless errors come first.
    std::vector<ConfigError> take() {
        std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
            return std::pair(a.line, a.column) < std::pair(b.line, b.column);
        });
        return std::move(errors_);
    }

private:
    std::string file_;
    std::vector<ConfigError> errors_;
};

// Values are echoed to help the user, but they may be binary junk or huge.
std::string quoted(std::string_view s) {
    constexpr size_t kMax = 64;
    std::string out = "'";
    for (size_t i = 0; i < s.size() && i < kMax; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            static const char kHex[] = "0123456789abcdef";
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > kMax) out += "...";
    out += "'";
    return out;
}

std::string join(std::span<const std::string_view> names, std::string_view sep) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += sep;
        out += n;
    }
    return out;
}

const char* describe(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null: return "nothing";
        case YAML::NodeType::Scalar: return "a single value";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a map";
        case YAML::NodeType::Undefined: break;
    }
    return "nothing";
}

std::string format_duration(milliseconds d) {
    if (d == 0ms) return "0s";
    long long left = d.count();
    std::string out;
    for (auto [unit, ms] : {std::pair{"h", 3'600'000LL}, {"m", 60'000LL}, {"s", 1'000LL}, {"ms", 1LL}}) {
        if (left >= ms) {
            out += std::to_string(left / ms) + unit;
            left %= ms;
        }
    }
    return out;
}

// One key of a map, with where it was written.
struct Field {
    std::string path;  // dotted, e.g. "modem.apn.auth"
    YAML::Node key;
    YAML::Node value;

    // Null values have no useful mark of their own; point at the key instead.
    Where at() const { return value.IsNull() ? where_of(key) : where_of(value); }
};

// Walks one YAML map: reports unknown, duplicate and non-string keys, and hands out the known ones.
// A section of the config is one function that builds a MapWalker and reads its fields.
class MapWalker {
public:
    // A null node is an empty map (`modem:` with every child commented out).
    MapWalker(Errors& errors, const YAML::Node& node, std::string path, Where where,
              std::initializer_list<std::string_view> allowed)
        : MapWalker(errors, node, std::move(path), where, std::vector<std::string_view>(allowed)) {}

    // `elsewhere` names keys that are valid in a sibling variant of this map (another cloud
    // platform); they are reported as "not used by <variant>" instead of as typos.
    MapWalker(Errors& errors, const YAML::Node& node, std::string path, Where where,
              std::vector<std::string_view> allowed, std::span<const std::string_view> elsewhere = {},
              std::string_view variant = {})
        : errors_(errors), path_(std::move(path)), where_(where), allowed_(std::move(allowed)) {
        if (node.IsNull() || !node.IsDefined()) return;
        if (!node.IsMap()) {
            errors_.add(where_of(node), path_,
                        std::string("expected a map with keys ") + join(allowed_, ", ") + ", got " +
                            describe(node));
            wrong_type_ = true;
            return;
        }
        for (const auto& entry : node) {
            const YAML::Node& key = entry.first;
            if (!key.IsScalar()) {
                errors_.add(where_of(key), path_, std::string("keys must be plain names, got ") + describe(key));
                continue;
            }
            const std::string& name = key.Scalar();
            const std::string child = child_path(name);
            if (std::find(allowed_.begin(), allowed_.end(), name) == allowed_.end()) {
                const bool foreign = std::find(elsewhere.begin(), elsewhere.end(), name) != elsewhere.end();
                errors_.add(where_of(key), child,
                            (foreign ? "key " + quoted(name) + " is not used by " + std::string(variant)
                                     : "unknown key " + quoted(name)) +
                                "; allowed here: " + join(allowed_, ", "));
                continue;
            }
            const auto dup = std::find_if(fields_.begin(), fields_.end(),
                                          [&](const Field& f) { return f.key.Scalar() == name; });
            if (dup != fields_.end()) {
                errors_.add(where_of(key), child,
                            "duplicate key (first set on line " + std::to_string(where_of(dup->key).line) + ")");
                continue;
            }
            fields_.push_back({child, key, entry.second});
        }
    }

    std::optional<Field> get(std::string_view name) const {
        for (const auto& f : fields_)
            if (f.key.Scalar() == name) return f;
        return std::nullopt;
    }

    std::optional<Field> require(std::string_view name, std::string_view what) const {
        auto f = get(name);
        // A section of the wrong type was already reported; its children are not "missing".
        if (!f && !wrong_type_)
            errors_.add(where_, child_path(std::string(name)), "is required; " + std::string(what));
        return f;
    }

    bool wrong_type() const { return wrong_type_; }

private:
    std::string child_path(const std::string& name) const { return path_.empty() ? name : path_ + "." + name; }

    Errors& errors_;
    std::string path_;
    Where where_;
    std::vector<std::string_view> allowed_;
    std::vector<Field> fields_;
    bool wrong_type_ = false;
};

// ---- value readers: each reports its own error and returns nullopt on failure ----

std::optional<std::string> read_scalar(Errors& e, const Field& f, std::string_view expected) {
    if (f.value.IsScalar()) return f.value.Scalar();
    e.add(f.at(), f.path, "expected " + std::string(expected) + ", got " + describe(f.value));
    return std::nullopt;
}

std::optional<long long> parse_integer(std::string_view s) {
    long long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::optional<int> read_int(Errors& e, const Field& f, int lo, int hi) {
    auto s = read_scalar(e, f, "an integer");
    if (!s) return std::nullopt;
    auto v = parse_integer(*s);
    if (!v) {
        e.add(f.at(), f.path, "expected an integer, got " + quoted(*s));
        return std::nullopt;
    }
    if (*v < lo || *v > hi) {
        e.add(f.at(), f.path,
              "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + *s);
        return std::nullopt;
    }
    return static_cast<int>(*v);
}

std::optional<milliseconds> read_duration(Errors& e, const Field& f, milliseconds lo, milliseconds hi) {
    auto s = read_scalar(e, f, "a duration like 90s");
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) {
        if (parse_integer(*s))
            e.add(f.at(), f.path,
                  "duration " + quoted(*s) + " has no unit; write e.g. " + *s + "s (units: ms, s, m, h)");
        else
            e.add(f.at(), f.path, "expected a duration like 90s, 2m, 1h, 500ms or 1m30s, got " + quoted(*s));
        return std::nullopt;
    }
    if (*d < lo || *d > hi) {
        e.add(f.at(), f.path,
              "must be between " + format_duration(lo) + " and " + format_duration(hi) + ", got " +
                  format_duration(*d));
        return std::nullopt;
    }
    return d;
}

template <class T>
struct Choice {
    std::string_view name;
    T value;
};

template <class T, size_t N>
std::optional<T> read_choice(Errors& e, const Field& f, const Choice<T> (&choices)[N]) {
    std::vector<std::string_view> names;
    for (const auto& c : choices) names.push_back(c.name);
    auto s = read_scalar(e, f, "one of " + join(names, " | "));
    if (!s) return std::nullopt;
    for (const auto& c : choices)
        if (c.name == *s) return c.value;
    e.add(f.at(), f.path, "must be one of " + join(names, " | ") + ", got " + quoted(*s));
    return std::nullopt;
}

bool has_control_chars(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

// ---- sections ----

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
constexpr Choice<log::Level> kLogLevels[] = {{"err", log::Level::err},
                                             {"warning", log::Level::warning},
                                             {"notice", log::Level::notice},
                                             {"info", log::Level::info},
                                             {"debug", log::Level::debug}};
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
    if (auto f = m.get("password")) read_credential(e, *f, apn.password);
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

std::optional<ModemConfig> read_modem(Errors& e, const Field& section) {
    ModemConfig c;
    MapWalker m(e, section.value, section.path, where_of(section.key),
                {"port", "vendor", "baud", "pin", "apn", "cid", "signal_interval", "registration_grace",
                 "registration_timeout", "status_poll", "recovery_backoff", "recovery_backoff_max",
                 "port_return_timeout"});

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
            if (!digits || s->size() < 4 || s->size() > 8)
                e.add(f->at(), f->path, "must be 4-8 digits");  // never echo the PIN
            else
                c.pin = *s;
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
    // The ladder doubles from recovery_backoff up to recovery_backoff_max, so the pair must be ordered.
    const auto backoff_field = m.get("recovery_backoff");
    bool backoff_ok = true;
    if (backoff_field) {
        const auto v = read_duration(e, *backoff_field, 1s, 10min);
        backoff_ok = v.has_value();
        if (v) c.recovery_backoff = *v;
    }
    if (auto f = m.get("recovery_backoff_max")) {
        if (auto v = read_duration(e, *f, 1s, 1h)) {
            if (backoff_ok && *v < c.recovery_backoff)
                e.add(f->at(), f->path,
                      "must be at least recovery_backoff (" + format_duration(c.recovery_backoff) + "), got " +
                          format_duration(*v));
            else
                c.recovery_backoff_max = *v;
        }
    } else if (backoff_field && backoff_ok && c.recovery_backoff > c.recovery_backoff_max) {
        e.add(backoff_field->at(), backoff_field->path,
              "exceeds the default recovery_backoff_max (" + format_duration(c.recovery_backoff_max) +
                  "); set recovery_backoff_max too");
    }
    duration("port_return_timeout", c.port_return_timeout, 5s, 10min);
    return c;
}

// ---- cloud ----

constexpr Choice<cloud::Platform> kPlatforms[] = {{"aliyun", cloud::Platform::aliyun},
                                                  {"onenet", cloud::Platform::onenet},
                                                  {"onenet-legacy", cloud::Platform::onenet_legacy},
                                                  {"generic", cloud::Platform::generic}};
constexpr Choice<bool> kBools[] = {{"true", true}, {"false", false}};
constexpr Choice<std::string_view> kSignMethods[] = {
    {"hmacsha256", "hmacsha256"}, {"hmacsha1", "hmacsha1"}, {"hmacmd5", "hmacmd5"}};
constexpr Choice<std::string_view> kTokenMethods[] = {{"sha256", "sha256"}, {"sha1", "sha1"}, {"md5", "md5"}};

constexpr std::string_view kCommonCloudKeys[] = {"name", "platform", "endpoint", "tls", "keepalive"};
constexpr std::string_view kAliyunKeys[] = {"product_key", "device_name", "device_secret", "device_secret_file",
                                            "region",      "instance",    "sign_method",   "client_id"};
constexpr std::string_view kOnenetKeys[] = {"product_id",      "device_name",    "device_key",
                                            "device_key_file", "token_lifetime", "token_method"};
constexpr std::string_view kOnenetLegacyKeys[] = {"product_id", "device_id", "auth_info", "auth_info_file"};
constexpr std::string_view kGenericKeys[] = {"client_id", "username", "password", "password_file"};

std::span<const std::string_view> platform_keys(cloud::Platform p) {
    switch (p) {
        case cloud::Platform::aliyun: return kAliyunKeys;
        case cloud::Platform::onenet: return kOnenetKeys;
        case cloud::Platform::onenet_legacy: return kOnenetLegacyKeys;
        case cloud::Platform::generic: return kGenericKeys;
    }
    return {};
}

std::vector<std::string_view> cloud_keys(std::optional<cloud::Platform> p) {
    std::vector<std::string_view> keys(std::begin(kCommonCloudKeys), std::end(kCommonCloudKeys));
    for (const auto& c : kPlatforms) {
        if (p && c.value != *p) continue;
        for (auto k : platform_keys(c.value))
            if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
    return keys;
}

// A secret file of this size is a mistake (a certificate bundle, a log), not a password.
constexpr size_t kMaxSecretFile = 64 * 1024;
// MQTT allows 65535; no platform credential comes near this.
constexpr size_t kMaxSecret = 4096;

// Opens `path` without blocking on a FIFO or acquiring a terminal. The error names the file and
// errno only.
std::expected<int, std::string> open_regular(const std::string& path, struct stat& st) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return std::unexpected("cannot read " + path + ": " + std::strerror(errno));
    if (::fstat(fd, &st) < 0) {
        const int err = errno;
        ::close(fd);
        return std::unexpected("cannot read " + path + ": " + std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        if (S_ISDIR(st.st_mode)) return std::unexpected("cannot read " + path + ": " + std::strerror(EISDIR));
        return std::unexpected(path + " is not a regular file");
    }
    return fd;
}

struct SecretFile {
    std::string value;
    bool world_readable = false;
};

std::expected<SecretFile, std::string> read_secret_file(const std::string& path) {
    struct stat st {};
    auto fd = open_regular(path, st);
    if (!fd) return std::unexpected(fd.error());
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{*fd};
    if (static_cast<unsigned long long>(st.st_size) > kMaxSecretFile)
        return std::unexpected(path + " is too big for a secret (over 64 KiB)");

    SecretFile out;
    out.world_readable = (st.st_mode & S_IROTH) != 0;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(*fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::unexpected("cannot read " + path + ": " + std::strerror(errno));
        }
        if (n == 0) break;
        out.value.append(buf, static_cast<size_t>(n));
        if (out.value.size() > kMaxSecretFile) return std::unexpected(path + " is too big for a secret (over 64 KiB)");
    }
    // Editors and `echo` end the file with a newline that is not part of the secret.
    if (out.value.ends_with('\n')) out.value.pop_back();
    if (out.value.ends_with('\r')) out.value.pop_back();
    return out;
}

// What is wrong with a secret value, or "" when nothing is. Never quotes the value.
std::string secret_problem(std::string_view s) {
    if (s.empty()) return "is empty";
    if (s.size() > kMaxSecret) return "is longer than " + std::to_string(kMaxSecret) + " bytes";
    if (s.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos)
        return "contains a line break or a NUL byte; a secret is one line";
    return "";
}

std::optional<std::string> read_text(Errors& e, const Field& f, std::string_view what, size_t max_len) {
    auto s = read_scalar(e, f, what);
    if (!s) return std::nullopt;
    if (s->empty() || s->size() > max_len || has_control_chars(*s)) {
        e.add(f.at(), f.path,
              "must be 1-" + std::to_string(max_len) + " characters without control characters, got " + quoted(*s));
        return std::nullopt;
    }
    return s;
}

std::optional<std::string> read_path(Errors& e, const Field& f) {
    auto s = read_scalar(e, f, "an absolute file path");
    if (!s) return std::nullopt;
    if (s->empty() || s->front() != '/' || s->size() > 4095 || has_control_chars(*s)) {
        e.add(f.at(), f.path, "must be an absolute file path, got " + quoted(*s));
        return std::nullopt;
    }
    return s;
}

// A file the session opens at every connect (CA, certificate, key): checked now so a typo is a
// config error instead of a TLS failure in the field. The content is not read.
std::optional<std::string> read_readable_path(Errors& e, const Field& f) {
    auto path = read_path(e, f);
    if (!path) return std::nullopt;
    struct stat st {};
    auto fd = open_regular(*path, st);
    if (!fd) {
        e.add(f.at(), f.path, fd.error());
        return std::nullopt;
    }
    ::close(*fd);
    return path;
}

bool is_dns_label(std::string_view s) {
    return !s.empty() && s.size() <= 63 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    });
}

// "host:port" or "[v6 address]:port"; "" when valid, else what is wrong.
std::string endpoint_problem(std::string_view s) {
    if (s.find("://") != std::string_view::npos) return "must be host:port, not a URL";
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return "must be host:port";
    std::string_view host = s.substr(0, colon);
    const std::string_view port = s.substr(colon + 1);
    if (host.starts_with('[')) {
        if (!host.ends_with(']') || host.size() < 3) return "must be host:port or [IPv6 address]:port";
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return "an IPv6 address must be written in brackets: [address]:port";
    }
    if (host.empty()) return "has an empty host; write host:port";
    const bool host_ok = std::all_of(host.begin(), host.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7f && c != '/' && c != '@' && c != '[' && c != ']';
    });
    if (!host_ok) return "has an invalid host name";
    const auto p = parse_integer(port);
    if (!p || *p < 1 || *p > 65535) return "needs a port between 1 and 65535";
    return "";
}

void read_tls(Errors& e, const Field& f, cloud::TlsConfig& tls) {
    if (f.value.IsScalar()) {
        if (auto v = read_choice(e, f, kBools)) tls.enabled = *v;
        return;
    }
    if (!f.value.IsMap()) {
        e.add(f.at(), f.path, std::string("expected true, false or a map with keys ca, cert, key, verify, got ") +
                                  describe(f.value));
        return;
    }
    tls.enabled = true;
    MapWalker m(e, f.value, f.path, where_of(f.key), {"ca", "cert", "key", "verify"});
    if (auto c = m.get("ca"))
        if (auto p = read_readable_path(e, *c)) tls.ca_file = *p;
    const auto cert = m.get("cert");
    const auto key = m.get("key");
    if (cert)
        if (auto p = read_readable_path(e, *cert)) tls.cert_file = *p;
    if (key)
        if (auto p = read_readable_path(e, *key)) tls.key_file = *p;
    if (cert && !key) e.add(cert->at(), cert->path, "a client certificate needs its tls.key too");
    if (key && !cert) e.add(key->at(), key->path, "a client key needs its tls.cert too");
    if (auto v = m.get("verify"))
        if (auto b = read_choice(e, *v, kBools)) tls.verify = *b;
}

class CloudEntryReader {
public:
    CloudEntryReader(Errors& e, const YAML::Node& node, size_t index, Where fallback)
        : e_(e), node_(node), path_("cloud[" + std::to_string(index) + "]") {
        at_ = where_of(node);
        if (at_.line == 0) at_ = fallback;
    }

    cloud::CloudConfig read() {
        c_.config_line = at_.line;
        // The platform decides which keys are valid, so it is read before the walk.
        const auto platform_field = find_platform();
        std::optional<cloud::Platform> platform;
        if (platform_field) platform = read_choice(e_, *platform_field, kPlatforms);
        if (platform) c_.platform = *platform;

        const auto all = cloud_keys(std::nullopt);
        const std::string variant = platform ? std::string("platform ") + cloud::to_string(*platform) : "";
        MapWalker m(e_, node_, path_, at_, cloud_keys(platform), all, variant);
        if (!platform_field && !m.wrong_type())
            e_.add(at_, path_ + ".platform", "is required; one of aliyun | onenet | onenet-legacy | generic");

        if (auto f = m.require("name", "a short name such as ali, [a-z0-9_-]{1,32}")) read_name(*f);
        read_common(m);
        if (platform) {
            switch (*platform) {
                case cloud::Platform::aliyun: read_aliyun(m); break;
                case cloud::Platform::onenet: read_onenet(m); break;
                case cloud::Platform::onenet_legacy: read_onenet_legacy(m); break;
                case cloud::Platform::generic: read_generic(m); break;
            }
            // A key that failed to read left its default behind, which the rules would then report
            // under another name ("requires device_secret" for an unreadable device_secret_file):
            // the rules wait until the entry itself reads cleanly, and advice until it is valid.
            if (clean()) check_rules(m);
            if (clean()) warn();
        }
        return c_;
    }

    std::optional<Field> name_field() const { return name_field_; }

private:
    std::optional<Field> find_platform() const {
        if (!node_.IsMap()) return std::nullopt;
        for (const auto& entry : node_)
            if (entry.first.IsScalar() && entry.first.Scalar() == "platform")
                return Field{path_ + ".platform", entry.first, entry.second};
        return std::nullopt;
    }

    void read_name(const Field& f) {
        name_field_ = f;
        auto s = read_scalar(e_, f, "a name");
        if (!s) return;
        const bool ok = !s->empty() && s->size() <= 32 && std::all_of(s->begin(), s->end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        });
        if (!ok) {
            e_.add(f.at(), f.path, "must be 1-32 characters of a-z 0-9 _ -, got " + quoted(*s));
            name_field_.reset();
            return;
        }
        c_.name = *s;
    }

    void read_common(const MapWalker& m) {
        if (auto f = m.get("endpoint")) {
            if (auto s = read_text(e_, *f, "host:port", 255)) {
                if (auto why = endpoint_problem(*s); !why.empty())
                    e_.add(f->at(), f->path, why + ", got " + quoted(*s));
                else
                    c_.endpoint = *s;
            }
        }
        if (auto f = m.get("tls")) read_tls(e_, *f, c_.tls);
        if (auto f = m.get("keepalive")) {
            // MQTT carries the keepalive as 16-bit seconds.
            if (auto d = read_duration(e_, *f, 1s, 65535s)) {
                if (d->count() % 1000 != 0)
                    e_.add(f->at(), f->path, "must be whole seconds, got " + format_duration(*d));
                else
                    c_.keepalive = *d;
            }
        }
    }

    // Required keys are the platform's rules (check_rules), not the reader's.
    void text(const MapWalker& m, std::string_view key, std::string& out, size_t max_len) {
        const auto f = m.get(key);
        if (!f) return;
        if (auto s = read_text(e_, *f, "a string", max_len)) out = *s;
    }

    void label(const MapWalker& m, std::string_view key, std::string& out) {
        const auto f = m.get(key);
        if (!f) return;
        auto s = read_scalar(e_, *f, "a name");
        if (!s) return;
        if (!is_dns_label(*s))
            e_.add(f->at(), f->path, "must be 1-63 characters of A-Z a-z 0-9 -, got " + quoted(*s));
        else
            out = *s;
    }

    // `key` inline or `key`_file read now, exactly one of them. The value never reaches a message.
    void secret(const MapWalker& m, std::string_view key, std::string& out) {
        const std::string file_key = std::string(key) + "_file";
        const auto inline_f = m.get(key);
        const auto file_f = m.get(file_key);
        if (inline_f && file_f) {
            e_.add(file_f->at(), file_f->path, "set either " + std::string(key) + " or " + file_key + ", not both");
            return;
        }
        if (!inline_f && !file_f) return;
        if (inline_f) {
            auto s = read_scalar(e_, *inline_f, "a string");
            if (!s) return;
            if (auto why = secret_problem(*s); !why.empty())
                e_.add(inline_f->at(), inline_f->path, why);
            else
                out = *s;
            return;
        }
        auto path = read_path(e_, *file_f);
        if (!path) return;
        auto file = read_secret_file(*path);
        if (!file) {
            e_.add(file_f->at(), file_f->path, file.error());
            return;
        }
        if (auto why = secret_problem(file->value); !why.empty()) {
            e_.add(file_f->at(), file_f->path, *path + " " + why);
            return;
        }
        if (file->world_readable) {
            const Where w = file_f->at();
            log::warning("config: ", e_.file(), ":", w.line, ":", w.column, ": ", file_f->path, ": ", *path,
                         " is readable by every user; chmod 600 it");
        }
        out = std::move(file->value);
    }

    template <size_t N>
    void method(const MapWalker& m, std::string_view key, const Choice<std::string_view> (&choices)[N],
                std::string& out) {
        if (auto f = m.get(key))
            if (auto v = read_choice(e_, *f, choices)) out = std::string(*v);
    }

    void read_aliyun(const MapWalker& m) {
        text(m, "product_key", c_.product_key, 64);
        text(m, "device_name", c_.device_name, 64);
        secret(m, "device_secret", c_.device_secret);
        label(m, "region", c_.region);
        label(m, "instance", c_.instance);
        method(m, "sign_method", kSignMethods, c_.sign_method);
        text(m, "client_id", c_.client_id, 256);
    }

    void read_onenet(const MapWalker& m) {
        text(m, "product_id", c_.product_id, 64);
        text(m, "device_name", c_.device_name, 64);
        secret(m, "device_key", c_.device_key);
        if (auto f = m.get("token_lifetime"))
            if (auto d = read_duration(e_, *f, 1min, 87600h)) c_.token_lifetime = *d;
        method(m, "token_method", kTokenMethods, c_.token_method);
    }

    void read_onenet_legacy(const MapWalker& m) {
        text(m, "product_id", c_.product_id, 64);
        text(m, "device_id", c_.device_id, 64);
        secret(m, "auth_info", c_.auth_info);
    }

    void read_generic(const MapWalker& m) {
        text(m, "client_id", c_.client_id, 256);
        text(m, "username", c_.username, 256);
        secret(m, "password", c_.password);
    }

    // The platform's documented limits, so a violation is a config error and not a kick in the field.
    void check_rules(const MapWalker& m) {
        for (const auto& v : cloud::check_platform_rules(c_)) {
            const std::string key = v.key.empty() ? path_ : path_ + "." + v.key;
            if (e_.has_key(key)) continue;  // already reported by the reader, more precisely
            const auto f = v.key.empty() ? std::nullopt : m.get(v.key);
            e_.add(f ? f->at() : at_, key, v.message);
        }
    }

    bool clean() const { return !e_.has_key(path_) && !e_.has_key_prefix(path_ + "."); }

    void warn() const {
        for (const auto& w : cloud::platform_warnings(c_))
            log::warning("config: ", e_.file(), ":", at_.line, ": ", path_, w.key.empty() ? "" : ".", w.key, ": ",
                         w.message);
    }

    Errors& e_;
    const YAML::Node& node_;
    std::string path_;
    Where at_;
    cloud::CloudConfig c_;
    std::optional<Field> name_field_;
};

std::vector<cloud::CloudConfig> read_cloud(Errors& e, const Field& section) {
    std::vector<cloud::CloudConfig> out;
    if (section.value.IsNull()) return out;  // `cloud:` with every entry commented out
    if (!section.value.IsSequence()) {
        e.add(section.at(), section.path,
              std::string("expected a list of sessions, each starting with '- name:', got ") + describe(section.value));
        return out;
    }
    std::vector<std::pair<std::string, int>> names;  // name, line
    size_t index = 0;
    for (const auto& item : section.value) {
        CloudEntryReader reader(e, item, index++, where_of(section.key));
        auto entry = reader.read();
        if (auto nf = reader.name_field()) {
            const auto dup =
                std::find_if(names.begin(), names.end(), [&](const auto& n) { return n.first == entry.name; });
            if (dup != names.end()) {
                // Two sessions with one name would share a D-Bus object path.
                e.add(nf->at(), nf->path,
                      "duplicate session name " + quoted(entry.name) + " (first used on line " +
                          std::to_string(dup->second) + ")");
                continue;
            }
            names.emplace_back(entry.name, nf->at().line);
        }
        out.push_back(std::move(entry));
    }
    return out;
}

cloud::BackoffConfig read_backoff(Errors& e, const Field& section) {
    cloud::BackoffConfig b;
    MapWalker m(e, section.value, section.path, where_of(section.key), {"initial", "max", "stable_after"});
    bool initial_ok = true;
    if (auto f = m.get("initial")) {
        const auto v = read_duration(e, *f, 100ms, 1min);
        initial_ok = v.has_value();
        if (v) b.initial = *v;
    }
    if (auto f = m.get("max")) {
        if (auto v = read_duration(e, *f, 100ms, 1h)) {
            if (initial_ok && *v < b.initial)
                e.add(f->at(), f->path,
                      "must be at least initial (" + format_duration(b.initial) + "), got " + format_duration(*v));
            else
                b.max = *v;
        }
    }
    if (auto f = m.get("stable_after"))
        if (auto v = read_duration(e, *f, 1s, 1h)) b.stable_after = *v;
    return b;
}

Config read_config(Errors& e, const YAML::Node& root) {
    Config c;
    MapWalker top(e, root, "", {}, {"modem", "cloud", "backoff", "log_level"});
    if (auto f = top.get("modem")) c.modem = read_modem(e, *f);
    if (auto f = top.get("cloud")) c.cloud = read_cloud(e, *f);
    if (auto f = top.get("backoff")) c.backoff = read_backoff(e, *f);
    if (auto f = top.get("log_level"))
        if (auto v = read_choice(e, *f, kLogLevels)) c.log_level = *v;
    return c;
}

// yaml-cpp's messages carry no document text, except the escape ones which quote a piece of a quoted
// string, which may be a password.
std::string syntax_message(const std::string& msg) {
    // yaml-cpp's depth guard reuses the "bad file" text; from a string it can only mean that.
    if (msg == YAML::ErrorMsg::BAD_FILE) return "nested too deeply";
    for (std::string_view prefix : {"unknown escape character", "invalid unicode"})
        if (msg.starts_with(prefix)) return std::string(prefix) + " in a quoted string";
    return msg;
}

// Counts the documents with yaml-cpp's event parser before building any node tree. YAML::LoadAll
// cannot be used: in yaml-cpp 0.7 a token that cannot start a node (a stray ',' after the first
// document, or alone) makes it loop forever, adding an empty document per turn until memory runs out
// (jbeder/yaml-cpp#1040, fixed upstream by #1319). Here such a loop shows as a document starting
// where the previous one started, and becomes a syntax error.
struct DocumentScan {
    int documents = 0;
    Where second_document;
    bool syntax_error = false;
    Where error_at;
    std::string error;
};

class DocumentCounter final : public YAML::EventHandler {
public:
    int documents = 0;
    YAML::Mark start;            // of the current document
    YAML::Mark previous_start;   // of the one before
    std::optional<YAML::Mark> first_node;  // of the current document

    void OnDocumentStart(const YAML::Mark& m) override {
        previous_start = start;
        start = m;
        first_node.reset();
        ++documents;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { node(m); }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(m);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(m);
    }
    void OnMapEnd() override {}

private:
    void node(const YAML::Mark& m) {
        if (!first_node) first_node = m;
    }
};

DocumentScan scan_documents(const std::string& yaml) {
    DocumentScan scan;
    try {
        std::istringstream in(yaml);
        YAML::Parser parser(in);
        DocumentCounter counter;
        while (parser.HandleNextDocument(counter)) {
            if (counter.documents >= 2 && counter.start.pos == counter.previous_start.pos) {
                const auto pos = static_cast<size_t>(counter.start.pos);
                const char c = pos < yaml.size() ? yaml[pos] : '?';
                scan.syntax_error = true;
                scan.error_at = where_of(counter.start);
                scan.error = c > ' ' && c < 0x7f ? std::string("unexpected '") + c + "'" : "unexpected character";
                return scan;
            }
            if (counter.documents == 2) scan.second_document = where_of(counter.first_node.value_or(counter.start));
            // Past two documents the config is rejected anyway; scanning on only looks for syntax errors.
            if (counter.documents >= 64) break;
        }
        scan.documents = counter.documents;
    } catch (const YAML::Exception& ex) {
        scan.syntax_error = true;
        scan.error_at = where_of(ex.mark);
        scan.error = syntax_message(ex.msg);
    }
    return scan;
}

}  // namespace

std::string ConfigError::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ":" + std::to_string(line);
        if (column > 0) out += ":" + std::to_string(column);
    }
    out += ": ";
    if (!key.empty()) out += key + ": ";
    out += message;
    return out;
}

std::optional<milliseconds> parse_duration(std::string_view text) {
    struct Unit {
        std::string_view name;
        long long ms;
        int rank;  // units must appear in increasing rank
    };
    // "ms" before "m" so the prefix match picks the right one.
    static constexpr Unit kUnits[] = {{"h", 3'600'000, 0}, {"ms", 1, 3}, {"m", 60'000, 1}, {"s", 1'000, 2}};

    if (text.empty()) return std::nullopt;
    long long total = 0;
    int last_rank = -1;
    size_t i = 0;
    while (i < text.size()) {
        const size_t start = i;
        long long value = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') value = value * 10 + (text[i++] - '0');
        // Nine digits of hours is far beyond any sane timer and keeps the sum from overflowing.
        if (i == start || i - start > 9) return std::nullopt;
        const Unit* unit = nullptr;
        for (const auto& u : kUnits) {
            if (text.substr(i).starts_with(u.name)) {
                unit = &u;
                break;
            }
        }
        if (!unit) return std::nullopt;
        i += unit->name.size();
        // Units strictly largest to smallest, each once: "1m30s" yes, "30s1m" and "1m1m" no.
        if (unit->rank <= last_rank) return std::nullopt;
        last_rank = unit->rank;
        total += value * unit->ms;
    }
    return milliseconds{total};
}

ConfigResult load_config_string(const std::string& yaml, const std::string& source_name) {
    Errors errors(source_name);
    Config config;
    try {
        const DocumentScan scan = scan_documents(yaml);
        if (scan.syntax_error) {
            errors.add(scan.error_at, "", "YAML syntax error: " + scan.error);
        } else if (scan.documents > 1) {
            errors.add(scan.second_document, "", "only one YAML document is allowed (found a second '---')");
        } else if (scan.documents == 1) {
            config = read_config(errors, YAML::Load(yaml));
        }
    } catch (const std::exception& ex) {
        // Defensive: yaml-cpp node accessors throw on misuse; a bug here must not kill the caller.
        errors.add({}, "", std::string("internal error while reading the config: ") + ex.what());
    } catch (...) {
        errors.add({}, "", "internal error while reading the config");
    }

    ConfigResult result;
    if (errors.empty()) {
        config.source = source_name;
        result.config = std::move(config);
    }
    result.errors = errors.take();
    return result;
}

ConfigResult load_config_file(const std::string& path) {
    const auto fail = [&](const char* what, int err) {
        ConfigResult r;
        r.errors.push_back({path, 0, 0, "", std::string(what) + ": " + std::strerror(err)});
        return r;
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open", errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};

    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) return fail("cannot read", EISDIR);

    std::string text;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail("cannot read", errno);
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxFileSize) return fail("cannot read", EFBIG);
    }
    return load_config_string(text, path);
}

}  // namespace cellgate
