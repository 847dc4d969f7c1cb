// The bring-up controller's internal phases, and the public ModemState a user sees for them:
// derived, never stored twice, so the two cannot disagree.
#pragma once

#include "modem/modem_status.hpp"

namespace cellgate::modem {

enum class Phase {
    waiting_port,  // port not open (never seen, or vanished)
    probing,       // AT, echo off, error mode, identity
    sim,           // CPIN, PIN entry, IMSI/ICCID
    registering,   // waiting for CREG/CGREG/CEREG home or roaming
    attaching,     // CGATT
    pdp,           // APN / context
    dialing,       // vendor data call, IP address
    connected,
    backoff,       // waiting before the next recovery step
    recovering,    // running a recovery step (reattach, radio cycle)
    resetting,     // module reset sent, waiting for the port to return
    halted,        // a condition retrying cannot fix (no SIM, PIN, denied): re-checked slowly
};
const char* to_string(Phase p);

// A sticky failure outranks the phase (a locked SIM stays "locked" while the controller re-checks
// it), except that a reset in progress is what a user needs to see. `packet_registered` only
// matters between recovery steps, where no phase says how far the module got.
ModemState public_state(Phase phase, FailedReason failed, bool packet_registered);

}  // namespace cellgate::modem
