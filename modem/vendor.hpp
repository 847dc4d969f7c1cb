// Per-vendor AT dialects. The bring-up state machine asks the profile for command strings and hands
// it the replies to interpret; everything here is pure (no I/O), so it is table-tested.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modem/at_redact.hpp"
#include "modem/at_types.hpp"

namespace cellgate::modem {

enum class Vendor { generic, quectel, simcom, luat, huawei };
const char* to_string(Vendor v);
std::optional<Vendor> vendor_from_string(std::string_view s);  // "generic", "quectel", ...

enum class ApnAuth { none, pap, chap };
enum class IpType { ipv4, ipv6, ipv4v6 };

struct ApnSettings {
    std::string name;
    std::string user;
    std::string password;
    ApnAuth auth = ApnAuth::none;
    IpType ip_type = IpType::ipv4;
};

// The network interface the module's USB mode offers: it decides which data call binds the PDN
// to it. `none` is a module on a UART or pty.
enum class NetdevKind { unknown, none, ecm, qmi, mbim };

// What a profile needs to know about the module in hand to choose its data call.
struct ModuleTraits {
    std::string model;  // AT+CGMM
    NetdevKind netdev = NetdevKind::unknown;
    // This firmware refused the vendor's dial command as unknown: dial with AT+CGACT instead.
    bool vendor_dial_refused = false;
    bool operator==(const ModuleTraits&) const = default;
};

struct UsbId {
    uint16_t vid;
    uint16_t pid;
    int at_interface;  // bInterfaceNumber of the AT port for this VID:PID
    const char* model;
    // Qualcomm-based Quectel modules put RNDIS in front of their serial interfaces, moving AT from
    // interface 2 to 4; modules whose composition always starts with the netdev do not.
    bool at_moves_with_rndis;
};

class VendorProfile {
public:
    virtual ~VendorProfile() = default;
    virtual Vendor id() const = 0;

    // Commands that set the APN and its authentication on `cid`, in order. They contain the
    // password: callers must never log them (use redacted() for logs).
    virtual std::vector<AtStep> apn_commands(const ApnSettings& apn, int cid) const = 0;
    // Commands that start the vendor's data call on `cid` (after attach), in order.
    virtual std::vector<AtStep> data_call_start(int cid) const = 0;
    virtual AtStep data_call_stop(int cid) const = 0;
    // Query whether the data call is up; interpret with parse_data_call_up().
    virtual AtStep data_call_query(int cid) const = 0;
    // true = up, false = down, nullopt = reply not understood.
    virtual std::optional<bool> parse_data_call_up(const AtResult& reply, int cid) const = 0;
    // Query for the IP address; interpret with parse_ip().
    virtual AtStep ip_query(int cid) const = 0;
    virtual std::optional<std::string> parse_ip(const AtResult& reply, int cid) const = 0;
    // ICCID query and its parser (vendors differ: +QCCID, +CICCID, +CCID, ^ICCID).
    virtual AtStep iccid_query() const = 0;
    virtual std::optional<std::string> parse_iccid(const AtResult& reply) const = 0;
    // Full module reboot; the port disappears afterwards.
    virtual AtStep reset_command() const = 0;
    // A vendor URC meaning the data link dropped (e.g. "^NDISSTAT: 0", "+QNETDEVSTATUS: 0").
    virtual bool urc_means_data_lost(std::string_view urc) const = 0;
    // Known modules of this vendor, with the USB interface that carries AT.
    virtual std::vector<UsbId> usb_ids() const = 0;
};

std::unique_ptr<VendorProfile> make_vendor_profile(Vendor v, const ModuleTraits& traits = {});
// A failed command the firmware does not know (plain ERROR, or +CME ERROR: 4 "operation not
// supported"), as opposed to one the network or the SIM refused.
bool refused_as_unknown(const AtResult& r);
// Detection from USB ids (returns nullopt for unknown VID:PID).
std::optional<Vendor> detect_vendor_usb(uint16_t vid, uint16_t pid);
// Detection from AT+CGMI / ATI text (manufacturer line, e.g. "Quectel", "SIMCOM INCORPORATED").
Vendor detect_vendor_text(std::string_view manufacturer_or_ati);

}  // namespace cellgate::modem
