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

#include "base/unique_fd.hpp"
#include "daemon/config_reader.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using namespace config_detail;

// Anything bigger is not a config file (and /dev/zero must not hang --check-config).
constexpr size_t kMaxFileSize = 1 << 20;

constexpr Choice<log::Level> kLogLevels[] = {{"err", log::Level::err},
                                             {"warning", log::Level::warning},
                                             {"notice", log::Level::notice},
                                             {"info", log::Level::info},
                                             {"debug", log::Level::debug}};

Config read_config(Errors& e, const YAML::Node& root) {
    Config c;
    MapWalker top(e, root, "", {},
                  {"modem", "cloud", "backoff", "log_level", "local", "routes", "downlink", "outbox"});
    if (auto f = top.get("modem")) c.modem = read_modem(e, *f);
    if (auto f = top.get("cloud")) c.cloud = read_cloud(e, *f, c.bridge.rate_limits, c.modem);
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
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail("cannot open", errno);

    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) return fail("cannot read", EISDIR);

    std::string text;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
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
