// Dispatch per vendor, +CESQ, and the merge; the vendor dialects are in serving_cell_dialects.cpp.
#include "modem/serving_cell.hpp"

#include <chrono>

#include "modem/at_replies.hpp"

namespace cellgate::modem {

using namespace std::chrono_literals;

std::optional<AtStep> serving_cell_query(Vendor v) {
    switch (v) {
        case Vendor::quectel: return AtStep{"AT+QENG=\"servingcell\"", 3s};
        case Vendor::simcom: return AtStep{"AT+CPSI?", 3s};
        case Vendor::huawei: return AtStep{"AT^HCSQ?", 3s};
        case Vendor::luat: return AtStep{"AT+CCED=0,1", 3s};
        case Vendor::generic: break;
    }
    return std::nullopt;
}

std::optional<ServingCell> parse_serving_cell(Vendor v, const AtResult& reply) {
    if (!reply.ok()) return std::nullopt;
    switch (v) {
        case Vendor::quectel: return parse_qeng_servingcell(reply.lines);
        case Vendor::simcom: return parse_cpsi(reply.value("+CPSI:"));
        case Vendor::huawei: return parse_hcsq(reply.value("^HCSQ:"));
        case Vendor::luat: return parse_cced(reply.lines);
        case Vendor::generic: break;
    }
    return std::nullopt;
}

std::optional<ServingCell> cell_from_cesq(std::string_view value) {
    const auto e = parse_cesq(value);
    if (!e) return std::nullopt;
    // RSRP and RSRQ are E-UTRA measurements (255 on any other RAT), but +CESQ names no RAT: the
    // registration's access technology stands.
    ServingCell c;
    c.rsrp_dbm = e->rsrp_dbm;
    if (e->rsrq_db) c.rsrq_db = static_cast<int>(*e->rsrq_db < 0 ? *e->rsrq_db - 0.5 : *e->rsrq_db + 0.5);
    return c;
}

ServingCell merged(ServingCell base, const ServingCell& d) {
    if (d.rat != AccessTech::none) base.rat = d.rat;
    if (!d.band.empty()) base.band = d.band;
    if (d.arfcn) base.arfcn = d.arfcn;
    if (d.pci) base.pci = d.pci;
    if (!d.cell_id.empty()) base.cell_id = d.cell_id;
    if (!d.tac.empty()) base.tac = d.tac;
    if (d.rsrp_dbm) base.rsrp_dbm = d.rsrp_dbm;
    if (d.rsrq_db) base.rsrq_db = d.rsrq_db;
    if (d.sinr_db) base.sinr_db = d.sinr_db;
    return base;
}

}  // namespace cellgate::modem
