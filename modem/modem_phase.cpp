#include "modem/modem_phase.hpp"

namespace cellgate::modem {

const char* to_string(Phase p) {
    switch (p) {
        case Phase::waiting_port: return "waiting-port";
        case Phase::probing: return "probing";
        case Phase::sim: return "sim";
        case Phase::registering: return "registering";
        case Phase::attaching: return "attaching";
        case Phase::pdp: return "pdp";
        case Phase::dialing: return "dialing";
        case Phase::connected: return "connected";
        case Phase::backoff: return "backoff";
        case Phase::recovering: return "recovering";
        case Phase::resetting: return "resetting";
        case Phase::halted: return "halted";
    }
    return "unknown";
}

ModemState public_state(Phase phase, FailedReason failed, bool packet_registered) {
    if (phase == Phase::resetting && failed != FailedReason::port_missing) return ModemState::resetting;
    switch (failed) {
        case FailedReason::none: break;
        case FailedReason::sim_pin_required:
        case FailedReason::sim_puk_required: return ModemState::locked;
        default: return ModemState::failed;
    }
    switch (phase) {
        case Phase::waiting_port: return ModemState::absent;
        case Phase::probing:
        case Phase::sim: return ModemState::initializing;
        case Phase::registering: return ModemState::searching;
        case Phase::attaching: return ModemState::registered;
        case Phase::pdp:
        case Phase::dialing: return ModemState::connecting;
        case Phase::connected: return ModemState::connected;
        case Phase::backoff:
        case Phase::recovering: return packet_registered ? ModemState::registered : ModemState::searching;
        case Phase::resetting: return ModemState::resetting;
        case Phase::halted: return ModemState::failed;
    }
    return ModemState::failed;
}

}  // namespace cellgate::modem
