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
#include "cloud/platform_profile.hpp"
#include "daemon/config_reader.hpp"
#include "daemon/module_link.hpp"
#include "mqtt/module/dialect.hpp"

namespace cellgate::config_detail {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kCommonCloudKeys[] = {"name",      "platform",   "endpoint", "tls",
                                                 "keepalive", "rate_limit", "transport"};

constexpr Choice<cloud::Transport> kTransports[] = {{"host", cloud::Transport::host},
                                                    {"module", cloud::Transport::module}};

// The module's vendor when the modem section names one with an MQTT command set.
std::optional<std::string> module_vendor(const std::optional<modem::ModemConfig>& modem) {
    if (!modem || !modem->vendor) return std::nullopt;
    return std::string(modem::to_string(*modem->vendor));
}

// A modem on a UART has no network interface: its own MQTT client is the only way out, unless
// the vendor is known to lack one. Everything else (USB, a pty, "auto") goes through the host.
cloud::Transport default_transport(const std::optional<modem::ModemConfig>& modem) {
    if (!modem || !is_uart_port(modem->port)) return cloud::Transport::host;
    const auto vendor = module_vendor(modem);
    return !vendor || mqtt::has_mqtt_command_set(*vendor) ? cloud::Transport::module : cloud::Transport::host;
}

// The keys an entry of platform `only` (of any platform: nullptr) accepts, in the order messages
// list them; a secret is accepted as `<name>_file` too.
std::vector<std::string> cloud_keys(const cloud::PlatformProfile* only) {
    std::vector<std::string> keys(std::begin(kCommonCloudKeys), std::end(kCommonCloudKeys));
    const auto add = [&keys](std::string key) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    };
    for (const cloud::PlatformProfile* p : cloud::platform_profiles()) {
        if (only != nullptr && p != only) continue;
        for (const auto& k : p->config_keys()) {
            add(std::string(k.name));
            if (k.kind == cloud::ConfigKey::Kind::secret) add(std::string(k.name) + "_file");
        }
    }
    return keys;
}

std::vector<std::string_view> views(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::vector<std::string_view> platform_names() {
    std::vector<std::string_view> names;
    for (const cloud::PlatformProfile* p : cloud::platform_profiles()) names.emplace_back(p->name());
    return names;
}

// read_choice() over a list known at run time.
std::optional<std::string_view> read_one_of(Errors& e, const Field& f, std::span<const std::string_view> names) {
    const std::string expected = "one of " + join(names, " | ");
    auto s = read_scalar(e, f, expected);
    if (!s) return std::nullopt;
    for (const auto name : names)
        if (name == *s) return name;
    e.add(f.at(), f.path, "must be " + expected + ", got " + quoted(*s));
    return std::nullopt;
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
        if (auto p = read_secret_path(e, *key)) tls.key_file = *p;
    if (cert && !key) e.add(cert->at(), cert->path, "a client certificate needs its tls.key too");
    if (key && !cert) e.add(key->at(), key->path, "a client key needs its tls.cert too");
    if (auto v = m.get("verify"))
        if (auto b = read_choice(e, *v, kBools)) tls.verify = *b;
}

class CloudEntryReader {
public:
    CloudEntryReader(Errors& e, const YAML::Node& node, size_t index, Where fallback,
                     const std::optional<modem::ModemConfig>& modem)
        : e_(e), node_(node), path_("cloud[" + std::to_string(index) + "]"), modem_(modem),
          uplink_(modem ? cloud::Uplink::cellular : cloud::Uplink::other) {
        at_ = where_of(node);
        if (at_.line == 0) at_ = fallback;
    }

    cloud::CloudConfig read() {
        c_.config_line = at_.line;
        // The platform decides which keys are valid, so it is read before the walk.
        const auto platform_field = find_platform();
        const auto names = platform_names();
        const cloud::PlatformProfile* platform = nullptr;
        if (platform_field)
            if (auto name = read_one_of(e_, *platform_field, names))
                platform = &cloud::profile(*cloud::platform_from_string(*name));
        if (platform) c_.platform = platform->id();

        const auto allowed = cloud_keys(platform);
        const std::string variant = platform ? std::string("platform ") + platform->name() : "";
        MapWalker m(e_, node_, path_, at_, views(allowed), views(cloud_keys(nullptr)), variant);
        if (!platform_field && !m.wrong_type())
            e_.add(at_, path_ + ".platform", "is required; one of " + join(names, " | "));

        if (auto f = m.require("name", "a short name such as ali, [a-z0-9_-]{1,32}")) read_name(*f);
        read_common(m);
        if (platform) {
            read_platform_keys(m, *platform);
            // A key that failed to read left its default behind, which the rules would then report
            // under another name ("requires device_secret" for an unreadable device_secret_file):
            // the rules wait until the entry itself reads cleanly, and advice until it is valid.
            if (clean()) check_rules(m);
            if (clean()) read_transport(m);
            if (clean()) warn(m);
            if (auto f = m.get("rate_limit")) read_rate_limit(e_, *f, c_.platform, rate_limit_);
            else rate_limit_ = platform->default_rate_limit();
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
                    e_.add(f->at(), f->path, "must be whole seconds, got " + duration_text(*d));
                else
                    c_.keepalive = std::chrono::duration_cast<std::chrono::seconds>(*d);
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

    // The keys the platform's profile declares, each read into its CloudConfig field.
    void read_platform_keys(const MapWalker& m, const cloud::PlatformProfile& p) {
        using Kind = cloud::ConfigKey::Kind;
        for (const auto& k : p.config_keys()) {
            switch (k.kind) {
                case Kind::text: text(m, k.name, c_.*k.text, k.max_len); break;
                case Kind::secret: read_secret(e_, m, k.name, c_.*k.text); break;
                case Kind::label: label(m, k.name, c_.*k.text); break;
                case Kind::choice:
                    if (auto f = m.get(k.name))
                        if (auto v = read_one_of(e_, *f, k.choices)) c_.*k.text = std::string(*v);
                    break;
                case Kind::duration:
                    if (auto f = m.get(k.name))
                        if (auto d = read_duration(e_, *f, k.min, k.max)) c_.*k.duration = *d;
                    break;
            }
        }
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

    void read_transport(const MapWalker& m) {
        const auto f = m.get("transport");
        if (!f) {
            c_.transport = default_transport(modem_);
        } else if (auto t = read_choice(e_, *f, kTransports)) {
            c_.transport = *t;
        } else {
            return;
        }
        if (c_.transport != cloud::Transport::module) return;
        const Where at = f ? f->at() : at_;
        const std::string key = path_ + ".transport";
        const std::string implied = f ? "" : " (the default for a modem on a UART)";
        if (!modem_) return e_.add(at, key, "module needs a modem: section (the module's own MQTT client)");
        const auto vendor = module_vendor(modem_);
        if (vendor && !mqtt::has_mqtt_command_set(*vendor))
            return e_.add(at, key, "module" + implied + ": the " + *vendor +
                                       " modem has no MQTT command set of its own (luat, quectel and simcom do)");
        if (!vendor) return;
        const auto limits = mqtt::dialect_limits(*vendor);
        c_.module_max_topic = limits.max_topic;
        if (c_.tls.enabled && !limits.tls)
            return e_.add(at, key, "module" + implied + ": the " + *vendor +
                                       " module's MQTT client has no TLS; set tls: false or transport: host");
        const auto ka = static_cast<int>(c_.keepalive.count());
        if (ka < limits.keepalive_min || ka > limits.keepalive_max)
            e_.add(at, path_ + ".keepalive", "must be " + std::to_string(limits.keepalive_min) + "s to " +
                                                 std::to_string(limits.keepalive_max) + "s for the MQTT client of a " +
                                                 *vendor + " module, got " + std::to_string(ka) + "s");
    }

    // At the key the advice is about when the entry has it (keepalive), else at the entry.
    void warn(const MapWalker& m) const {
        for (const auto& w : cloud::platform_warnings(c_, uplink_)) {
            const auto f = w.key.empty() ? std::nullopt : m.get(w.key);
            e_.warn(f ? f->at() : at_, w.key.empty() ? path_ : path_ + "." + w.key, w.message);
        }
    }

    Errors& e_;
    const YAML::Node& node_;
    std::string path_;
    const std::optional<modem::ModemConfig>& modem_;
    Where at_;
    cloud::Uplink uplink_;
    cloud::CloudConfig c_;
    std::optional<Field> name_field_;
    std::optional<cloud::RateLimit> rate_limit_;
};

// Each `transport: module` session takes one of the module's MQTT clients (Luat has 1).
void check_module_clients(Errors& e, const Field& section, const std::vector<cloud::CloudConfig>& entries,
                          const std::optional<modem::ModemConfig>& modem) {
    const auto vendor = module_vendor(modem);
    if (!vendor || !mqtt::has_mqtt_command_set(*vendor)) return;
    const int max = mqtt::dialect_limits(*vendor).max_clients;
    int used = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].transport != cloud::Transport::module || ++used <= max) continue;
        e.add(where_of(section.key), "cloud[" + std::to_string(i) + "].transport",
              "module: a " + *vendor + " module has " + std::to_string(max) + " MQTT client" + (max == 1 ? "" : "s") +
                  ", and the sessions before this one use them all");
    }
}

}  // namespace

std::vector<cloud::CloudConfig> read_cloud(Errors& e, const Field& section,
                                           std::map<std::string, cloud::RateLimit, std::less<>>& rate_limits,
                                           const std::optional<modem::ModemConfig>& modem) {
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
        CloudEntryReader reader(e, item, index++, where_of(section.key), modem);
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
    check_module_clients(e, section, out, modem);
    return out;
}

cloud::BackoffConfig read_backoff(Errors& e, const Field& section) {
    cloud::BackoffConfig b;
    MapWalker m(e, section.value, section.path, where_of(section.key), {"initial", "max", "stable_after"});
    read_ordered_durations(e, m, {"initial", 100ms, 1min, b.initial}, {"max", 100ms, 1h, b.max});
    if (auto f = m.get("stable_after"))
        if (auto v = read_duration(e, *f, 1s, 1h)) b.stable_after = *v;
    return b;
}

}  // namespace cellgate::config_detail
