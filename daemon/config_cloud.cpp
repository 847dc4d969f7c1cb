// The `cloud:` and `backoff:` sections.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloud/platform.hpp"
#include "daemon/config_reader.hpp"

namespace cellgate::config_detail {
namespace {

using namespace std::chrono_literals;

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

}  // namespace

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

}  // namespace cellgate::config_detail
