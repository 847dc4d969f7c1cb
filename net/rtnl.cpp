#include "net/rtnl.hpp"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>
#include <system_error>

#include "base/log.hpp"
#include "net/rtnl_msg.hpp"

namespace cellgate::net {
namespace {

// Dumps of many links come in datagrams up to a page or more; 32 KiB is what libmnl later
// settled on for MNL_SOCKET_DUMP_SIZE.
constexpr std::size_t kReceiveBuffer = 32768;

uint32_t seq_of(const std::vector<uint8_t>& request) {
    return reinterpret_cast<const nlmsghdr*>(request.data())->nlmsg_seq;
}

}  // namespace

Rtnl::Rtnl(Scheduler& loop, unsigned groups)
    : loop_(loop), seq_(static_cast<uint32_t>(::time(nullptr))), rx_(kReceiveBuffer) {
    nl_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!nl_) throw std::system_error(errno, std::generic_category(), "netlink socket");
    if (mnl_socket_bind(nl_, groups, MNL_SOCKET_AUTOPID) < 0) {
        const int e = errno;
        mnl_socket_close(nl_);
        throw std::system_error(e, std::generic_category(), "netlink bind");
    }
    portid_ = mnl_socket_get_portid(nl_);
    watch_ = loop_.watch_fd(mnl_socket_get_fd(nl_), EPOLLIN, [this](uint32_t revents) { on_ready(revents); });
    timeout_ = loop_.make_timer([this] { on_timeout(); });
}

Rtnl::~Rtnl() {
    watch_.reset();
    mnl_socket_close(nl_);
}

void Rtnl::send(const RtnlOp& op, Done done) {
    submit(build_request(op, next_seq()), Pending{std::move(done), nullptr, {}});
}

void Rtnl::dump(std::vector<uint8_t> request, Message each, Done done) {
    submit(std::move(request), Pending{std::move(done), std::move(each), {}});
}

void Rtnl::on_event(Message event, std::function<void()> overrun) {
    event_ = std::move(event);
    overrun_ = std::move(overrun);
}

void Rtnl::apply(std::vector<RtnlOp> ops, std::function<void(int, const std::string&)> done) {
    apply_next(std::make_shared<std::vector<RtnlOp>>(std::move(ops)), 0,
               std::make_shared<std::function<void(int, const std::string&)>>(std::move(done)));
}

void Rtnl::apply_next(std::shared_ptr<std::vector<RtnlOp>> ops, std::size_t i,
                      std::shared_ptr<std::function<void(int, const std::string&)>> done) {
    if (i == ops->size()) {
        (*done)(0, {});
        return;
    }
    send((*ops)[i], [this, ops, i, done](int error) {
        const RtnlOp& op = (*ops)[i];
        if (error != 0 && !already_done(op, error)) {
            (*done)(error, describe(op));
            return;
        }
        if (error != 0) log::debug("rtnl: ", describe(op), ": already so (", std::generic_category().message(error), ")");
        apply_next(ops, i + 1, done);
    });
}

void Rtnl::submit(std::vector<uint8_t> request, Pending pending) {
    pending.deadline = loop_.now() + kAckTimeout;
    pending_[seq_of(request)] = std::move(pending);
    out_.push_back(std::move(request));
    arm_timeout();
    flush();
}

void Rtnl::flush() {
    while (!out_.empty()) {
        const auto& req = out_.front();
        if (mnl_socket_sendto(nl_, req.data(), req.size()) >= 0) {
            out_.pop_front();
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            watch_->set_events(EPOLLIN | EPOLLOUT);
            return;
        }
        const int error = errno;
        const uint32_t seq = seq_of(req);
        out_.pop_front();
        auto alive = life_.token();
        finish(seq, error);
        if (alive.expired()) return;
    }
    watch_->set_events(EPOLLIN);
}

void Rtnl::on_ready(uint32_t revents) {
    auto alive = life_.token();
    if (revents & EPOLLOUT) {
        flush();
        if (alive.expired()) return;
    }
    if (!(revents & (EPOLLIN | EPOLLERR))) return;
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(nl_, rx_.data(), rx_.size());
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {
                // The kernel dropped messages for us (a burst of events): state must be re-read.
                log::debug("rtnl: receive overrun, resynchronising");
                if (overrun_) {
                    auto overrun = overrun_;
                    overrun();
                    if (alive.expired()) return;
                }
                continue;
            }
            log::warning("rtnl: receive: ", std::generic_category().message(errno));
            return;
        }
        int len = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            dispatch(nlh);
            if (alive.expired()) return;
        }
    }
}

void Rtnl::dispatch(const nlmsghdr* nlh) {
    const bool ours = nlh->nlmsg_pid == portid_ && pending_.count(nlh->nlmsg_seq) != 0;
    if (!ours) {
        // Notifications carry the seq and port of whoever caused them (`ip`, NetworkManager).
        if (event_) {
            auto event = event_;
            event(nlh);
        }
        return;
    }
    if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) return finish(nlh->nlmsg_seq, EBADMSG);
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        return finish(nlh->nlmsg_seq, -err->error);
    }
    if (nlh->nlmsg_type == NLMSG_DONE) return finish(nlh->nlmsg_seq, 0);
    auto it = pending_.find(nlh->nlmsg_seq);
    if (it->second.each) {
        auto each = it->second.each;
        each(nlh);
    }
}

void Rtnl::finish(uint32_t seq, int error) {
    auto it = pending_.find(seq);
    if (it == pending_.end()) return;
    auto done = std::move(it->second.done);
    pending_.erase(it);
    if (pending_.empty()) timeout_->cancel();
    if (done) done(error);
}

void Rtnl::arm_timeout() {
    if (pending_.empty()) return;
    auto first = pending_.begin()->second.deadline;
    for (const auto& [seq, p] : pending_) first = std::min(first, p.deadline);
    timeout_->arm(std::chrono::ceil<milliseconds>(std::max(first - loop_.now(), Clock::duration{})));
}

void Rtnl::on_timeout() {
    const auto now = loop_.now();
    std::vector<uint32_t> late;
    for (const auto& [seq, p] : pending_)
        if (p.deadline <= now) late.push_back(seq);
    auto alive = life_.token();
    for (uint32_t seq : late) {
        log::warning("rtnl: no answer to request ", seq, " within ", kAckTimeout.count(), " ms");
        finish(seq, ETIMEDOUT);
        if (alive.expired()) return;
    }
    arm_timeout();
}

}  // namespace cellgate::net
