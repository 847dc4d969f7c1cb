// SIMCom SIM7600/SIM7100/SIM7000 (Qualcomm) and A76xx (ASR).
#include <string>

#include "modem/at_replies.hpp"
#include "modem/vendor_detail.hpp"

namespace cellgate::modem::detail {
namespace {

class SimcomProfile final : public GenericProfile {
public:
    using GenericProfile::GenericProfile;
    Vendor id() const override { return Vendor::simcom; }

    // SIMCom's CGAUTH puts the password before the user (the A76xx AT manual and a SIM76xx header
    // agree), so one order serves every SIMCom model.
    std::vector<AtStep> apn_commands(const ApnSettings& apn, int cid) const override {
        std::vector<AtStep> steps{cgdcont(apn, cid)};
        if (apn.auth != ApnAuth::none) {
            steps.push_back({"AT+CGAUTH=" + std::to_string(cid) + "," + std::to_string(auth_code(apn.auth)) +
                                 ",\"" + clean(apn.password) + "\",\"" + clean(apn.user) + "\"",
                             kQuick});
        }
        return steps;
    }

    // $QCRMCALL binds the PDN to the RNDIS/ECM/QMI netdev on the Qualcomm parts (SIM7600 AT manual).
    // The ASR parts (A76xx, A78xx) have no $QCRMCALL and dial by themselves (DIALMODE=0): there
    // the 3GPP activation is the call, and it answers OK on an active context.
    std::vector<AtStep> data_call_start(int cid) const override {
        return asr() ? GenericProfile::data_call_start(cid) : qcrmcall_start(cid);
    }
    AtStep data_call_stop(int cid) const override { return asr() ? GenericProfile::data_call_stop(cid) : qcrmcall_stop(); }
    AtStep data_call_query(int cid) const override { return asr() ? GenericProfile::data_call_query(cid) : qcrmcall_query(); }
    std::optional<bool> parse_data_call_up(const AtResult& reply, int cid) const override {
        return asr() ? parse_cgact(reply, cid) : parse_qcrmcall(reply);
    }

    AtStep iccid_query() const override { return {"AT+CICCID", kQuick}; }
    std::optional<std::string> parse_iccid(const AtResult& reply) const override {
        if (!reply.ok()) return std::nullopt;
        return parse_iccid_line(reply);
    }

    AtStep reset_command() const override { return {"AT+CRESET", kCreset}; }

private:
    // CGMM says "A7670E-LASE" or "SIMCOM_A7608SA-H" on the ASR parts, "SIMCOM_SIM7600E-H" on the Qualcomm ones.
    bool asr() const { return contains_ci(traits_.model, "A76") || contains_ci(traits_.model, "A78"); }
};

}  // namespace

std::unique_ptr<VendorProfile> make_simcom_profile(const ModuleTraits& traits) {
    return std::make_unique<SimcomProfile>(traits);
}

}  // namespace cellgate::modem::detail
