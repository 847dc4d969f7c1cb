#include "net/rtnl_msg.hpp"

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

namespace cellgate::net {
namespace {

// The largest request we build (a route with five attributes) is well under this.
constexpr std::size_t kRequestBuffer = 512;

template <class Header>
Header* start(std::vector<uint8_t>& buf, uint16_t type, uint16_t flags, uint32_t seq) {
    buf.assign(kRequestBuffer, 0);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    return static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Header)));
}

void finish(std::vector<uint8_t>& buf) {
    buf.resize(reinterpret_cast<const nlmsghdr*>(buf.data())->nlmsg_len);
}

nlmsghdr* header(std::vector<uint8_t>& buf) { return reinterpret_cast<nlmsghdr*>(buf.data()); }

void put_ipv4(nlmsghdr* nlh, uint16_t type, Ipv4 a) { mnl_attr_put(nlh, type, sizeof a.be, &a.be); }

// Tables above 255 do not fit the header's byte; the attribute carries the real number.
uint8_t header_table(uint32_t table) { return static_cast<uint8_t>(table < 256 ? table : RT_TABLE_UNSPEC); }

uint16_t flags_for(OpKind kind, uint16_t add_flags) {
    return static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | (kind == OpKind::add ? add_flags : 0));
}

void build(std::vector<uint8_t>& buf, OpKind kind, const AddressSpec& a, uint32_t seq) {
    // REPLACE: re-adding the same address (a renewal) refreshes its lifetime instead of failing.
    auto* ifa = start<ifaddrmsg>(buf, kind == OpKind::add ? RTM_NEWADDR : RTM_DELADDR,
                                 flags_for(kind, NLM_F_CREATE | NLM_F_REPLACE), seq);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = a.prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<uint32_t>(a.ifindex);
    nlmsghdr* nlh = header(buf);
    put_ipv4(nlh, IFA_LOCAL, a.local);
    put_ipv4(nlh, IFA_ADDRESS, a.peer.value_or(a.local));
    if (kind == OpKind::add && !a.peer && a.prefix < 31) {
        const Ipv4 bcast{a.local.be | ~netmask(a.prefix).be};
        put_ipv4(nlh, IFA_BROADCAST, bcast);
    }
    if (kind == OpKind::add && a.valid_seconds != 0) {
        ifa_cacheinfo ci{};
        ci.ifa_prefered = a.valid_seconds;
        ci.ifa_valid = a.valid_seconds;
        mnl_attr_put(nlh, IFA_CACHEINFO, sizeof ci, &ci);
    }
}

void build(std::vector<uint8_t>& buf, OpKind kind, const RouteSpec& r, uint32_t seq) {
    auto* rtm = start<rtmsg>(buf, kind == OpKind::add ? RTM_NEWROUTE : RTM_DELROUTE,
                             flags_for(kind, NLM_F_CREATE | NLM_F_REPLACE), seq);
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = 0;
    rtm->rtm_table = header_table(r.table);
    rtm->rtm_protocol = kRouteProtocol;
    // A route without a gateway reaches the link itself; on removal NOWHERE matches any scope.
    rtm->rtm_scope = kind == OpKind::remove ? RT_SCOPE_NOWHERE
                     : r.gateway            ? RT_SCOPE_UNIVERSE
                                            : RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
    if (r.onlink && r.gateway) rtm->rtm_flags |= RTNH_F_ONLINK;
    nlmsghdr* nlh = header(buf);
    mnl_attr_put_u32(nlh, RTA_TABLE, r.table);
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(r.ifindex));
    if (r.gateway) put_ipv4(nlh, RTA_GATEWAY, *r.gateway);
    mnl_attr_put_u32(nlh, RTA_PRIORITY, r.metric);
    if (r.source && kind == OpKind::add) put_ipv4(nlh, RTA_PREFSRC, *r.source);
}

void build(std::vector<uint8_t>& buf, OpKind kind, const RuleSpec& r, uint32_t seq) {
    // EXCL: the kernel happily stores identical rules twice; with EXCL a duplicate is EEXIST.
    auto* frh = start<fib_rule_hdr>(buf, kind == OpKind::add ? RTM_NEWRULE : RTM_DELRULE,
                                    flags_for(kind, NLM_F_CREATE | NLM_F_EXCL), seq);
    frh->family = AF_INET;
    frh->src_len = r.from_prefix;
    frh->table = header_table(r.table);
    frh->action = FR_ACT_TO_TBL;
    nlmsghdr* nlh = header(buf);
    put_ipv4(nlh, FRA_SRC, r.from);
    mnl_attr_put_u32(nlh, FRA_TABLE, r.table);
    mnl_attr_put_u32(nlh, FRA_PRIORITY, r.priority);
}

void build(std::vector<uint8_t>& buf, OpKind, const LinkSpec& l, uint32_t seq) {
    auto* ifi = start<ifinfomsg>(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = l.ifindex;
    if (l.up) {
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = *l.up ? IFF_UP : 0;
    }
    if (l.mtu) mnl_attr_put_u32(header(buf), IFLA_MTU, *l.mtu);
}

template <class Header, class Fill>
std::vector<uint8_t> dump_request(uint16_t type, uint32_t seq, Fill fill) {
    std::vector<uint8_t> buf;
    fill(*start<Header>(buf, type, NLM_F_REQUEST | NLM_F_DUMP, seq));
    finish(buf);
    return buf;
}

struct Attrs {
    static constexpr int kMax = 64;
    const nlattr* at[kMax + 1] = {};
};

int collect(const nlattr* attr, void* data) {
    auto* attrs = static_cast<Attrs*>(data);
    const int type = mnl_attr_get_type(attr);
    if (type <= Attrs::kMax) attrs->at[type] = attr;
    return MNL_CB_OK;
}

}  // namespace

std::vector<uint8_t> build_request(const RtnlOp& op, uint32_t seq) {
    std::vector<uint8_t> buf;
    std::visit([&](const auto& spec) { build(buf, op.kind, spec, seq); }, op.what);
    finish(buf);
    return buf;
}

std::vector<uint8_t> build_link_dump(uint32_t seq) {
    return dump_request<ifinfomsg>(RTM_GETLINK, seq, [](ifinfomsg& ifi) { ifi.ifi_family = AF_UNSPEC; });
}

std::vector<uint8_t> build_address_dump(uint32_t seq) {
    return dump_request<ifaddrmsg>(RTM_GETADDR, seq, [](ifaddrmsg& ifa) { ifa.ifa_family = AF_INET; });
}

std::optional<LinkEvent> parse_link(const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) return std::nullopt;
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifinfomsg)) return std::nullopt;
    const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    Attrs attrs;
    if (mnl_attr_parse(nlh, sizeof(ifinfomsg), collect, &attrs) < 0) return std::nullopt;
    LinkEvent e;
    e.ifindex = ifi->ifi_index;
    e.removed = nlh->nlmsg_type == RTM_DELLINK;
    e.up = (ifi->ifi_flags & IFF_UP) != 0;
    e.carrier = (ifi->ifi_flags & IFF_LOWER_UP) != 0;
    e.arp_type = ifi->ifi_type;
    if (const nlattr* a = attrs.at[IFLA_IFNAME]; a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
        e.name = mnl_attr_get_str(a);
    if (const nlattr* a = attrs.at[IFLA_MTU]; a && mnl_attr_validate(a, MNL_TYPE_U32) >= 0) e.mtu = mnl_attr_get_u32(a);
    return e;
}

std::optional<AddressEvent> parse_address(const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR) return std::nullopt;
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifaddrmsg)) return std::nullopt;
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    if (ifa->ifa_family != AF_INET) return std::nullopt;
    Attrs attrs;
    if (mnl_attr_parse(nlh, sizeof(ifaddrmsg), collect, &attrs) < 0) return std::nullopt;
    // IFA_LOCAL is the interface's own address; on point-to-point links IFA_ADDRESS is the peer.
    const nlattr* a = attrs.at[IFA_LOCAL] ? attrs.at[IFA_LOCAL] : attrs.at[IFA_ADDRESS];
    if (!a || mnl_attr_get_payload_len(a) != 4) return std::nullopt;
    AddressEvent e;
    e.ifindex = static_cast<int>(ifa->ifa_index);
    std::memcpy(&e.local.be, mnl_attr_get_payload(a), 4);
    e.prefix = ifa->ifa_prefixlen;
    e.removed = nlh->nlmsg_type == RTM_DELADDR;
    return e;
}

}  // namespace cellgate::net
