// The serving cell, from the one query each vendor has for it: what a field engineer needs to
// place an antenna (RAT, band, channel, PCI, cell id, TAC/LAC, RSRP, RSRQ, SINR). Pure parsers;
// ModemController polls serving_cell_query() next to +CESQ at signal_interval.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modem/at_types.hpp"
#include "modem/modem_status.hpp"
#include "modem/vendor.hpp"

namespace cellgate::modem {

// The vendor's serving-cell query; nullopt for the generic profile (+CESQ is all 3GPP has).
std::optional<AtStep> serving_cell_query(Vendor v);
// Its reply. A cell with rat none means "no service" (said so by the module); nullopt means the
// reply could not be read, and what +CESQ said stands.
std::optional<ServingCell> parse_serving_cell(Vendor v, const AtResult& reply);

// "+CESQ:" value: RSRP and RSRQ of an LTE cell (3GPP TS 27.007), nothing else, not even the RAT.
std::optional<ServingCell> cell_from_cesq(std::string_view value);
// `detail`'s known fields over `base`'s (the vendor's report over +CESQ).
ServingCell merged(ServingCell base, const ServingCell& detail);

// The dialects, each from its vendor's AT manual.
// Quectel AT+QENG="servingcell": one "+QENG:" line, or several for EN-DC (LTE anchor and NR leg).
std::optional<ServingCell> parse_qeng_servingcell(const std::vector<std::string>& lines);
// SIMCom AT+CPSI? value.
std::optional<ServingCell> parse_cpsi(std::string_view value);
// Huawei AT^HCSQ? value (also the ^HCSQ indication).
std::optional<ServingCell> parse_hcsq(std::string_view value);
// Luat AT+CCED=0,1 lines ("+CCED:LTE current cell:..." / "+CCED:GSM current cell info:...").
std::optional<ServingCell> parse_cced(const std::vector<std::string>& lines);

}  // namespace cellgate::modem
