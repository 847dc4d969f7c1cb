// The ICCID (ITU-T E.118) as modules print it: plain, quoted, with a trailing 'F' filler, with hex
// digits in the account part (China Mobile issues such cards), or as the SIM stores it in EF_ICCID,
// each byte's two digits swapped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cellgate::modem {

// An ICCID as a module's ICCID command prints it (+QCCID, +ICCID, +CCID, ^ICCID, a bare line):
// "89..." as it is, "98..." (20 characters) decoded from the swapped form. nullopt for anything
// that is no ICCID: wrong length, wrong characters, or not starting with 89 once decoded.
std::optional<std::string> parse_iccid(std::string_view text);

// EF_ICCID's content (AT+CRSM): always stored swapped, so always decoded.
std::optional<std::string> iccid_from_ef(std::string_view hex);

}  // namespace cellgate::modem
