// Luat/AirM2M Air780E (EC618): RNDIS rides on the default bearer, cid 1, which the module dials
// by itself (Luat AT manual, RNDISCALL and CPNETAPN).
#include <string>

#include "modem/at_replies.hpp"
#include "modem/vendor_detail.hpp"

namespace cellgate::modem::detail {
namespace {

class LuatProfile final : public GenericProfile {
public:
    using GenericProfile::GenericProfile;
    Vendor id() const override { return Vendor::luat; }

    // CPNETAPN, not CGDCONT: with AUTOAPN on, the module ignores CGDCONT (Luat AT manual, CPNETAPN).
    // It saves the APN and restarts the protocol stack, so registration drops for a moment. The APN
    // must not be empty; without one the module picks the APN itself, so nothing is sent.
    // The PDP type cannot be chosen here; cid is always the default bearer.
    std::vector<AtStep> apn_commands(const ApnSettings& apn, int) const override {
        const std::string name = clean(apn.name);
        if (name.empty()) return {};
        const bool auth = apn.auth != ApnAuth::none;
        return {{"AT+CPNETAPN=2,\"" + name + "\",\"" + (auth ? clean(apn.user) : "") + "\",\"" +
                     (auth ? clean(apn.password) : "") + "\"," + std::to_string(auth_code(apn.auth)),
                 kStackRestart}};
    }

    // There is no dial command: this only makes sure the netdev binding is on. It is saved and, if it
    // was off, takes effect after a reboot.
    std::vector<AtStep> data_call_start(int) const override { return {{"AT+RNDISCALL=1", kQuick}}; }

    // Not RNDISCALL=0: that would switch RNDIS off for good (until set again and rebooted).
    AtStep data_call_stop(int cid) const override {
        return {"AT+CGACT=0," + std::to_string(cid), kDisconnect};
    }

    AtStep iccid_query() const override { return {"AT+CCID", kQuick}; }
    std::optional<std::string> parse_iccid(const AtResult& reply) const override {
        if (!reply.ok()) return std::nullopt;
        return parse_iccid_line(reply);
    }

    AtStep reset_command() const override { return {"AT+RESET", kCfun}; }
};

}  // namespace

std::unique_ptr<VendorProfile> make_luat_profile(const ModuleTraits& traits) {
    return std::make_unique<LuatProfile>(traits);
}

}  // namespace cellgate::modem::detail
