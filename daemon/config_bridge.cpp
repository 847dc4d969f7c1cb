// The bridge's sections: `local:`, `routes:`, `downlink:`, `outbox:` and a session's `rate_limit:`.
// Everything a route will do per message is tried once here (its topic template expanded with the
// session's fields and placeholder captures), so a route that can never work is a config error,
// not a warning per message in the field.
#include <sys/stat.h>

#include <algorithm>
#include <charconv>

#include "cloud/platform.hpp"
#include "cloud/topics.hpp"
#include "daemon/config_reader.hpp"

namespace cellgate::config_detail {

using namespace std::chrono_literals;

namespace {

// A route's `topic:` and `from:` and a downlink prefix: MQTT allows 65535 bytes, no platform
// comes near 1024.
constexpr size_t kMaxTopic = 1024;
// A downlink entry's `filters:`; a generic broker's device needs a handful.
constexpr size_t kMaxFilters = 32;

std::optional<double> read_number(Errors& e, const Field& f, double lo, double hi) {
    auto s = read_scalar(e, f, "a number");
    if (!s) return std::nullopt;
    double v = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    // Past a double ("1e999") is out of range, not malformed.
    const bool too_big = ec == std::errc::result_out_of_range;
    if (s->empty() || (ec != std::errc{} && !too_big) || end != s->data() + s->size()) {
        e.add(f.at(), f.path, "expected a number, got " + quoted(*s));
        return std::nullopt;
    }
    if (too_big || !(v >= lo && v <= hi)) {
        const auto text = [](double x) { return std::to_string(static_cast<long long>(x)); };
        e.add(f.at(), f.path, "must be between " + text(lo) + " and " + text(hi) + ", got " + *s);
        return std::nullopt;
    }
    return v;
}

// "67108864", "64MiB", "512KiB", "1GiB".
std::optional<uint64_t> read_size(Errors& e, const Field& f, uint64_t lo, uint64_t hi) {
    auto s = read_scalar(e, f, "a size such as 64MiB");
    if (!s) return std::nullopt;
    static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
        {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}, {"B", 1}};
    std::string_view text = *s;
    uint64_t unit = 1;
    for (const auto& [name, size] : kUnits) {
        if (text.ends_with(name)) {
            text.remove_suffix(name.size());
            unit = size;
            break;
        }
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || end != text.data() + text.size() || (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
        e.add(f.at(), f.path, "expected a size in bytes such as 67108864 or 64MiB (units B, KiB, MiB, GiB), got " +
                                  quoted(*s));
        return std::nullopt;
    }
    // Past uint64_t, or past it once multiplied by the unit: out of range, checked before the multiply.
    const bool too_big = ec == std::errc::result_out_of_range || v > hi / unit;
    if (!too_big) v *= unit;
    if (too_big || v < lo || v > hi) {
        e.add(f.at(), f.path,
              "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " bytes, got " + *s);
        return std::nullopt;
    }
    return v;
}

const cloud::CloudConfig* find_session(const std::vector<cloud::CloudConfig>& sessions, std::string_view name) {
    const auto it = std::find_if(sessions.begin(), sessions.end(), [&](const auto& c) { return c.name == name; });
    return it == sessions.end() ? nullptr : &*it;
}

std::string session_names(const std::vector<cloud::CloudConfig>& sessions) {
    if (sessions.empty()) return "there are no cloud sessions";
    std::string out = "configured:";
    for (const auto& c : sessions) out += " " + c.name;
    return out;
}

// `to:` of a route / `from:` of a downlink entry.
const cloud::CloudConfig* read_session_ref(Errors& e, const Field& f, const std::vector<cloud::CloudConfig>& sessions) {
    auto s = read_scalar(e, f, "a cloud session name");
    if (!s) return nullptr;
    const auto* c = find_session(sessions, *s);
    if (!c) e.add(f.at(), f.path, quoted(*s) + " names no cloud session (" + session_names(sessions) + ")");
    return c;
}

std::optional<std::string> read_filter(Errors& e, const Field& f) {
    auto s = read_text(e, f, "an MQTT topic filter", kMaxTopic);
    if (!s) return std::nullopt;
    if (!cloud::valid_topic_filter(*s)) {
        e.add(f.at(), f.path,
              "is not a valid MQTT topic filter (+ and # fill whole levels, # only last), got " + quoted(*s));
        return std::nullopt;
    }
    return s;
}

size_t wildcard_count(std::string_view filter) {
    return static_cast<size_t>(std::count_if(filter.begin(), filter.end(), [](char c) { return c == '+' || c == '#'; }));
}

std::vector<const Field*> sequence_items(Errors& e, const Field& section, std::string_view what,
                                         std::vector<Field>& storage) {
    std::vector<const Field*> out;
    if (section.value.IsNull()) return out;
    if (!section.value.IsSequence()) {
        e.add(section.at(), section.path, "expected a list of " + std::string(what) + ", got " + describe(section.value));
        return out;
    }
    size_t i = 0;
    for (const auto& item : section.value)
        storage.push_back({section.path + "[" + std::to_string(i++) + "]", section.key, item});
    for (const auto& f : storage) out.push_back(&f);
    return out;
}

// Where an entry of a list is: the item itself, or its list's key for an empty item.
Where item_at(const Field& item) {
    const Where w = where_of(item.value);
    return w.line ? w : where_of(item.key);
}

// A session through the module's own MQTT client is also held to the module's topic limit (what
// the captures add is checked again at publish).
std::string module_topic_problem(const cloud::CloudConfig& session, const std::string& topic) {
    if (session.transport != cloud::Transport::module || session.module_max_topic == 0) return "";
    if (topic.size() <= session.module_max_topic) return "";
    return "longer than the module's MQTT client takes (" + std::to_string(topic.size()) + " > " +
           std::to_string(session.module_max_topic) + " bytes)";
}

// The route's topic as the bridge will build it, tried with placeholder captures.
void check_route_topic(Errors& e, const MapWalker& m, const Field& item, const bridge::RouteConfig& r,
                       const cloud::CloudConfig& session) {
    const auto fields = cloud::topic_fields(session);
    std::string tmpl = r.topic;
    if (tmpl.empty()) {
        auto t = cloud::uplink_topic(session.platform, r.as, fields);
        if (!t) {
            const auto as = m.get("as");
            e.add(as ? as->at() : item_at(item), item.path + ".as", t.error());
            return;
        }
        // The platform's topic is literal; a brace in a device name must not read as a field.
        if (auto why = cloud::check_publish_topic(session.platform, *t, fields); !why.empty())
            e.add(item_at(item), item.path + ".topic", "the platform topic " + quoted(*t) + ": " + why);
        else if (auto too_long = module_topic_problem(session, *t); !too_long.empty())
            e.add(item_at(item), item.path + ".topic", "the platform topic " + quoted(*t) + ": " + too_long);
        return;
    }
    const auto f = m.get("topic");
    const std::vector<std::string> captures(wildcard_count(r.from), "x");
    std::string error;
    auto topic = cloud::expand_topic(tmpl, fields, captures, error);
    if (!topic) {
        e.add(f->at(), f->path, error + " (from: " + quoted(r.from) + " has " + std::to_string(captures.size()) +
                                    " wildcard" + (captures.size() == 1 ? "" : "s") + ")");
        return;
    }
    if (auto why = cloud::check_publish_topic(session.platform, *topic, fields); !why.empty())
        e.add(f->at(), f->path, "expands to " + quoted(*topic) + " (captures as x): " + why);
    else if (auto too_long = module_topic_problem(session, *topic); !too_long.empty())
        e.add(f->at(), f->path, "expands to " + quoted(*topic) + " (captures as x): " + too_long);
}

std::optional<bridge::RouteConfig> read_route(Errors& e, const Field& item, const std::vector<cloud::CloudConfig>& sessions) {
    bridge::RouteConfig r;
    r.config_line = item_at(item).line;
    MapWalker m(e, item.value, item.path, item_at(item), {"from", "to", "as", "topic", "qos"});
    if (m.wrong_type()) return std::nullopt;
    bool ok = true;
    const auto need = [&](std::optional<Field> f) {
        ok = ok && f.has_value();
        return f;
    };
    if (auto f = need(m.require("from", "the local topic filter, e.g. sensors/+/telemetry"))) {
        if (auto s = read_filter(e, *f)) r.from = *s;
        else ok = false;
    }
    const cloud::CloudConfig* session = nullptr;
    if (auto f = need(m.require("to", "the name of a cloud session"))) {
        session = read_session_ref(e, *f, sessions);
        if (session) r.to = session->name;
        else ok = false;
    }
    if (auto f = need(m.require("as", "property | event:<identifier> | raw"))) {
        if (auto s = read_scalar(e, *f, "property | event:<identifier> | raw")) {
            auto fmt = cloud::parse_uplink_format(*s);
            if (!fmt) {
                e.add(f->at(), f->path, fmt.error());
                ok = false;
            } else if (auto why = session ? cloud::check_uplink_format(session->platform, *fmt) : std::string();
                       !why.empty()) {
                e.add(f->at(), f->path, why);
                ok = false;
            } else {
                r.as = *fmt;
            }
        } else {
            ok = false;
        }
    }
    if (auto f = m.get("qos")) {
        if (auto v = read_int(e, *f, 0, 2)) {
            if (session && *v > cloud::max_qos(session->platform)) {
                e.add(f->at(), f->path,
                      std::string(cloud::to_string(session->platform)) + " accepts QoS " +
                          std::to_string(cloud::max_qos(session->platform)) + " at most, got " + std::to_string(*v));
                ok = false;
            } else {
                r.qos = *v;
            }
        } else {
            ok = false;
        }
    }
    if (auto f = m.get("topic")) {
        if (auto s = read_text(e, *f, "a topic template such as gw/{device_name}/{1}", kMaxTopic)) r.topic = *s;
        else ok = false;
    } else if (ok && r.as.kind == cloud::UplinkKind::raw) {
        e.add(item_at(item), item.path + ".topic",
              "is required for as: raw; a raw route names its cloud topic, e.g. gw/{device_name}/{1}");
        ok = false;
    }
    if (!ok) return std::nullopt;
    check_route_topic(e, m, item, r, *session);
    return r;
}

std::optional<bridge::DownlinkConfig> read_downlink_entry(Errors& e, const Field& item,
                                                         const std::vector<cloud::CloudConfig>& sessions) {
    bridge::DownlinkConfig d;
    d.config_line = item_at(item).line;
    MapWalker m(e, item.value, item.path, item_at(item), {"from", "to", "filters"});
    if (m.wrong_type()) return std::nullopt;
    bool ok = true;
    const cloud::CloudConfig* session = nullptr;
    if (auto f = m.require("from", "the name of a cloud session")) {
        session = read_session_ref(e, *f, sessions);
        if (session) d.from = session->name;
    }
    if (!session) ok = false;
    if (auto f = m.require("to", "a local topic prefix such as cloud/ali")) {
        auto s = read_text(e, *f, "a local topic prefix", kMaxTopic);
        if (s && (!cloud::valid_topic_name(*s) || s->ends_with('/'))) {
            e.add(f->at(), f->path,
                  "must be a topic prefix without wildcards or a trailing '/', e.g. cloud/ali, got " + quoted(*s));
            s.reset();
        }
        if (s) d.to = *s;
        else ok = false;
    } else {
        ok = false;
    }
    const bool platform_filters =
        session && !cloud::downlink_filters(session->platform, cloud::topic_fields(*session)).empty();
    const auto filters = m.get("filters");
    if (filters && platform_filters) {
        e.add(where_of(filters->key), filters->path,
              std::string("is only for platforms without their own downlink topics; ") +
                  cloud::to_string(session->platform) + "'s are subscribed automatically");
        ok = false;
    } else if (filters) {
        std::vector<Field> storage;
        const Field bounded = first_entries(e, *filters, kMaxFilters, "filters");
        for (const Field* f : sequence_items(e, bounded, "MQTT topic filters", storage)) {
            if (auto s = read_filter(e, *f)) d.filters.push_back(*s);
            else ok = false;
        }
        if (ok && d.filters.empty()) {
            e.add(filters->at(), filters->path, "needs at least one cloud topic filter");
            ok = false;
        }
    } else if (session && !platform_filters) {
        e.add(item_at(item), item.path + ".filters",
              std::string("is required for platform ") + cloud::to_string(session->platform) +
                  ": the cloud topic filters to carry to " + (d.to.empty() ? std::string("the local broker") : d.to));
        ok = false;
    }
    if (!ok) return std::nullopt;
    return d;
}

}  // namespace

void read_rate_limit(Errors& e, const Field& f, cloud::Platform p, std::optional<cloud::RateLimit>& out) {
    MapWalker m(e, f.value, f.path, where_of(f.key), {"per_second", "burst"});
    if (m.wrong_type()) return;
    cloud::RateLimit r = cloud::default_rate_limit(p);
    bool ok = true;
    if (auto x = m.get("per_second")) {
        if (auto v = read_number(e, *x, 0, 1e6)) r.per_second = *v;
        else ok = false;
    }
    if (auto x = m.get("burst")) {
        if (auto v = read_number(e, *x, 1, 1e6)) r.burst = *v;
        else ok = false;
    }
    if (!ok) return;
    if (auto why = cloud::check_rate_limit(p, r); !why.empty()) {
        e.add(f.at(), f.path, why);
        return;
    }
    out = r;
}

bridge::LocalBrokerConfig read_local(Errors& e, const Field& section) {
    bridge::LocalBrokerConfig l;
    l.configured = true;
    MapWalker m(e, section.value, section.path, where_of(section.key),
                {"endpoint", "client_id", "username", "password", "password_file", "status_topic"});
    if (auto f = m.get("endpoint")) {
        if (auto s = read_text(e, *f, "host:port", 255)) {
            if (auto why = endpoint_problem(*s); !why.empty()) e.add(f->at(), f->path, why + ", got " + quoted(*s));
            else l.endpoint = *s;
        }
    }
    if (auto f = m.get("client_id"))
        if (auto s = read_text(e, *f, "a client id", 256)) l.client_id = *s;
    const auto user = m.get("username");
    if (user)
        if (auto s = read_text(e, *user, "a user name", 256)) l.username = *s;
    read_secret(e, m, "password", l.password);
    if (!l.password.empty() && !user) {
        const auto f = m.get("password") ? m.get("password") : m.get("password_file");
        e.add(f->at(), f->path, "MQTT 3.1.1 sends a password only with a username (§3.1.2.9); set local.username");
    }
    if (auto f = m.get("status_topic")) {
        // "" turns the status off; anything else must be a topic a retained message can go to.
        const auto s = read_scalar(e, *f, "an MQTT topic name, or \"\" for none");
        if (s && s->empty()) {
            l.status_topic.clear();
        } else if (s) {
            if (auto t = read_text(e, *f, "an MQTT topic name", kMaxTopic)) {
                if (cloud::valid_topic_name(*t)) l.status_topic = *t;
                else e.add(f->at(), f->path, "must be an MQTT topic name without + or #, got " + quoted(*t));
            }
        }
    }
    return l;
}

std::vector<bridge::RouteConfig> read_routes(Errors& e, const Field& section,
                                            const std::vector<cloud::CloudConfig>& sessions) {
    std::vector<bridge::RouteConfig> out;
    std::vector<Field> storage;
    for (const Field* item : sequence_items(e, section, "routes, each starting with '- from:'", storage))
        if (auto r = read_route(e, *item, sessions)) out.push_back(std::move(*r));
    return out;
}

std::vector<bridge::DownlinkConfig> read_downlink(Errors& e, const Field& section,
                                                 const std::vector<cloud::CloudConfig>& sessions) {
    std::vector<bridge::DownlinkConfig> out;
    std::vector<Field> storage;
    for (const Field* item : sequence_items(e, section, "entries, each starting with '- from:'", storage)) {
        auto d = read_downlink_entry(e, *item, sessions);
        if (!d) continue;
        // One prefix per session: the local answers must lead back to exactly one session.
        const auto dup = std::find_if(out.begin(), out.end(), [&](const auto& o) { return o.from == d->from; });
        if (dup != out.end()) {
            e.add(item_at(*item), item->path + ".from",
                  "session " + quoted(d->from) + " already has a downlink entry (line " +
                      std::to_string(dup->config_line) + ")");
            continue;
        }
        const auto overlap = std::find_if(out.begin(), out.end(), [&](const auto& o) {
            return o.to == d->to || d->to.starts_with(o.to + "/") || o.to.starts_with(d->to + "/");
        });
        if (overlap != out.end()) {
            e.add(item_at(*item), item->path + ".to",
                  quoted(d->to) + " overlaps the prefix " + quoted(overlap->to) + " of line " +
                      std::to_string(overlap->config_line) + "; local answers must lead to one session");
            continue;
        }
        out.push_back(std::move(*d));
    }
    return out;
}

bridge::OutboxConfig read_outbox(Errors& e, const Field& section) {
    bridge::OutboxConfig o;
    MapWalker m(e, section.value, section.path, where_of(section.key), {"path", "max_messages", "max_bytes", "max_age"});
    if (auto f = m.get("path")) {
        if (auto p = read_path(e, *f)) {
            struct stat st {};
            // Created at start if missing; what is there already must be a file SQLite can use.
            if (p->ends_with('/')) e.add(f->at(), f->path, "must name a file, not a directory, got " + quoted(*p));
            else if (::stat(p->c_str(), &st) == 0 && !S_ISREG(st.st_mode)) e.add(f->at(), f->path, *p + " " + not_regular(st.st_mode));
            else o.path = *p;
        }
    }
    if (auto f = m.get("max_messages"))
        if (auto v = read_int(e, *f, 1, 1'000'000'000)) o.max_messages = static_cast<uint64_t>(*v);
    if (auto f = m.get("max_bytes"))
        if (auto v = read_size(e, *f, 1ull << 10, 1ull << 40)) o.max_bytes = *v;
    if (auto f = m.get("max_age"))
        if (auto v = read_duration(e, *f, 1min, 87600h)) o.max_age = *v;
    return o;
}

}  // namespace cellgate::config_detail
