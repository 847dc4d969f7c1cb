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
#include <map>
#include <span>
#include <sstream>
#include <string_view>
#include <utility>

#include "cloud/platform.hpp"
#include "daemon/config_reader.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using namespace config_detail;

// Anything bigger is not a config file (and /dev/zero must not hang --check-config).
constexpr size_t kMaxFileSize = 1 << 20;

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
constexpr Choice<std::string_view> kSignMethods[] = {
    {"hmacsha256", "hmacsha256"}, {"hmacsha1", "hmacsha1"}, {"hmacmd5", "hmacmd5"}};
constexpr Choice<std::string_view> kTokenMethods[] = {{"sha256", "sha256"}, {"sha1", "sha1"}, {"md5", "md5"}};

constexpr std::string_view kCommonCloudKeys[] = {"name", "platform", "endpoint", "tls", "keepalive", "rate_limit"};
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
            if (auto f = m.get("rate_limit")) read_rate_limit(e_, *f, *platform, rate_limit_);
            else rate_limit_ = cloud::default_rate_limit(*platform);
        }
        return c_;
    }

    std::optional<Field> name_field() const { return name_field_; }
    // The session's own rate limit or its platform's default; nullopt when it has errors.
    std::optional<cloud::RateLimit> rate_limit() const { return rate_limit_; }

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

    void secret(const MapWalker& m, std::string_view key, std::string& out) { read_secret(e_, m, key, out); }

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
    std::optional<cloud::RateLimit> rate_limit_;
};

std::vector<cloud::CloudConfig> read_cloud(Errors& e, const Field& section,
                                           std::map<std::string, cloud::RateLimit, std::less<>>& rate_limits) {
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
        if (auto r = reader.rate_limit()) rate_limits[entry.name] = *r;
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
    MapWalker top(e, root, "", {},
                  {"modem", "cloud", "backoff", "log_level", "local", "routes", "downlink", "outbox"});
    if (auto f = top.get("modem")) c.modem = read_modem(e, *f);
    if (auto f = top.get("cloud")) c.cloud = read_cloud(e, *f, c.bridge.rate_limits);
    if (auto f = top.get("backoff")) c.backoff = read_backoff(e, *f);
    // After cloud: routes and downlink entries name its sessions.
    if (auto f = top.get("local")) c.bridge.local = read_local(e, *f);
    if (auto f = top.get("routes")) c.bridge.routes = read_routes(e, *f, c.cloud);
    if (auto f = top.get("downlink")) c.bridge.downlink = read_downlink(e, *f, c.cloud);
    const auto outbox = top.get("outbox");
    if (outbox) c.bridge.outbox = read_outbox(e, *outbox);
    c.bridge.outbox_enabled = outbox.has_value() || c.bridge.needs_local();
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
