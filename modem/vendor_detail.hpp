// Internals shared by the vendor_*.cpp profiles and the port locator. Not part of the public API.
// The simulator (tests/sim) answers the same commands per vendor: change both together.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modem/vendor.hpp"

namespace cellgate::modem::detail {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Timeouts: ModemManager's, or the vendor manual's where it documents a longer one.
inline constexpr milliseconds kQuick = 3s;            // queries, CGDCONT, CGAUTH, QICSGP
inline constexpr milliseconds kCgactUp = 150s;        // Quectel EC2x AT manual, CGACT
inline constexpr milliseconds kDisconnect = 120s;     // ModemManager disconnection timeout
inline constexpr milliseconds kDataCall = 180s;       // ModemManager connection timeout
inline constexpr milliseconds kCfun = 15s;            // ModemManager Quectel CFUN
inline constexpr milliseconds kCreset = 9s;           // ModemManager SIMCom CRESET
inline constexpr milliseconds kCrsm = 20s;            // ModemManager ICCID via CRSM
inline constexpr milliseconds kStackRestart = 15s;    // Luat CPNETAPN restarts the protocol stack

// UsbId::at_interface value that is no interface number: pick by class/subclass/protocol (Huawei).
inline constexpr int kAtInterfaceByClass = -2;

// An AT string argument cannot escape '"' or line ends; drop them so a value can never end the
// argument early or smuggle a second command.
std::string clean(std::string_view s);
const char* pdp_type(IpType t);  // "IP", "IPV6", "IPV4V6"
int auth_code(ApnAuth a);        // 0 none, 1 PAP, 2 CHAP

// Splits an argument list at commas outside double quotes; fields keep their quotes and spaces.
std::vector<std::string_view> split_raw(std::string_view args);
// Same, with surrounding spaces and quotes removed.
std::vector<std::string> split_fields(std::string_view args);
std::optional<int> to_int(std::string_view s);
bool contains_ci(std::string_view haystack, std::string_view needle);
std::string_view trim(std::string_view s);
// Value after `prefix` on the first matching line (like AtResult::value, but nullopt when absent).
std::optional<std::string> find_value(const AtResult& reply, std::string_view prefix);
// EF_ICCID as stored on the SIM (BCD, nibbles swapped per byte, 'F' filler) -> ICCID digits.
std::optional<std::string> decode_swapped_iccid(std::string_view hex);

// Shared table of every known module.
const std::vector<std::pair<Vendor, UsbId>>& usb_table();

// The 3GPP profile; vendors override what differs.
class GenericProfile : public VendorProfile {
public:
    explicit GenericProfile(ModuleTraits traits = {}) : traits_(std::move(traits)) {}
    Vendor id() const override { return Vendor::generic; }
    std::vector<AtStep> apn_commands(const ApnSettings& apn, int cid) const override;
    std::vector<AtStep> data_call_start(int cid) const override;
    AtStep data_call_stop(int cid) const override;
    AtStep data_call_query(int cid) const override;
    std::optional<bool> parse_data_call_up(const AtResult& reply, int cid) const override;
    AtStep ip_query(int cid) const override;
    std::optional<std::string> parse_ip(const AtResult& reply, int cid) const override;
    AtStep iccid_query() const override;
    std::optional<std::string> parse_iccid(const AtResult& reply) const override;
    AtStep reset_command() const override;
    bool urc_means_data_lost(std::string_view urc) const override;
    std::vector<UsbId> usb_ids() const override;

protected:
    // Building blocks the vendor profiles reuse.
    static AtStep cgdcont(const ApnSettings& apn, int cid);
    static std::optional<bool> parse_cgact(const AtResult& reply, int cid);
    // $QCRMCALL, the Qualcomm call that binds the PDN to the USB netdev (RNDIS, ECM or QMI).
    static std::vector<AtStep> qcrmcall_start(int cid);
    static AtStep qcrmcall_stop();
    static AtStep qcrmcall_query();
    static std::optional<bool> parse_qcrmcall(const AtResult& reply);
    std::vector<UsbId> usb_ids_of(Vendor v) const;

    ModuleTraits traits_;
};

std::unique_ptr<VendorProfile> make_quectel_profile(const ModuleTraits& traits);
std::unique_ptr<VendorProfile> make_simcom_profile(const ModuleTraits& traits);
std::unique_ptr<VendorProfile> make_luat_profile(const ModuleTraits& traits);
std::unique_ptr<VendorProfile> make_huawei_profile(const ModuleTraits& traits);

}  // namespace cellgate::modem::detail
