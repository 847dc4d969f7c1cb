#include "daemon/config.hpp"

#include <sys/stat.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/config_reader.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using namespace config_detail;

// The bounds of a config: far above any real gateway's (the shipped example is 11 KiB; 64 sessions
// and 256 routes written out are about 40 KiB) and low enough that the worst file costs
// --check-config, or a reload on the event loop, well under a second and a few tens of MB.
// yaml-cpp's node tree costs about 2 KB per value, so the values are counted before it is built.
constexpr size_t kMaxFileSize = 256 << 10;
constexpr int kMaxValues = 20'000;  // a config with every list full has under 10 000
constexpr int kMaxDepth = 16;       // the deepest key is 5 levels down (downlink[0].filters[0])
constexpr size_t kMaxSessions = 64;
constexpr size_t kMaxRoutes = 256;
constexpr size_t kMaxDownlink = kMaxSessions;  // one entry per session

constexpr Choice<log::Level> kLogLevels[] = {{"err", log::Level::err},
                                             {"warning", log::Level::warning},
                                             {"notice", log::Level::notice},
                                             {"info", log::Level::info},
                                             {"debug", log::Level::debug}};

Config read_config(Errors& e, const YAML::Node& root) {
    Config c;
    MapWalker top(e, root, "", {},
                  {"modem", "cloud", "backoff", "log_level", "local", "routes", "downlink", "outbox"});
    const auto modem = top.get("modem");
    if (modem) c.modem = read_modem(e, *modem);
    const auto uplink = modem ? cloud::Uplink::cellular : cloud::Uplink::other;
    if (auto f = top.get("cloud"))
        c.cloud = read_cloud(e, first_entries(e, *f, kMaxSessions, "cloud sessions"), uplink, c.bridge.rate_limits);
    if (auto f = top.get("backoff")) c.backoff = read_backoff(e, *f);
    // After cloud: routes and downlink entries name its sessions.
    if (auto f = top.get("local")) c.bridge.local = read_local(e, *f);
    if (auto f = top.get("routes")) c.bridge.routes = read_routes(e, first_entries(e, *f, kMaxRoutes, "routes"), c.cloud);
    if (auto f = top.get("downlink"))
        c.bridge.downlink = read_downlink(e, first_entries(e, *f, kMaxDownlink, "downlink entries"), c.cloud);
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

// Counts the documents, values and nesting with yaml-cpp's event parser before building any node
// tree, which costs far more per value than the text does. YAML::LoadAll cannot be used: in
// yaml-cpp 0.7 a token that cannot start a node (a stray ',' after the first document, or alone)
// makes it loop forever, adding an empty document per turn until memory runs out
// (jbeder/yaml-cpp#1040, fixed upstream by #1319). Here such a loop shows as a document starting
// where the previous one started, and becomes a syntax error.
struct DocumentScan {
    int documents = 0;
    Where second_document;
    bool refused = false;  // a syntax error, or past a bound
    Where error_at;
    std::string error;
};

// Thrown out of the event parser at the first value past a bound, before yaml-cpp's own depth
// guard (which reports a deep file as a bad file) and before any node is built.
struct PastBound {
    Where at;
    std::string message;
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
    void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override { scalar(m, anchor); }
    // The readers walk an alias's node at each place it is used: it counts as what it stands for,
    // so a few anchors cannot multiply into millions of values.
    void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
        const auto it = anchored_.find(anchor);
        node(m, it == anchored_.end() ? 1 : it->second);
    }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor, const std::string&) override {
        scalar(m, anchor);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(m, anchor);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(m, anchor);
    }
    void OnMapEnd() override { close(); }

private:
    struct Open {
        YAML::anchor_t anchor;
        long long values_before;
    };

    void node(const YAML::Mark& m, long long count) {
        if (!first_node) first_node = m;
        values_ += count;
        if (values_ > kMaxValues)
            throw PastBound{where_of(m), "more than " + std::to_string(kMaxValues) +
                                             " values (an alias counts as what it stands for); a config "
                                             "with every list full has under 10000"};
    }
    void scalar(const YAML::Mark& m, YAML::anchor_t anchor) {
        node(m, 1);
        if (anchor) anchored_[anchor] = 1;
    }
    void open(const YAML::Mark& m, YAML::anchor_t anchor) {
        open_.push_back({anchor, values_});
        node(m, 1);
        if (std::ssize(open_) > kMaxDepth)
            throw PastBound{where_of(m), "nested more than " + std::to_string(kMaxDepth) + " levels deep"};
    }
    void close() {
        if (open_.empty()) return;
        if (open_.back().anchor) anchored_[open_.back().anchor] = values_ - open_.back().values_before;
        open_.pop_back();
    }

    long long values_ = 0;  // with every alias expanded
    std::vector<Open> open_;
    std::map<YAML::anchor_t, long long> anchored_;  // anchor -> the values its node holds
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
                scan.refused = true;
                scan.error_at = where_of(counter.start);
                scan.error = std::string("YAML syntax error: ") +
                             (c > ' ' && c < 0x7f ? std::string("unexpected '") + c + "'" : "unexpected character");
                return scan;
            }
            if (counter.documents == 2) scan.second_document = where_of(counter.first_node.value_or(counter.start));
            // Past two documents the config is rejected anyway; scanning on only looks for syntax errors.
            if (counter.documents >= 64) break;
        }
        scan.documents = counter.documents;
    } catch (const YAML::Exception& ex) {
        scan.refused = true;
        scan.error_at = where_of(ex.mark);
        scan.error = "YAML syntax error: " + syntax_message(ex.msg);
    } catch (const PastBound& past) {
        scan.refused = true;
        scan.error_at = past.at;
        scan.error = past.message;
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
    if (severity == Severity::warning) out += "warning: ";
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
    // Nine digits of hours is far beyond any sane timer; with at most one number per unit the sum
    // of the largest terms still fits.
    constexpr long long kMaxNumber = 999'999'999;
    static_assert(kMaxNumber * (3'600'000 + 60'000 + 1'000 + 1) <= std::numeric_limits<long long>::max());

    if (text.empty()) return std::nullopt;
    long long total = 0;
    int last_rank = -1;
    const char* const end = text.data() + text.size();
    const char* p = text.data();
    while (p != end) {
        // A duration has no sign (from_chars would take a '-'); a number past long long is
        // reported by from_chars, not overflowed.
        if (*p < '0' || *p > '9') return std::nullopt;
        long long value = 0;
        const auto [next, ec] = std::from_chars(p, end, value);
        if (ec != std::errc{} || value > kMaxNumber || next - p > 9) return std::nullopt;
        p = next;
        const std::string_view rest(p, static_cast<size_t>(end - p));
        const Unit* unit = nullptr;
        for (const auto& u : kUnits) {
            if (rest.starts_with(u.name)) {
                unit = &u;
                break;
            }
        }
        if (!unit) return std::nullopt;
        p += unit->name.size();
        // Units strictly largest to smallest, each once: "1m30s" yes, "30s1m" and "1m1m" no.
        if (unit->rank <= last_rank) return std::nullopt;
        last_rank = unit->rank;
        total += value * unit->ms;
    }
    return milliseconds{total};
}

std::string config_notice(const Config& config) {
    if (config.modem || !config.cloud.empty()) return "";
    return "no modem and no cloud sessions: cellgated will only serve its D-Bus API";
}

namespace {

// The secret-file rule holds for the config too once it holds a secret; only a warning, as
// configs with inline secrets were always accepted whatever their mode.
void check_inline_secret(Errors& errors, const struct stat& st) {
    const auto& secret = errors.inline_secret();
    if (!secret || !(st.st_mode & S_IROTH)) return;
    errors.warn(secret->first, secret->second,
                "is a secret in a file every user can read; " + std::string(kSecretFileRule) +
                    ", and so is a config that holds one");
}

ConfigResult load(const std::string& yaml, const std::string& source_name, const struct stat* file) {
    Errors errors(source_name);
    Config config;
    try {
        const DocumentScan scan = scan_documents(yaml);
        if (scan.refused) {
            errors.add(scan.error_at, "", scan.error);
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
    if (file) check_inline_secret(errors, *file);

    ConfigResult result;
    if (errors.empty()) {
        config.source = source_name;
        result.config = std::move(config);
    }
    result.errors = errors.take();
    result.warnings = errors.take_warnings();
    return result;
}

}  // namespace

ConfigResult load_config_string(const std::string& yaml, const std::string& source_name) {
    return load(yaml, source_name, nullptr);
}

ConfigResult load_config_file(const std::string& path) {
    const auto fail = [&](std::string message) {
        ConfigResult r;
        r.errors.push_back({path, 0, 0, "", std::move(message)});
        return r;
    };
    // Never blocks: a FIFO in its place must not hang --check-config, a start or a reload.
    struct stat st {};
    const auto fd = open_regular(path, st);
    if (!fd) return fail(fd.error().message);
    // read_all() says the same of a file that grows while it is read.
    if (static_cast<unsigned long long>(st.st_size) > kMaxFileSize)
        return fail("is larger than " + std::to_string(kMaxFileSize >> 10) + " KiB");
    auto text = read_all(fd->get(), kMaxFileSize);
    if (!text) return fail(text.error());
    return load(*text, path, &st);
}

}  // namespace cellgate
