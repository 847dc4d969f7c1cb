#include "modem/registration.hpp"

#include <array>
#include <cstddef>

#include "modem/at_replies.hpp"

namespace cellgate::modem {
namespace {

struct DomainPrefix {
    std::string_view prefix;
    RegDomain domain;
};
// In RegDomain order.
constexpr std::array kDomainPrefixes = {
    DomainPrefix{"+CREG:", RegDomain::cs},
    DomainPrefix{"+CGREG:", RegDomain::gprs},
    DomainPrefix{"+CEREG:", RegDomain::eps},
    DomainPrefix{"+C5GREG:", RegDomain::fivegs},
};
// Packet domains, newest radio first: a 5G-core registration outranks the LTE one it came from.
constexpr std::array kPacketDomains = {RegDomain::fivegs, RegDomain::eps, RegDomain::gprs};

}  // namespace

bool is_registered_stat(int stat) {
    return stat == 1 || stat == 5 || stat == 6 || stat == 7 || stat == 9 || stat == 10;
}

int RegistrationTracker::stat(RegDomain d) const { return at(d).stat; }

void RegistrationTracker::take_reply(RegDomain d, const AtResult& reply) {
    if (!reply.ok()) return;
    const auto info = parse_creg(reply.value(kDomainPrefixes[static_cast<std::size_t>(d)].prefix));
    if (!info) return;
    at(d).stat = info->stat;
    if (info->act) at(d).act = info->act;
}

std::optional<RegistrationTracker::UrcNews> RegistrationTracker::take_urc(std::string_view line) {
    for (const auto& p : kDomainPrefixes) {
        if (!line.starts_with(p.prefix)) continue;
        const auto info = parse_creg(line.substr(p.prefix.size()));
        if (!info) return std::nullopt;
        Domain& dom = at(p.domain);
        dom.stat = info->stat;
        UrcNews news;
        if (info->act) {
            dom.act = info->act;
            if (is_registered_stat(info->stat) && p.domain != RegDomain::cs)
                news.access_tech = access_tech_from_act(*info->act);
        }
        return news;
    }
    return std::nullopt;
}

void RegistrationTracker::reset() { domains_.fill(Domain{}); }

Registration RegistrationTracker::effective() const {
    const int cs = at(RegDomain::cs).stat;
    const int nr = at(RegDomain::fivegs).stat, gprs = at(RegDomain::gprs).stat, eps = at(RegDomain::eps).stat;
    // An LTE data-only SIM may show CREG searching while CEREG is home: CREG only speaks when the
    // packet domains have nothing better to say.
    for (int s : {nr, eps, gprs})
        if (is_registered_stat(s)) return registration_from_stat(s);
    for (int s : {nr, eps, gprs, cs})
        if (s == 3) return Registration::denied;
    for (int s : {nr, eps, gprs, cs})
        if (s == 2) return Registration::searching;
    if (is_registered_stat(cs)) return registration_from_stat(cs);
    for (int s : {nr, eps, gprs, cs})
        if (s == 0) return Registration::idle;
    return Registration::unknown;
}

bool RegistrationTracker::packet_registered() const {
    for (const RegDomain d : kPacketDomains)
        if (is_registered_stat(at(d).stat)) return true;
    return false;
}

std::optional<AccessTech> RegistrationTracker::packet_access_tech() const {
    for (const RegDomain d : kPacketDomains)
        if (at(d).act && is_registered_stat(at(d).stat)) return access_tech_from_act(*at(d).act);
    return std::nullopt;
}

}  // namespace cellgate::modem
