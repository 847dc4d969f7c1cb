// Name resolution for the sessions that follow the modem: asynchronous on the loop (c-ares), with
// the DNS servers the mobile network gave (CGCONTRDP, the DHCP lease) instead of
// /etc/resolv.conf, and with the queries sent from the cellular address so the source rule of
// route_policy takes them through the module even when Wi-Fi has the default route.
#pragma once

#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "net/ipv4.hpp"

struct ares_channeldata;
struct ares_addrinfo;

namespace cellgate::net {

class Resolver {
public:
    struct Options {
        std::vector<Ipv4> servers;   // tried in order
        uint16_t port = 53;
        std::optional<Ipv4> local;   // source address of the queries
        milliseconds timeout{3000};  // per server and try
        int tries = 2;
    };
    using Result = std::expected<std::vector<Ipv4>, std::string>;
    using Done = std::function<void(Result)>;

    // Throws std::runtime_error when c-ares cannot be set up, std::invalid_argument without servers.
    Resolver(Scheduler& loop, Options options);
    // Queries still pending are dropped; their callbacks never run.
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // The IPv4 addresses of `host`, from the loop, never from inside this call. A dotted quad is
    // its own answer. No search domains and no /etc/hosts: cloud hosts are full names.
    void resolve(const std::string& host, Done done);

private:
    struct Query;
    static void on_socket_state(void* data, int fd, int readable, int writable);
    static void on_answer(void* arg, int status, int timeouts, ares_addrinfo* result);
    void process(int read_fd, int write_fd);
    void rearm();
    void complete(Done done, Result result);

    Scheduler& loop_;
    ares_channeldata* channel_ = nullptr;
    bool destroying_ = false;
    std::map<int, std::unique_ptr<IoWatch>> watches_;
    std::unique_ptr<Timer> timer_;
    Lifetime life_;
};

}  // namespace cellgate::net
