// Internal to the config loader: positions, the error list, the map walker and the value readers
// shared by the section readers (config_modem.cpp, config_cloud.cpp, config_bridge.cpp). Not for use
// outside daemon/config* and their tests.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <expected>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/duration_text.hpp"
#include "base/unique_fd.hpp"
#include "cloud/platform.hpp"
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

// The problems found in one config: errors (the config is refused) and warnings (it loads). A
// hostile file can hold hundreds of thousands of mistakes; only the first kKept are stored and the
// first kShown in file order are reported, with a count of the rest.
class Errors {
public:
    static constexpr size_t kKept = 1000;
    static constexpr size_t kShown = 50;

    explicit Errors(std::string file) : file_(std::move(file)) {}

    void add(Where w, std::string key, std::string message) {
        ++count_;
        if (errors_.size() < kKept) errors_.push_back({file_, w.line, w.column, std::move(key), std::move(message)});
    }
    void warn(Where w, std::string key, std::string message) {
        if (warnings_.size() < kShown)
            warnings_.push_back({file_, w.line, w.column, std::move(key), std::move(message), Severity::warning});
    }
    // A non-empty secret written in the config itself (the first one): the file then needs the
    // secret-file rule too.
    void saw_inline_secret(Where w, std::string key) {
        if (!inline_secret_) inline_secret_ = std::pair(w, std::move(key));
    }
    const std::optional<std::pair<Where, std::string>>& inline_secret() const { return inline_secret_; }

    bool empty() const { return count_ == 0; }
    bool has_key(std::string_view key) const {
        return std::any_of(errors_.begin(), errors_.end(), [&](const ConfigError& e) { return e.key == key; });
    }
    bool has_key_prefix(std::string_view prefix) const {
        return std::any_of(errors_.begin(), errors_.end(),
                           [&](const ConfigError& e) { return e.key.starts_with(prefix); });
    }
    const std::string& file() const { return file_; }

    // Sorted by position so --check-config reads top to bottom (positionless errors first), cut to
    // kShown, then "and K more errors".
    std::vector<ConfigError> take() {
        by_position(errors_);
        if (count_ > kShown) {
            errors_.resize(kShown);
            errors_.push_back({file_, 0, 0, "", "and " + std::to_string(count_ - kShown) + " more errors"});
        }
        count_ = 0;
        return std::move(errors_);
    }
    std::vector<ConfigError> take_warnings() {
        by_position(warnings_);
        return std::move(warnings_);
    }

private:
    static void by_position(std::vector<ConfigError>& v) {
        std::stable_sort(v.begin(), v.end(), [](const ConfigError& a, const ConfigError& b) {
            return std::pair(a.line, a.column) < std::pair(b.line, b.column);
        });
    }

    std::string file_;
    std::vector<ConfigError> errors_;
    std::vector<ConfigError> warnings_;
    size_t count_ = 0;
    std::optional<std::pair<Where, std::string>> inline_secret_;
};

// Values are echoed to help the user, but they may be binary junk or huge. Never the value of a
// key that holds a secret or names a secret file: a secret pasted into the wrong key would land in
// the journal at every start.
std::string quoted(std::string_view s);
std::string join(std::span<const std::string_view> names, std::string_view sep);
const char* describe(const YAML::Node& n);
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
// Whether a message may quote the value: never for a key that names a secret file.
enum class Echo { value, never };
std::optional<std::string> read_path(Errors& e, const Field& f, Echo echo = Echo::value);
// An absolute path to a regular file that can be opened now (its content is not read).
std::optional<std::string> read_readable_path(Errors& e, const Field& f);
// Likewise for a file holding a secret (a TLS private key): never echoed, and held to the
// secret-file rule.
std::optional<std::string> read_secret_path(Errors& e, const Field& f);
// `key` inline or `key`_file read now, exactly one of them (neither: `out` is untouched). The value
// never reaches a message.
void read_secret(Errors& e, const MapWalker& m, std::string_view key, std::string& out);

// `f` with its list cut to the first `max` entries: a longer list is one error, and only what a
// valid config could hold is read.
Field first_entries(Errors& e, const Field& f, size_t max, std::string_view what);

// ---- files the config is, or names (config_files.cpp) ----

// Opens a file without blocking and without side effects: anything but a regular file (a FIFO,
// a socket, a device, a directory) is refused before it is opened, and again after (it may have
// been swapped in between). A symlink is followed: /etc/cellgate/cellgate.yaml may be one. The
// error does not name the file ("cannot open: No such file or directory").
struct FileError {
    int err = 0;  // errno, 0 for a file of the wrong type
    std::string message;
};
std::expected<UniqueFd, FileError> open_regular(const std::string& path, struct stat& st);
// "is a FIFO, not a regular file" and the like, for a file that is not one.
std::string not_regular(mode_t mode);
// The whole content of `fd`, or an error when it holds more than `max` bytes.
std::expected<std::string, std::string> read_all(int fd, size_t max);

// The secret-file rule, as the unit runs the service: owner root, group cellgate, mode 0640, or
// owned by cellgate, mode 0600.
inline constexpr std::string_view kSecretFileRule = "secret files are root:cellgate 0640 (or cellgate's own, 0600)";
// The account the service runs as (the unit's User= and Group=).
struct ServiceUser {
    uid_t uid;
    gid_t gid;
};
// Set when this process is root and the service user exists: then a secret file it cannot read is
// worth a warning (the service's own check would refuse it).
std::optional<ServiceUser> service_user_to_check();
struct SecretFileProblem {
    Severity severity = Severity::error;
    std::string message;  // "" when the file follows the rule
};
// An error when every user may read the file; a warning when `service` cannot read it.
SecretFileProblem secret_file_problem(const struct stat& st, std::optional<ServiceUser> service);

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
// `modem` (read before) decides each entry's default transport, what `transport: module` allows,
// and whether the sessions are on cellular (keepalive advice).
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
