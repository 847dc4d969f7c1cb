// Quectel EC2x/EG2x (Qualcomm) and EC200x (ASR), with the data call that fits the model and the
// USB netdev it offers.
#include <string>

#include "modem/at_replies.hpp"
#include "modem/vendor_detail.hpp"

namespace cellgate::modem::detail {
namespace {

int qicsgp_context_type(IpType t) {
    switch (t) {
        case IpType::ipv4: return 1;
        case IpType::ipv6: return 2;
        case IpType::ipv4v6: return 3;
    }
    return 1;
}

class QuectelProfile final : public GenericProfile {
public:
    using GenericProfile::GenericProfile;
    Vendor id() const override { return Vendor::quectel; }

    // QICSGP sets APN, user, password and auth in one command and is sent even without auth, so
    // credentials left by an earlier configuration are overwritten (Quectel EC2x TCP/IP AT manual,
    // QICSGP).
    std::vector<AtStep> apn_commands(const ApnSettings& apn, int cid) const override {
        const bool auth = apn.auth != ApnAuth::none;
        return {{"AT+QICSGP=" + std::to_string(cid) + "," + std::to_string(qicsgp_context_type(apn.ip_type)) +
                     ",\"" + clean(apn.name) + "\",\"" + (auth ? clean(apn.user) : "") + "\",\"" +
                     (auth ? clean(apn.password) : "") + "\"," + std::to_string(auth_code(apn.auth)),
                 kQuick}};
    }

    // The EC200 family (ASR, UNISOC) binds the PDN to its ECM/RNDIS netdev with QNETDEVCTL; plain
    // CGACT can leave that netdev without traffic. The Qualcomm parts (EC2x, EG2x, EM0x, BG9x)
    // have no QNETDEVCTL: in QMI mode $QCRMCALL makes the call on the QMI netdev, and in ECM/RNDIS
    // mode the module's own auto-connect or AT+CGACT does. A model we cannot place tries
    // QNETDEVCTL; the controller falls back to CGACT if the firmware does not know it.
    // QNETDEVCTL's order <op>,<cid>,<urc_en> is the EC200x one; RG200U/RM500U swap it and are not
    // covered. Its OK comes before the link: callers poll data_call_query().
    std::vector<AtStep> data_call_start(int cid) const override {
        switch (dial()) {
            case Dial::qnetdevctl: return {{"AT+QNETDEVCTL=1," + std::to_string(cid) + ",1", kDataCall}};
            case Dial::qcrmcall: return qcrmcall_start(cid);
            case Dial::cgact: break;
        }
        return GenericProfile::data_call_start(cid);
    }

    AtStep data_call_stop(int cid) const override {
        switch (dial()) {
            case Dial::qnetdevctl: return {"AT+QNETDEVCTL=0," + std::to_string(cid) + ",0", kDisconnect};
            case Dial::qcrmcall: return qcrmcall_stop();
            case Dial::cgact: break;
        }
        return GenericProfile::data_call_stop(cid);
    }

    AtStep data_call_query(int cid) const override {
        switch (dial()) {
            case Dial::qnetdevctl: return {"AT+QNETDEVCTL?", kQuick};
            case Dial::qcrmcall: return qcrmcall_query();
            case Dial::cgact: break;
        }
        return GenericProfile::data_call_query(cid);
    }

    std::optional<bool> parse_data_call_up(const AtResult& reply, int cid) const override {
        switch (dial()) {
            case Dial::qnetdevctl: return parse_qnetdevctl(reply, cid);
            case Dial::qcrmcall: return parse_qcrmcall(reply);
            case Dial::cgact: break;
        }
        return parse_cgact(reply, cid);
    }

    AtStep iccid_query() const override { return {"AT+QCCID", kQuick}; }
    std::optional<std::string> parse_iccid(const AtResult& reply) const override {
        if (!reply.ok()) return std::nullopt;
        return parse_iccid_line(reply);
    }

    bool urc_means_data_lost(std::string_view urc) const override {
        urc = trim(urc);
        if (urc.starts_with("+QNETDEVSTATUS:")) {
            const auto f = split_fields(urc.substr(15));
            return !f.empty() && to_int(f[0]) == 0;
        }
        // The network deactivated a context (any cid: the profile does not know which is ours).
        if (urc.starts_with("+QIURC:")) {
            const auto f = split_fields(urc.substr(7));
            return !f.empty() && f[0] == "pdpdeact";
        }
        return false;
    }

private:
    enum class Dial { qnetdevctl, qcrmcall, cgact };

    Dial dial() const {
        const std::string& m = traits_.model;
        if (m.empty()) return Dial::qnetdevctl;
        for (const char* asr : {"EC200", "EC600", "EG912", "EG915", "EG800"})
            if (contains_ci(m, asr)) return Dial::qnetdevctl;
        return traits_.netdev == NetdevKind::qmi ? Dial::qcrmcall : Dial::cgact;
    }

    // "+QNETDEVCTL: <op>,<cid>,<urc_en>,<state>", state 1 = connected.
    static std::optional<bool> parse_qnetdevctl(const AtResult& reply, int cid) {
        if (!reply.ok()) return std::nullopt;
        for (const auto& line : reply.lines) {
            std::string_view l = trim(line);
            if (!l.starts_with("+QNETDEVCTL:")) continue;
            l.remove_prefix(12);
            const auto f = split_fields(l);
            if (f.size() < 4) return std::nullopt;
            const auto line_cid = to_int(f[1]);
            const auto state = to_int(f[3]);
            if (!line_cid || !state) return std::nullopt;
            if (*line_cid == cid && *state == 1) return true;
        }
        return false;
    }
};

}  // namespace

std::unique_ptr<VendorProfile> make_quectel_profile(const ModuleTraits& traits) {
    return std::make_unique<QuectelProfile>(traits);
}

}  // namespace cellgate::modem::detail
