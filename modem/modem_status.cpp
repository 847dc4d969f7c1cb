#include "modem/modem_status.hpp"

namespace cellgate::modem {

const char* to_string(ModemState s) {
    switch (s) {
        case ModemState::disabled: return "disabled";
        case ModemState::absent: return "absent";
        case ModemState::initializing: return "initializing";
        case ModemState::locked: return "locked";
        case ModemState::searching: return "searching";
        case ModemState::registered: return "registered";
        case ModemState::connecting: return "connecting";
        case ModemState::connected: return "connected";
        case ModemState::resetting: return "resetting";
        case ModemState::failed: return "failed";
    }
    return "unknown";
}

const char* to_string(FailedReason r) {
    switch (r) {
        case FailedReason::none: return "";
        case FailedReason::sim_missing: return "sim-missing";
        case FailedReason::sim_pin_required: return "sim-pin-required";
        case FailedReason::sim_puk_required: return "sim-puk-required";
        case FailedReason::registration_denied: return "registration-denied";
        case FailedReason::pdp_rejected: return "pdp-rejected";
        case FailedReason::no_response: return "no-response";
        case FailedReason::port_missing: return "port-missing";
        case FailedReason::no_netdev: return "no-network-interface";
    }
    return "";
}

const char* to_string(Registration r) {
    switch (r) {
        case Registration::idle: return "idle";
        case Registration::home: return "home";
        case Registration::searching: return "searching";
        case Registration::denied: return "denied";
        case Registration::unknown: return "unknown";
        case Registration::roaming: return "roaming";
    }
    return "unknown";
}

const char* to_string(AccessTech t) {
    switch (t) {
        case AccessTech::none: return "";
        case AccessTech::gsm: return "gsm";
        case AccessTech::umts: return "umts";
        case AccessTech::lte: return "lte";
        case AccessTech::nr5g: return "nr5g";
    }
    return "";
}

}  // namespace cellgate::modem
