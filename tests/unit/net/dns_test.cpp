// The resolver against a tiny DNS answerer on loopback (it asks the given server, from the given
// address, never /etc/resolv.conf), and in namespaces through a DHCP lease to the module's dnsmasq.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "net/dhcp_client.hpp"
#include "net/dns.hpp"
#include "net/route_policy.hpp"
#include "net/rtnl.hpp"
#include "unit/net/module_netns.hpp"
#include "unit/net/netns.hpp"
#include "unit/support/poll_scheduler.hpp"

namespace cellgate::net {
namespace {

using cellgate::testing::PollScheduler;
using namespace std::chrono_literals;

Ipv4 ip(const char* s) { return *parse_ipv4(s); }

// Answers A queries from a table over UDP; NXDOMAIN for names it does not know, silence when
// `answer` is false. Records where each query came from.
class FakeDns {
public:
    FakeDns(Scheduler& loop, Ipv4 address, uint16_t port, bool answer = true) : answer_(answer) {
        fd_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = address.be;
        sa.sin_port = htons(port);
        EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
        socklen_t len = sizeof sa;
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len);
        port_ = ntohs(sa.sin_port);
        watch_ = loop.watch_fd(fd_.get(), EPOLLIN, [this](uint32_t) { on_query(); });
    }
    uint16_t port() const { return port_; }
    void add(const std::string& name, std::vector<Ipv4> addrs) { table_[name] = std::move(addrs); }
    std::vector<std::string> names;
    std::vector<Ipv4> sources;

private:
    void on_query() {
        uint8_t q[512];
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const ssize_t n = ::recvfrom(fd_.get(), q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 17) return;
        std::string name;
        std::size_t i = 12;
        while (i < static_cast<std::size_t>(n) && q[i] != 0) {
            if (!name.empty()) name += '.';
            name.append(reinterpret_cast<const char*>(q + i + 1), q[i]);
            i += q[i] + 1U;
        }
        const std::size_t question_end = i + 5;  // the root label, QTYPE, QCLASS
        names.push_back(name);
        sources.push_back(Ipv4{from.sin_addr.s_addr});
        if (!answer_ || question_end > static_cast<std::size_t>(n)) return;
        std::vector<uint8_t> r(q, q + question_end);
        const auto it = table_.find(name);
        r[2] = 0x81;                                   // QR, RD
        r[3] = it == table_.end() ? 0x83 : 0x80;       // RA, NXDOMAIN or NOERROR
        r[6] = 0;
        r[7] = it == table_.end() ? 0 : static_cast<uint8_t>(it->second.size());
        r[8] = r[9] = r[10] = r[11] = 0;
        if (it != table_.end()) {
            for (const Ipv4 a : it->second) {
                const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
                r.insert(r.end(), rr, rr + sizeof rr);
                const auto* b = reinterpret_cast<const uint8_t*>(&a.be);
                r.insert(r.end(), b, b + 4);
            }
        }
        ::sendto(fd_.get(), r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }

    bool answer_;
    UniqueFd fd_;
    uint16_t port_ = 0;
    std::unique_ptr<IoWatch> watch_;
    std::map<std::string, std::vector<Ipv4>> table_;
};

std::optional<Resolver::Result> resolve(PollScheduler& loop, Resolver& r, const std::string& host,
                                        milliseconds limit = 3000ms) {
    std::optional<Resolver::Result> out;
    r.resolve(host, [&](Resolver::Result res) { out = std::move(res); });
    EXPECT_FALSE(out.has_value()) << "answered from inside resolve()";
    loop.run_until([&] { return out.has_value(); }, limit);
    return out;
}

TEST(Resolver, AsksTheGivenServerFromTheGivenAddress) {
    PollScheduler loop;
    FakeDns dns(loop, ip("127.0.0.1"), 0);
    dns.add("cloud.example", {ip("203.0.113.7"), ip("203.0.113.8")});
    Resolver r(loop, {{ip("127.0.0.1")}, dns.port(), ip("127.0.0.2"), 1000ms, 1});
    const auto out = resolve(loop, r, "cloud.example");
    ASSERT_TRUE(out.has_value());
    ASSERT_TRUE(out->has_value()) << out->error();
    EXPECT_EQ(**out, (std::vector<Ipv4>{ip("203.0.113.7"), ip("203.0.113.8")}));
    ASSERT_EQ(dns.names, std::vector<std::string>{"cloud.example"});
    EXPECT_EQ(dns.sources[0], ip("127.0.0.2"));
}

TEST(Resolver, UnknownNameIsAnError) {
    PollScheduler loop;
    FakeDns dns(loop, ip("127.0.0.1"), 0);
    Resolver r(loop, {{ip("127.0.0.1")}, dns.port(), std::nullopt, 1000ms, 1});
    const auto out = resolve(loop, r, "nowhere.example");
    ASSERT_TRUE(out.has_value());
    ASSERT_FALSE(out->has_value());
    EXPECT_NE(out->error().find("nowhere.example"), std::string::npos) << out->error();
    EXPECT_EQ(dns.names.size(), 1U);  // no search domains appended
}

TEST(Resolver, ASilentServerTimesOutAndTheNextOneAnswers) {
    PollScheduler loop;
    FakeDns good(loop, ip("127.0.0.3"), 0);
    FakeDns silent(loop, ip("127.0.0.4"), good.port(), false);
    good.add("cloud.example", {ip("203.0.113.7")});
    Resolver both(loop, {{ip("127.0.0.4"), ip("127.0.0.3")}, good.port(), std::nullopt, 300ms, 1});
    const auto t0 = Clock::now();
    auto out = resolve(loop, both, "cloud.example");
    ASSERT_TRUE(out && out->has_value());
    EXPECT_GE(Clock::now() - t0, 250ms);
    EXPECT_EQ(silent.names.size(), 1U);

    Resolver alone(loop, {{ip("127.0.0.4")}, good.port(), std::nullopt, 300ms, 2});
    out = resolve(loop, alone, "cloud.example", 5000ms);
    ASSERT_TRUE(out.has_value());
    ASSERT_FALSE(out->has_value());
    EXPECT_NE(out->error().find("imeout"), std::string::npos) << out->error();
    EXPECT_EQ(silent.names.size(), 3U);  // one try more
}

TEST(Resolver, ALiteralAddressNeedsNoQuery) {
    PollScheduler loop;
    FakeDns dns(loop, ip("127.0.0.1"), 0);
    Resolver r(loop, {{ip("127.0.0.1")}, dns.port(), std::nullopt, 1000ms, 1});
    const auto out = resolve(loop, r, "198.51.100.4");
    ASSERT_TRUE(out && out->has_value());
    EXPECT_EQ(**out, std::vector<Ipv4>{ip("198.51.100.4")});
    EXPECT_TRUE(dns.names.empty());
}

TEST(Resolver, DestroyedWithAQueryPendingCallsNothing) {
    PollScheduler loop;
    FakeDns silent(loop, ip("127.0.0.1"), 0, false);
    bool called = false;
    {
        Resolver r(loop, {{ip("127.0.0.1")}, silent.port(), std::nullopt, 1000ms, 1});
        r.resolve("cloud.example", [&](Resolver::Result) { called = true; });
        loop.run_for(50ms);
    }
    loop.run_for(50ms);
    EXPECT_FALSE(called);
}

TEST(Resolver, NeedsServers) {
    PollScheduler loop;
    EXPECT_THROW(Resolver(loop, {}), std::invalid_argument);
}

// The assembled path: lease from the module, applied with the route policy, then the cloud
// host resolved by the module's DNS server, which alone knows it, from the leased address.
TEST(DataPathNetns, CloudNameResolvedByTheModulesDnsThroughTheLease) {
    if (std::system("command -v busybox >/dev/null && command -v dnsmasq >/dev/null") != 0)
        GTEST_SKIP() << "needs busybox and dnsmasq";
    CELLGATE_IN_NETNS([] {
        testing::ModuleNamespace module("cell0");
        PollScheduler loop;
        Rtnl rtnl(loop);
        std::optional<DhcpLease> lease;
        DhcpOptions o;
        o.udhcpc.interface = "cell0";
        o.udhcpc.hook = std::string(CELLGATE_SOURCE_DIR) + "/net/udhcpc-hook";
        o.udhcpc.discover_pause = 1s;
        DhcpClient dhcp(loop, o, {[&](const DhcpLease& l) { lease = l; }, nullptr});
        const auto t0 = Clock::now();
        dhcp.start();
        ASSERT_TRUE(loop.run_until([&] { return lease.has_value(); }, 15000ms));
        std::optional<int> error;
        rtnl.apply(plan_up(RoutePolicy{}, link_config(static_cast<int>(if_nametoindex("cell0")), *lease)), [&](int e, const std::string&) { error = e; });
        ASSERT_TRUE(loop.run_until([&] { return error.has_value(); }));
        ASSERT_EQ(*error, 0);

        ASSERT_FALSE(lease->dns.empty());
        Resolver r(loop, {lease->dns, 53, lease->address, 1000ms, 2});
        const auto out = resolve(loop, r, "cloud.example", 5000ms);
        ASSERT_TRUE(out.has_value());
        ASSERT_TRUE(out->has_value()) << out->error();
        EXPECT_EQ(**out, std::vector<Ipv4>{ip("203.0.113.7")});
        const auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
        std::printf("lease, routes and the cloud name in %lld ms\n", static_cast<long long>(ms));
    });
}

}  // namespace
}  // namespace cellgate::net
