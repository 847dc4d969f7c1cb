// Internal to the config loader: positions, the error list, the map walker and the value readers
// shared by the section readers (config_modem.cpp, config_cloud.cpp, config_bridge.cpp). Not for use
// outside daemon/config* and their tests.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/duration_text.hpp"
#include "daemon/config.hpp"

namespace cellgate::config_detail {

struct Where {
    int line = 0;
    int column = 0;
};

inline Where where_of(const YAML::Mark& m) {
    if (m.is_null() || m.line < 0 || m.column < 0) return {};
    return {m.line + 1, m.column + 1};
}

inline Where where_of(const YAML::Node& n) { return n.IsDefined() ? where_of(n.Mark()) : Where{}; }

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
std::string quoted(std::string_view s);
std::string join(std::span<const std::string_view> names, std::string_view sep);
const char* describe(const YAML::Node& n);
// The old name of duration_text(); config_cloud.cpp still calls it.
inline std::string format_duration(milliseconds d) { return duration_text(d); }
bool has_control_chars(std::string_view s);
std::optional<long long> parse_integer(std::string_view s);
// "" when `s` is host:port or [v6 address]:port, else what is wrong.
std::string endpoint_problem(std::string_view s);
bool is_dns_label(std::string_view s);

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

std::optional<std::string> read_scalar(Errors& e, const Field& f, std::string_view expected);
std::optional<int> read_int(Errors& e, const Field& f, int lo, int hi);
std::optional<milliseconds> read_duration(Errors& e, const Field& f, milliseconds lo, milliseconds hi);

// One key of an ordered pair of durations: its range, and where its value goes (holding the
// default until the key is read).
struct OrderedDuration {
    std::string_view key;
    milliseconds lo, hi;
    milliseconds& value;
};
// A ladder that doubles from `low` up to `high` (a backoff and its cap) needs the pair ordered:
// each key is read like read_duration(), and `high` must not end below `low`, whether it was set
// or left at its default.
void read_ordered_durations(Errors& e, const MapWalker& m, OrderedDuration low, OrderedDuration high);
// 1..max_len characters, no control characters.
std::optional<std::string> read_text(Errors& e, const Field& f, std::string_view what, size_t max_len);
std::optional<std::string> read_path(Errors& e, const Field& f);
// An absolute path to a regular file that can be opened now (its content is not read).
std::optional<std::string> read_readable_path(Errors& e, const Field& f);
// `key` inline or `key`_file read now, exactly one of them (neither: `out` is untouched). The value
// never reaches a message.
void read_secret(Errors& e, const MapWalker& m, std::string_view key, std::string& out);

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

inline constexpr Choice<bool> kBools[] = {{"true", true}, {"false", false}};

// ---- the sections, one file each ----

// config_modem.cpp
std::optional<modem::ModemConfig> read_modem(Errors& e, const Field& section);
// config_cloud.cpp; each entry's valid `rate_limit:` goes into `rate_limits` under its name.
// `modem` (read before) decides each entry's default transport and what `transport: module` allows.
std::vector<cloud::CloudConfig> read_cloud(Errors& e, const Field& section,
                                           std::map<std::string, cloud::RateLimit, std::less<>>& rate_limits,
                                           const std::optional<modem::ModemConfig>& modem);
cloud::BackoffConfig read_backoff(Errors& e, const Field& section);

// config_bridge.cpp

// A session's `rate_limit:`; `out` is set only when it is valid for the platform.
void read_rate_limit(Errors& e, const Field& f, cloud::Platform p, std::optional<cloud::RateLimit>& out);
bridge::LocalBrokerConfig read_local(Errors& e, const Field& section);
// `sessions` are the cloud entries read so far: routes and downlink entries must name one.
std::vector<bridge::RouteConfig> read_routes(Errors& e, const Field& section,
                                            const std::vector<cloud::CloudConfig>& sessions);
std::vector<bridge::DownlinkConfig> read_downlink(Errors& e, const Field& section,
                                                 const std::vector<cloud::CloudConfig>& sessions);
bridge::OutboxConfig read_outbox(Errors& e, const Field& section);

}  // namespace cellgate::config_detail
