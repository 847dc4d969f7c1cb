// Helpers shared by the three command sets (dialect_*.cpp); not part of the client's view.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/module/dialect.hpp"

namespace cellgate::mqtt::detail {

using namespace std::chrono_literals;

// `"text"` for a quoted AT argument, or why it cannot be: none of the sets escapes a quote or a
// control byte inside one. `what` names the value in the error ("topic", "password").
std::expected<std::string, std::string> quoted(std::string_view text, std::string_view what);
// The CONNECT identity as quoted arguments; `login` is `,"user","pass"`, or empty when both are
// (the sets take the pair as optional trailing arguments).
struct QuotedIdentity {
    std::string client_id;
    std::string login;
};
std::expected<QuotedIdentity, std::string> quoted_identity(const ConnectParams& p);

// The fields after a URC's prefix: split at commas outside quotes, quotes removed, spaces trimmed.
std::vector<std::string> fields(std::string_view rest);
std::optional<int> to_int(std::string_view s);
// The rest of `line` after `prefix` (spaces skipped), or nullopt when it does not start with it.
std::optional<std::string_view> after(std::string_view line, std::string_view prefix);
// Field i as a number, or `fallback`.
int int_field(const std::vector<std::string>& f, std::size_t i, int fallback = -1);

// The limit checks every set makes at publish, worded alike.
// The check the SSL context makes, on the scale all three sets use: 0 none, 1 the server's
// certificate, 2 both sides.
int tls_level(const ModuleTls& t);
// `<cfg>"cacert",<ctx>,"<file>"`, then the client certificate and key, for the files uploaded.
void add_tls_files(ModuleSteps& steps, const std::string& cfg, const std::string& ctx, int idx, const ModuleTls& t);
// The size check every set makes before an upload.
std::optional<std::string> check_upload(const ModuleLimits& l, std::string_view name, std::size_t size);
std::optional<std::string> check_publish(const ModuleLimits& l, std::string_view topic, std::size_t payload_size);

std::unique_ptr<Dialect> make_luat();
std::unique_ptr<Dialect> make_quectel();
std::unique_ptr<Dialect> make_simcom();

ModuleLimits luat_limits();
ModuleLimits quectel_limits();
ModuleLimits simcom_limits();

}  // namespace cellgate::mqtt::detail
