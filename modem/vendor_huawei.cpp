// Huawei ME909s and other NDIS/NCM modules: ^NDISDUP dials on the NCM/ECM netdev
// (ModemManager's Huawei bearer does the same).
#include <string>

#include "modem/at_replies.hpp"
#include "modem/huawei_replies.hpp"
#include "modem/vendor_detail.hpp"

namespace cellgate::modem::detail {
namespace {

class HuaweiProfile final : public GenericProfile {
public:
    using GenericProfile::GenericProfile;
    Vendor id() const override { return Vendor::huawei; }

    // CGDCONT only fixes the PDP type; APN and credentials travel in ^NDISDUP, as ModemManager
    // does it, because ME909s documents no CGAUTH. data_call_start() has no APN
    // parameter, so the settings are remembered here.
    std::vector<AtStep> apn_commands(const ApnSettings& apn, int cid) const override {
        apn_ = apn;
        return {cgdcont(apn, cid)};
    }

    // The OK arrives before the link: callers poll ^NDISSTATQRY? (ModemManager: 1 s, 180 s).
    std::vector<AtStep> data_call_start(int cid) const override {
        std::string cmd = "AT^NDISDUP=" + std::to_string(cid) + ",1";
        const bool auth = apn_ && apn_->auth != ApnAuth::none;
        if (apn_ && (!apn_->name.empty() || auth)) cmd += ",\"" + clean(apn_->name) + "\"";
        if (auth) {
            cmd += ",\"" + clean(apn_->user) + "\",\"" + clean(apn_->password) + "\"," +
                   std::to_string(auth_code(apn_->auth));
        }
        return {{std::move(cmd), kDataCall}};
    }

    // ERROR here means "already down" on Huawei; callers ignore it.
    AtStep data_call_stop(int cid) const override {
        return {"AT^NDISDUP=" + std::to_string(cid) + ",0", kDisconnect};
    }

    AtStep data_call_query(int) const override { return {"AT^NDISSTATQRY?", kQuick}; }

    // ^NDISSTATQRY in any of its shapes (one line or one per family; some firmware answers with
    // the URC's name, ^NDISSTAT): up when any family is up.
    std::optional<bool> parse_data_call_up(const AtResult& reply, int) const override {
        if (!reply.ok()) return std::nullopt;
        const auto st = parse_ndisstat(reply.lines);
        if (!st) return std::nullopt;
        return st->ipv4.value_or(false) || st->ipv6.value_or(false);
    }

    std::optional<std::string> parse_ip(const AtResult& reply, int cid) const override {
        if (!reply.ok()) return std::nullopt;
        if (auto v = find_value(reply, "^DHCP:")) {
            if (auto d = parse_huawei_dhcp(*v)) return d->address;
            return std::nullopt;
        }
        return parse_cgpaddr(reply.lines, cid);
    }

    // ^ICCID may give the SIM's raw, nibble-swapped form ("98..."); a real ICCID starts with 89.
    AtStep iccid_query() const override { return {"AT^ICCID?", kQuick}; }
    std::optional<std::string> parse_iccid(const AtResult& reply) const override {
        if (!reply.ok()) return std::nullopt;
        if (auto v = find_value(reply, "^ICCID:")) {
            const auto f = split_fields(*v);
            if (!f.empty() && f[0].starts_with("98")) return decode_swapped_iccid(f[0]);
        }
        return parse_iccid_line(reply);
    }

    AtStep reset_command() const override { return {"AT^RESET", kCfun}; }

    // "^NDISSTAT: <stat>,<err>,<wx_state>,<type>": an IPv6-only drop leaves IPv4 running.
    bool urc_means_data_lost(std::string_view urc) const override {
        const auto st = parse_ndisstat({std::string(urc)});
        return st && st->ipv4 == false;
    }

private:
    mutable std::optional<ApnSettings> apn_;
};

}  // namespace

std::unique_ptr<VendorProfile> make_huawei_profile(const ModuleTraits& traits) {
    return std::make_unique<HuaweiProfile>(traits);
}

}  // namespace cellgate::modem::detail
