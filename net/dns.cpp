#include "net/dns.hpp"

#include <ares.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "base/guarded.hpp"
#include "base/log.hpp"

namespace cellgate::net {

struct Resolver::Query {
    Resolver* self;
    std::string host;
    Done done;
};

namespace {

void library_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (const int r = ares_library_init(ARES_LIB_INIT_ALL); r != ARES_SUCCESS)
            throw std::runtime_error(std::string("c-ares: ") + ares_strerror(r));
    });
}

}  // namespace

Resolver::Resolver(Scheduler& loop, Options o) : loop_(loop) {
    if (o.servers.empty()) throw std::invalid_argument("resolver: no DNS servers");
    library_init();
    ares_options opts{};
    char lookups[] = "b";  // DNS only: /etc/hosts describes this machine's networks, not the cellular one
    opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
    opts.timeout = static_cast<int>(o.timeout.count());
    opts.tries = std::max(o.tries, 1);
    opts.ndots = 1;
    opts.lookups = lookups;
    opts.sock_state_cb = &Resolver::on_socket_state;
    opts.sock_state_cb_data = this;
    const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS | ARES_OPT_LOOKUPS |
                     ARES_OPT_SOCK_STATE_CB;
    if (const int r = ares_init_options(&channel_, &opts, mask); r != ARES_SUCCESS)
        throw std::runtime_error(std::string("c-ares init: ") + ares_strerror(r));

    // Replaces whatever /etc/resolv.conf listed.
    std::vector<ares_addr_port_node> nodes(o.servers.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        nodes[i].next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
        nodes[i].family = AF_INET;
        nodes[i].addr.addr4.s_addr = o.servers[i].be;
        nodes[i].udp_port = o.port;
        nodes[i].tcp_port = o.port;
    }
    if (const int r = ares_set_servers_ports(channel_, nodes.data()); r != ARES_SUCCESS) {
        ares_destroy(channel_);
        throw std::runtime_error(std::string("c-ares servers: ") + ares_strerror(r));
    }
    if (o.local) ares_set_local_ip4(channel_, o.local->host());
    timer_ = loop_.make_timer([this] { process(ARES_SOCKET_BAD, ARES_SOCKET_BAD); });
}

Resolver::~Resolver() {
    // Pending queries end with ARES_EDESTRUCTION (their callbacks are skipped), and c-ares closes
    // its sockets: no watch may be touched after this.
    destroying_ = true;
    ares_destroy(channel_);
}

void Resolver::resolve(const std::string& host, Done done) {
    if (const auto literal = parse_ipv4(host)) return complete(std::move(done), std::vector<Ipv4>{*literal});
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_INET;
    hints.ai_flags = ARES_AI_NOSORT;
    auto* q = new Query{this, host, std::move(done)};
    ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &Resolver::on_answer, q);
    rearm();
}

void Resolver::on_answer(void* arg, int status, int, ares_addrinfo* result) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    if (status == ARES_EDESTRUCTION) {
        if (result) ares_freeaddrinfo(result);
        return;
    }
    Result r;
    if (status != ARES_SUCCESS) {
        r = std::unexpected(q->host + ": " + ares_strerror(status));
    } else {
        std::vector<Ipv4> addrs;
        for (auto* n = result ? result->nodes : nullptr; n; n = n->ai_next) {
            if (n->ai_family != AF_INET || n->ai_addrlen < sizeof(sockaddr_in)) continue;
            const Ipv4 a{reinterpret_cast<const sockaddr_in*>(n->ai_addr)->sin_addr.s_addr};
            if (std::find(addrs.begin(), addrs.end(), a) == addrs.end()) addrs.push_back(a);
        }
        if (addrs.empty()) r = std::unexpected(q->host + ": no IPv4 address");
        else r = std::move(addrs);
    }
    if (result) ares_freeaddrinfo(result);
    q->self->complete(std::move(q->done), std::move(r));
}

void Resolver::complete(Done done, Result result) {
    // Always from the loop: a caller may destroy us in its callback, and c-ares may be on the stack.
    loop_.defer([alive = life_.token(), done = std::move(done), result = std::move(result)]() mutable {
        if (alive && done) done(std::move(result));
    });
}

void Resolver::on_socket_state(void* data, int fd, int readable, int writable) {
    auto* self = static_cast<Resolver*>(data);
    if (self->destroying_) return;
    (void)guarded("resolver socket", [&] {
        if (!readable && !writable) {
            self->watches_.erase(fd);
            return;
        }
        const uint32_t events = (readable ? EPOLLIN : 0U) | (writable ? EPOLLOUT : 0U);
        auto it = self->watches_.find(fd);
        if (it != self->watches_.end()) {
            it->second->set_events(events);
            return;
        }
        self->watches_[fd] = self->loop_.watch_fd(fd, events, [self, fd](uint32_t revents) {
            const bool in = revents & (EPOLLIN | EPOLLERR | EPOLLHUP);
            self->process(in ? fd : ARES_SOCKET_BAD, (revents & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
        });
    });
}

void Resolver::process(int read_fd, int write_fd) {
    ares_process_fd(channel_, read_fd, write_fd);
    rearm();
}

void Resolver::rearm() {
    timeval tv{};
    if (!ares_timeout(channel_, nullptr, &tv)) {
        timer_->cancel();
        return;
    }
    timer_->arm(milliseconds(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000));
}

}  // namespace cellgate::net
