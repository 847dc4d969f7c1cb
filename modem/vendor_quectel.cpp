// Quectel EC2x/EG2x (Qualcomm) and EC200x (ASR) with the data call on the USB netdev (ECM/RNDIS).
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

    // QNETDEVCTL binds the PDN to the USB netdev; QIACT would only feed the module's internal
    // TCP/IP stack, and plain CGACT can leave the netdev without traffic. Order <op>,<cid>,<urc_en> is the EC200x/EC2x one; RG200U/RM500U swap it and are
    // not covered. The OK comes before the link: callers poll data_call_query().
    std::vector<AtStep> data_call_start(int cid) const override {
        return {{"AT+QNETDEVCTL=1," + std::to_string(cid) + ",1", kDataCall}};
    }

    AtStep data_call_stop(int cid) const override {
        return {"AT+QNETDEVCTL=0," + std::to_string(cid) + ",0", kDisconnect};
    }

    AtStep data_call_query(int) const override { return {"AT+QNETDEVCTL?", kQuick}; }

    // "+QNETDEVCTL: <op>,<cid>,<urc_en>,<state>", state 1 = connected.
    std::optional<bool> parse_data_call_up(const AtResult& reply, int cid) const override {
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
};

}  // namespace

std::unique_ptr<VendorProfile> make_quectel_profile() { return std::make_unique<QuectelProfile>(); }

}  // namespace cellgate::modem::detail
