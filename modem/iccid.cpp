#include "modem/iccid.hpp"

#include <cstddef>

namespace cellgate::modem {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_letter(char c) { return c >= 'A' && c <= 'F'; }

std::string normalized(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c == ' ' || c == '\t' || c == '"') continue;
        out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    }
    return out;
}

std::string swapped(std::string_view s) {
    std::string out(s);
    for (std::size_t i = 0; i + 1 < out.size(); i += 2) std::swap(out[i], out[i + 1]);
    return out;
}

// The major industry identifier 89 (telecommunications) starts every ICCID; 19 or 20 characters,
// the last of a 19-digit one padded with 'F' where the field is 20 wide. The first six are always
// decimal (89, country code, issuer); the account part may hold A-F on cards that use the spare
// BCD codes (ModemManager accepts them from the same position on).
std::optional<std::string> validated(std::string id) {
    if (id.size() == 20 && id.back() == 'F') id.pop_back();
    if (id.size() < 19 || id.size() > 20 || !id.starts_with("89")) return std::nullopt;
    for (std::size_t i = 0; i < id.size(); ++i)
        if (!is_digit(id[i]) && (i < 6 || !is_hex_letter(id[i]))) return std::nullopt;
    return id;
}

}  // namespace

std::optional<std::string> parse_iccid(std::string_view text) {
    const std::string id = normalized(text);
    // Only the full 20-character field can be the swapped form: a 19-digit ICCID gains its 'F'
    // filler before the swap.
    if (id.size() == 20 && id.starts_with("98")) return validated(swapped(id));
    return validated(id);
}

std::optional<std::string> iccid_from_ef(std::string_view hex) {
    const std::string raw = normalized(hex);
    if (raw.size() != 20) return std::nullopt;
    return validated(swapped(raw));
}

}  // namespace cellgate::modem
