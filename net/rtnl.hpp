// A NETLINK_ROUTE socket on the event loop. Requests go out non-blocking and their ACKs are
// matched by sequence number when they arrive, so a slow kernel never stalls the loop; multicast
// events (for a monitor) arrive through the same socket.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "net/rtnl_ops.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace cellgate::net {

class Rtnl {
public:
    // 0, or a positive errno: the kernel's answer, ETIMEDOUT if none came.
    using Done = std::function<void(int error)>;
    using Message = std::function<void(const nlmsghdr*)>;

    // Opens and binds the socket; `groups` is an RTMGRP_* mask for a monitor, 0 for requests only.
    // Throws std::system_error when the kernel refuses (no netlink in the sandbox, for example).
    Rtnl(Scheduler& loop, unsigned groups = 0);
    // Requests still waiting for their ACK are dropped: their callbacks never run.
    ~Rtnl();
    Rtnl(const Rtnl&) = delete;
    Rtnl& operator=(const Rtnl&) = delete;

    // Sends one request; `done` runs from the loop with the kernel's ACK.
    void send(const RtnlOp& op, Done done);
    // Carries out `ops` in order and stops at the first failure; an error that means "already
    // so" (removing what is gone, adding a rule that exists) counts as done. `failed` describes
    // the operation that failed.
    void apply(std::vector<RtnlOp> ops, std::function<void(int error, const std::string& failed)> done);
    // Sends a dump request built with `seq`; `each` sees every answer, `done` runs at the end.
    void dump(std::vector<uint8_t> request, Message each, Done done);
    uint32_t next_seq() { return ++seq_; }

    // Multicast messages (anything that answers none of our requests). `overrun` runs when the kernel dropped some (ENOBUFS): the
    // subscriber must read the state again.
    void on_event(Message event, std::function<void()> overrun);

    // How long a request may wait for its ACK.
    static constexpr milliseconds kAckTimeout{5000};

private:
    struct Pending {
        Done done;
        Message each;
        Clock::time_point deadline;
    };
    void submit(std::vector<uint8_t> request, Pending pending);
    void flush();
    void on_ready(uint32_t revents);
    void dispatch(const nlmsghdr* nlh);
    void finish(uint32_t seq, int error);
    void arm_timeout();
    void on_timeout();
    void apply_next(std::shared_ptr<std::vector<RtnlOp>> ops, std::size_t i,
                    std::shared_ptr<std::function<void(int, const std::string&)>> done);

    Scheduler& loop_;
    mnl_socket* nl_ = nullptr;
    unsigned portid_ = 0;
    uint32_t seq_;
    std::deque<std::vector<uint8_t>> out_;
    std::map<uint32_t, Pending> pending_;
    Message event_;
    std::function<void()> overrun_;
    std::unique_ptr<IoWatch> watch_;
    std::unique_ptr<Timer> timeout_;
    std::vector<uint8_t> rx_;
    Lifetime life_;
};

}  // namespace cellgate::net
