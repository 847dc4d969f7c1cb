// What of the AT dialogue may reach a log: commands and lines with PINs, passwords and other
// secrets masked, by a table of the commands that carry them.
#pragma once

#include <string>
#include <string_view>

namespace cellgate::modem {

// The command with its secret arguments replaced by "***" ("AT+CPIN=\"***\"",
// "AT+QICSGP=1,1,\"cmnet\",\"***\",\"***\",2"); other commands unchanged.
std::string redacted(std::string_view at_command);

// A line the module sent: an echoed command is redacted as a command, a read reply that carries a
// secret ("+QICSGP: 1,\"cmnet\",\"bob\",\"pw\",2", Luat's "PWD:pw") has it masked.
std::string redacted_line(std::string_view line);

}  // namespace cellgate::modem
