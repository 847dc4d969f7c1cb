// What the module last said about network registration, per domain: CREG (circuit-switched),
// CGREG (packet, 2G/3G), CEREG (packet, LTE) and C5GREG (packet, 5G core). Pure bookkeeping: fed
// with read replies and URCs, it answers which registration the data link actually has.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

#include "modem/at_types.hpp"
#include "modem/modem_status.hpp"

namespace cellgate::modem {

enum class RegDomain { cs, gprs, eps, fivegs };  // +CREG, +CGREG, +CEREG, +C5GREG

// 3GPP <stat> values that mean registered (home or roaming, including the SMS-only and
// CSFB-not-preferred variants).
bool is_registered_stat(int stat);

class RegistrationTracker {
public:
    // A "+CREG: 2,1,..." style read reply to AT+CxREG? for `domain`; a failed or unreadable reply
    // leaves what we knew.
    void take_reply(RegDomain domain, const AtResult& reply);

    // A registration line that came unsolicited ("+CEREG: 1,\"1A2B\",\"01ABCDEF\",7", or a late
    // read reply "+C5GREG: 2,1,..."). nullopt when the line is no registration line we can read;
    // otherwise the access technology to publish, set only when a packet domain reports registered
    // together with its AcT.
    struct UrcNews {
        std::optional<AccessTech> access_tech;
    };
    std::optional<UrcNews> take_urc(std::string_view line);

    // Back to "nothing known" (a new bring-up, or the port went away).
    void reset();

    int stat(RegDomain domain) const;
    // Data needs the packet domain: C5GREG, CEREG or CGREG decide; CREG only when none says more.
    Registration effective() const;
    bool is_registered() const {
        const Registration r = effective();
        return r == Registration::home || r == Registration::roaming;
    }
    // Whether a packet domain reports registered (CREG alone never makes a data link).
    bool packet_registered() const;
    // Whether a packet domain has reported an access technology at all.
    bool knows_packet_act() const {
        return at(RegDomain::fivegs).act || at(RegDomain::eps).act || at(RegDomain::gprs).act;
    }
    // The access technology of the registered packet domain (5G core, then LTE), if it reported one.
    std::optional<AccessTech> packet_access_tech() const;

private:
    struct Domain {
        int stat = -1;  // -1: not reported since the last reset
        std::optional<int> act;
    };
    Domain& at(RegDomain d) { return domains_[static_cast<std::size_t>(d)]; }
    const Domain& at(RegDomain d) const { return domains_[static_cast<std::size_t>(d)]; }

    std::array<Domain, 4> domains_{};
};

}  // namespace cellgate::modem
