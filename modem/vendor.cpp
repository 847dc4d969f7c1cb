// Vendor selection, detection and the helpers the profiles share.
#include "modem/vendor.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "modem/iccid.hpp"
#include "modem/vendor_detail.hpp"

namespace cellgate::modem {

namespace detail {

std::string clean(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s)
        if (c != '"' && c != '\r' && c != '\n') out.push_back(c);
    return out;
}

const char* pdp_type(IpType t) {
    switch (t) {
        case IpType::ipv4: return "IP";
        case IpType::ipv6: return "IPV6";
        case IpType::ipv4v6: return "IPV4V6";
    }
    return "IP";
}

int auth_code(ApnAuth a) {
    switch (a) {
        case ApnAuth::none: return 0;
        case ApnAuth::pap: return 1;
        case ApnAuth::chap: return 2;
    }
    return 0;
}

std::vector<std::string_view> split_raw(std::string_view args) {
    std::vector<std::string_view> out;
    bool quoted = false;
    size_t start = 0;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == '"') quoted = !quoted;
        else if (args[i] == ',' && !quoted) {
            out.push_back(args.substr(start, i - start));
            start = i + 1;
        }
    }
    out.push_back(args.substr(start));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::vector<std::string> split_fields(std::string_view args) {
    std::vector<std::string> out;
    for (auto f : split_raw(args)) {
        f = trim(f);
        if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
        out.emplace_back(f);
    }
    return out;
}

std::optional<int> to_int(std::string_view s) {
    s = trim(s);
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

bool contains_ci(std::string_view haystack, std::string_view needle) {
    auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                          [](char a, char b) {
                              return std::tolower(static_cast<unsigned char>(a)) ==
                                     std::tolower(static_cast<unsigned char>(b));
                          });
    return it != haystack.end();
}

std::optional<std::string> find_value(const AtResult& reply, std::string_view prefix) {
    for (const auto& line : reply.lines) {
        std::string_view l = trim(line);
        if (!l.starts_with(prefix)) continue;
        l.remove_prefix(prefix.size());
        return std::string(trim(l));
    }
    return std::nullopt;
}

std::optional<std::string> decode_swapped_iccid(std::string_view hex) { return iccid_from_ef(hex); }

const std::vector<std::pair<Vendor, UsbId>>& usb_table() {
    // Sources: ModemManager's port-type rules, and the usb-devices listings in the Linux
    // drivers/usb/serial/option.c commits that added each module.
    static const std::vector<std::pair<Vendor, UsbId>> table = {
        {Vendor::quectel, {0x2c7c, 0x0125, 2, "Quectel EC25/EG25", true}},
        {Vendor::quectel, {0x2c7c, 0x0121, 2, "Quectel EC21", true}},
        {Vendor::quectel, {0x2c7c, 0x0191, 2, "Quectel EG91", true}},
        {Vendor::quectel, {0x2c7c, 0x0195, 2, "Quectel EG95", true}},
        {Vendor::quectel, {0x2c7c, 0x0296, 2, "Quectel BG96", true}},
        {Vendor::quectel, {0x2c7c, 0x0306, 2, "Quectel EG06/EP06", true}},
        {Vendor::quectel, {0x2c7c, 0x0800, 2, "Quectel RM500Q", true}},
        {Vendor::quectel, {0x2c7c, 0x0801, 2, "Quectel RM520N", true}},
        // ASR-based EC200x and EG912Y: ECM/RNDIS on 0/1, then DIAG, AT, MODEM (option.c commits for
        // EC200A and EG912Y; EC200S-CN and EC200T show the same five interfaces).
        {Vendor::quectel, {0x2c7c, 0x6002, 3, "Quectel EC200S", false}},
        {Vendor::quectel, {0x2c7c, 0x6005, 3, "Quectel EC200A", false}},
        {Vendor::quectel, {0x2c7c, 0x6026, 3, "Quectel EC200T", false}},
        {Vendor::quectel, {0x2c7c, 0x6001, 3, "Quectel EG912Y", false}},
        // Unisoc-based EC200U: ECM on 0/1, then AT, AP, CP, NMEA, DIAG, MOS (option.c commit).
        {Vendor::quectel, {0x2c7c, 0x0901, 2, "Quectel EC200U", false}},
        {Vendor::simcom, {0x1e0e, 0x9001, 2, "SIMCom SIM7600/SIM7100/SIM7000", false}},
        {Vendor::simcom, {0x1e0e, 0x9011, 4, "SIMCom A7600E-H/A7602E-H", false}},
        // Air780E (EC618): three CDC-ACM functions on interfaces 2, 4 and 6, AT on 6 (the module's
        // enumeration as public Linux tools show it); its firmware also names the interface "AT".
        {Vendor::luat, {0x19d1, 0x0001, 6, "AirM2M Air780E", false}},
        // Air72xU (UIS8910): RNDIS on 0/1, then AT, PPP+AT, debug (option.c commit).
        {Vendor::luat, {0x1782, 0x4e00, 2, "Luat Air72xU", false}},
        {Vendor::huawei, {0x12d1, 0x15c1, kAtInterfaceByClass, "Huawei ME909s", false}},
    };
    return table;
}

}  // namespace detail

const char* to_string(Vendor v) {
    switch (v) {
        case Vendor::generic: return "generic";
        case Vendor::quectel: return "quectel";
        case Vendor::simcom: return "simcom";
        case Vendor::luat: return "luat";
        case Vendor::huawei: return "huawei";
    }
    return "generic";
}

std::optional<Vendor> vendor_from_string(std::string_view s) {
    for (Vendor v : {Vendor::generic, Vendor::quectel, Vendor::simcom, Vendor::luat, Vendor::huawei})
        if (s == to_string(v)) return v;
    return std::nullopt;
}

namespace {

// A vendor profile whose data call is the 3GPP one (AT+CGACT): the firmware in hand refused the
// vendor's dial command as unknown. Everything else stays the vendor's.
class ThreeGppDial final : public VendorProfile {
public:
    explicit ThreeGppDial(std::unique_ptr<VendorProfile> vendor) : vendor_(std::move(vendor)) {}
    Vendor id() const override { return vendor_->id(); }
    std::vector<AtStep> apn_commands(const ApnSettings& apn, int cid) const override { return vendor_->apn_commands(apn, cid); }
    std::vector<AtStep> data_call_start(int cid) const override { return gpp_.data_call_start(cid); }
    AtStep data_call_stop(int cid) const override { return gpp_.data_call_stop(cid); }
    AtStep data_call_query(int cid) const override { return gpp_.data_call_query(cid); }
    std::optional<bool> parse_data_call_up(const AtResult& r, int cid) const override { return gpp_.parse_data_call_up(r, cid); }
    AtStep ip_query(int cid) const override { return vendor_->ip_query(cid); }
    std::optional<std::string> parse_ip(const AtResult& r, int cid) const override { return vendor_->parse_ip(r, cid); }
    AtStep iccid_query() const override { return vendor_->iccid_query(); }
    std::optional<std::string> parse_iccid(const AtResult& r) const override { return vendor_->parse_iccid(r); }
    AtStep reset_command() const override { return vendor_->reset_command(); }
    bool urc_means_data_lost(std::string_view urc) const override { return vendor_->urc_means_data_lost(urc); }
    std::vector<UsbId> usb_ids() const override { return vendor_->usb_ids(); }

private:
    std::unique_ptr<VendorProfile> vendor_;
    detail::GenericProfile gpp_;
};

}  // namespace

std::unique_ptr<VendorProfile> make_vendor_profile(Vendor v, const ModuleTraits& traits) {
    std::unique_ptr<VendorProfile> p;
    switch (v) {
        case Vendor::quectel: p = detail::make_quectel_profile(traits); break;
        case Vendor::simcom: p = detail::make_simcom_profile(traits); break;
        case Vendor::luat: p = detail::make_luat_profile(traits); break;
        case Vendor::huawei: p = detail::make_huawei_profile(traits); break;
        case Vendor::generic: return std::make_unique<detail::GenericProfile>(traits);
    }
    if (traits.vendor_dial_refused) return std::make_unique<ThreeGppDial>(std::move(p));
    return p;
}

bool refused_as_unknown(const AtResult& r) {
    return r.status == AtStatus::error || (r.status == AtStatus::cme_error && r.error_code == 4);
}

std::optional<Vendor> detect_vendor_usb(uint16_t vid, uint16_t pid) {
    for (const auto& [vendor, id] : detail::usb_table())
        if (id.vid == vid && id.pid == pid) return vendor;
    // These vendor IDs belong to one module maker each, so an unlisted product is still theirs.
    // 0x1782 (Unisoc) is shared by many makers and is matched by exact PID only.
    switch (vid) {
        case 0x2c7c: return Vendor::quectel;
        case 0x1e0e: return Vendor::simcom;
        case 0x19d1: return Vendor::luat;
        case 0x12d1: return Vendor::huawei;
        default: return std::nullopt;
    }
}

Vendor detect_vendor_text(std::string_view text) {
    if (detail::contains_ci(text, "quectel")) return Vendor::quectel;
    if (detail::contains_ci(text, "simcom") || detail::contains_ci(text, "simtech")) return Vendor::simcom;
    if (detail::contains_ci(text, "airm2m") || detail::contains_ci(text, "luat")) return Vendor::luat;
    if (detail::contains_ci(text, "huawei")) return Vendor::huawei;
    return Vendor::generic;
}

}  // namespace cellgate::modem
