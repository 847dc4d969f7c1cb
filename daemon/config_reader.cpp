#include "daemon/config_reader.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <expected>

#include "base/duration_text.hpp"
#include "base/unique_fd.hpp"

namespace cellgate::config_detail {

using namespace std::chrono_literals;

namespace {

// A secret file of this size is a mistake (a certificate bundle, a log), not a password.
constexpr size_t kMaxSecretFile = 64 * 1024;
// MQTT allows 65535; no platform credential comes near this.
constexpr size_t kMaxSecret = 4096;

// "-123456789012345678901": an integer, if one too big for any reader.
bool is_integer_text(std::string_view s) {
    if (s.starts_with('-')) s.remove_prefix(1);
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// "99999999999999999999s": the shape of a duration with a number too big for parse_duration().
bool oversized_duration(std::string_view s) {
    if (s.empty() || s.find_first_not_of("0123456789hms") != std::string_view::npos) return false;
    size_t run = 0;
    for (char c : s) {
        run = c >= '0' && c <= '9' ? run + 1 : 0;
        if (run > 9) return true;
    }
    return false;
}

std::string secret_open_error(const FileError& error) {
    // The service's own check runs as cellgate: a refusal is the rule not being followed.
    return error.err == EACCES ? error.message + "; " + std::string(kSecretFileRule) : error.message;
}

// Reports what the secret-file rule says about `st`; false when it is an error.
bool check_secret_file(Errors& e, const Field& f, const struct stat& st) {
    const auto problem = secret_file_problem(st, service_user_to_check());
    if (problem.message.empty()) return true;
    if (problem.severity == Severity::warning) {
        e.warn(f.at(), f.path, problem.message);
        return true;
    }
    e.add(f.at(), f.path, problem.message);
    return false;
}

struct SecretFile {
    std::string value;
    struct stat st {};
};

// The file's name is not in the errors: it may be the secret itself, pasted into the wrong key.
std::expected<SecretFile, std::string> read_secret_file(const std::string& path) {
    SecretFile out;
    const auto fd = open_regular(path, out.st);
    if (!fd) return std::unexpected(secret_open_error(fd.error()));
    auto text = read_all(fd->get(), kMaxSecretFile);
    if (!text) return std::unexpected(text.error());
    out.value = std::move(*text);
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

}  // namespace

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
    if (!v && !is_integer_text(*s)) {
        e.add(f.at(), f.path, "expected an integer, got " + quoted(*s));
        return std::nullopt;
    }
    if (!v || *v < lo || *v > hi) {
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
    if (!d && oversized_duration(*s)) {
        e.add(f.at(), f.path,
              "must be between " + duration_text(lo) + " and " + duration_text(hi) + ", got " + quoted(*s));
        return std::nullopt;
    }
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
              "must be between " + duration_text(lo) + " and " + duration_text(hi) + ", got " + duration_text(*d));
        return std::nullopt;
    }
    return d;
}

void read_ordered_durations(Errors& e, const MapWalker& m, OrderedDuration low, OrderedDuration high) {
    const auto low_field = m.get(low.key);
    bool low_ok = true;
    if (low_field) {
        const auto v = read_duration(e, *low_field, low.lo, low.hi);
        low_ok = v.has_value();
        if (v) low.value = *v;
    }
    if (auto f = m.get(high.key)) {
        if (auto v = read_duration(e, *f, high.lo, high.hi)) {
            if (low_ok && *v < low.value)
                e.add(f->at(), f->path,
                      "must be at least " + std::string(low.key) + " (" + duration_text(low.value) + "), got " +
                          duration_text(*v));
            else
                high.value = *v;
        }
    } else if (low_field && low_ok && low.value > high.value) {
        e.add(low_field->at(), low_field->path,
              "exceeds the default " + std::string(high.key) + " (" + duration_text(high.value) + "); set " +
                  std::string(high.key) + " too");
    }
}


bool has_control_chars(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
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

std::optional<std::string> read_path(Errors& e, const Field& f, Echo echo) {
    auto s = read_scalar(e, f, "an absolute file path");
    if (!s) return std::nullopt;
    if (s->empty() || s->front() != '/' || s->size() > 4095 || has_control_chars(*s)) {
        e.add(f.at(), f.path,
              echo == Echo::value ? "must be an absolute file path, got " + quoted(*s)
                                  : "must be an absolute file path (the value is not shown: it may be the secret itself)");
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
    // Opened to prove it can be, and closed again at once.
    if (const auto fd = open_regular(*path, st); !fd) {
        e.add(f.at(), f.path, *path + ": " + fd.error().message);
        return std::nullopt;
    }
    return path;
}

std::optional<std::string> read_secret_path(Errors& e, const Field& f) {
    auto path = read_path(e, f, Echo::never);
    if (!path) return std::nullopt;
    struct stat st {};
    const auto fd = open_regular(*path, st);
    if (!fd) {
        e.add(f.at(), f.path, secret_open_error(fd.error()));
        return std::nullopt;
    }
    if (!check_secret_file(e, f, st)) return std::nullopt;
    return path;
}

Field first_entries(Errors& e, const Field& f, size_t max, std::string_view what) {
    if (!f.value.IsSequence() || f.value.size() <= max) return f;
    e.add(where_of(f.key), f.path,
          "has " + std::to_string(f.value.size()) + " entries; at most " + std::to_string(max) + " " +
              std::string(what) + " are supported (the first " + std::to_string(max) + " were checked)");
    YAML::Node first(YAML::NodeType::Sequence);
    for (size_t i = 0; i < max; ++i) first.push_back(f.value[i]);
    return {f.path, f.key, first};
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

void read_secret(Errors& e_, const MapWalker& m, std::string_view key, std::string& out) {
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
        if (auto why = secret_problem(*s); !why.empty()) {
            e_.add(inline_f->at(), inline_f->path, why);
            return;
        }
        e_.saw_inline_secret(inline_f->at(), inline_f->path);
        out = *s;
        return;
    }
    auto path = read_path(e_, *file_f, Echo::never);
    if (!path) return;
    auto file = read_secret_file(*path);
    if (!file) {
        e_.add(file_f->at(), file_f->path, file.error());
        return;
    }
    if (!check_secret_file(e_, *file_f, file->st)) return;
    if (auto why = secret_problem(file->value); !why.empty()) {
        e_.add(file_f->at(), file_f->path, "the file " + why);
        return;
    }
    out = std::move(file->value);
}

}  // namespace cellgate::config_detail
