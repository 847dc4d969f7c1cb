// SIMCom SIM7600/SIM7100/SIM7000 (Qualcomm) and A76xx (ASR).
#include <string>

#include "modem/at_replies.hpp"
#include "modem/vendor_detail.hpp"

namespace cellgate::modem::detail {
namespace {

class SimcomProfile final : public GenericProfile {
public:
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
    // Short form for cid 1, as in the vendor's examples; otherwise name the profile explicitly
    // (<action>,<instance>,<IP_type 1=v4>,<tech_pref 2=3GPP>,<profile_num>).
    // A76xx have no $QCRMCALL and auto-dial instead (DIALMODE=0): there this answers ERROR.
    std::vector<AtStep> data_call_start(int cid) const override {
        if (cid == 1) return {{"AT$QCRMCALL=1,1", kDataCall}};
        return {{"AT$QCRMCALL=1,1,1,2," + std::to_string(cid), kDataCall}};
    }

    AtStep data_call_stop(int) const override { return {"AT$QCRMCALL=0,1", kDisconnect}; }

    AtStep data_call_query(int) const override { return {"AT$QCRMCALL?", kQuick}; }

    // "$QCRMCALL: 1,V4" per IP family while the call is up; no line when it is down.
    std::optional<bool> parse_data_call_up(const AtResult& reply, int) const override {
        if (!reply.ok()) return std::nullopt;
        for (const auto& line : reply.lines) {
            std::string_view l = trim(line);
            if (!l.starts_with("$QCRMCALL:")) continue;
            const auto f = split_fields(l.substr(10));
            if (!f.empty() && to_int(f[0]) == 1) return true;
        }
        return false;
    }

    AtStep iccid_query() const override { return {"AT+CICCID", kQuick}; }
    std::optional<std::string> parse_iccid(const AtResult& reply) const override {
        if (!reply.ok()) return std::nullopt;
        return parse_iccid_line(reply);
    }

    AtStep reset_command() const override { return {"AT+CRESET", kCreset}; }
};

}  // namespace

std::unique_ptr<VendorProfile> make_simcom_profile() { return std::make_unique<SimcomProfile>(); }

}  // namespace cellgate::modem::detail
