#include "daemon/resolved_link.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>

#include <array>

#include "base/guarded.hpp"
#include "base/log.hpp"
#include "daemon/sd_bus_handles.hpp"

namespace cellgate {
namespace {

constexpr const char* kResolved = "org.freedesktop.resolve1";
constexpr const char* kResolvedPath = "/org/freedesktop/resolve1";
constexpr const char* kResolvedManager = "org.freedesktop.resolve1.Manager";
constexpr char kSetLinkDns[] = "SetLinkDNS";
constexpr char kSetLinkDefaultRoute[] = "SetLinkDefaultRoute";

using Address = std::array<uint8_t, 4>;

std::vector<Address> parse(const std::vector<std::string>& dns) {
    std::vector<Address> out;
    for (const auto& d : dns) {
        Address a{};
        if (inet_pton(AF_INET, d.c_str(), a.data()) == 1) out.push_back(a);
    }
    return out;
}

std::string error_text(sd_bus_message* reply, const char* method) {
    const sd_bus_error* e = sd_bus_message_get_error(reply);
    return std::string(method) + ": " + (e && e->message ? e->message : e && e->name ? e->name : "failed");
}

}  // namespace

struct ResolvedLink::Impl {
    sd_bus* bus;
    std::string interface;          // what update() was last given
    std::vector<std::string> dns;
    int want = 0;                   // the ifindex waiting for the name check
    std::vector<Address> want_dns;
    int applied = 0;                // the ifindex resolved was given servers for
    SdBusSlotPtr owner_slot, dns_slot, route_slot;
    bool told = false;

    explicit Impl(sd_bus* b) : bus(b) {}

    // Once: a Pi without resolved would hear it at every link change.
    void tell(const std::string& why) {
        if (told) return;
        told = true;
        log::info("resolved: ", why, "; the network's DNS servers stay with cellgated");
    }

    void cancel() {
        owner_slot.reset();
        dns_slot.reset();
        route_slot.reset();
        want = 0;
    }

    void revert() {
        if (!applied) return;
        // No reply wanted: the link may already be gone, which resolved forgets by itself.
        (void)sd_bus_call_method_async(bus, nullptr, kResolved, kResolvedPath, kResolvedManager, "RevertLink",
                                       nullptr, nullptr, "i", applied);
        log::info("resolved: link ", applied, " reverted");
        applied = 0;
    }

    void update(const std::string& i, const std::vector<std::string>& d) {
        if (i == interface && d == dns) return;
        interface = i;
        dns = d;
        cancel();
        auto addresses = parse(dns);
        const int index = interface.empty() || addresses.empty() ? 0 : static_cast<int>(if_nametoindex(interface.c_str()));
        if (applied && applied != index) revert();
        if (!index) return;
        want = index;
        want_dns = std::move(addresses);
        // Asked each time rather than watched: resolved may start or stop under a running daemon.
        sd_bus_slot* s = nullptr;
        const int r = sd_bus_call_method_async(bus, &s, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                               "org.freedesktop.DBus", "NameHasOwner", &Impl::on_owner, this, "s",
                                               kResolved);
        if (r < 0) return tell("NameHasOwner could not be sent");
        owner_slot.reset(s);
    }

    static int on_owner(sd_bus_message* reply, void* userdata, sd_bus_error*) {
        auto* self = static_cast<Impl*>(userdata);
        return guarded("resolved: name check", [&] {
            int has = 0;
            if (sd_bus_message_is_method_error(reply, nullptr) || sd_bus_message_read(reply, "b", &has) < 0)
                return self->tell(error_text(reply, "NameHasOwner"));
            if (!has) return self->tell("systemd-resolved is not on the system bus");
            self->apply();
        });
    }

    void apply() {
        sd_bus_message* raw = nullptr;
        if (sd_bus_message_new_method_call(bus, &raw, kResolved, kResolvedPath, kResolvedManager, kSetLinkDns) < 0)
            return tell("SetLinkDNS could not be built");
        SdBusMessagePtr m(raw);
        int r = sd_bus_message_append(m.get(), "i", want);
        if (r >= 0) r = sd_bus_message_open_container(m.get(), 'a', "(iay)");
        for (const auto& a : want_dns) {
            if (r >= 0) r = sd_bus_message_open_container(m.get(), 'r', "iay");
            if (r >= 0) r = sd_bus_message_append(m.get(), "i", AF_INET);
            if (r >= 0) r = sd_bus_message_append_array(m.get(), 'y', a.data(), a.size());
            if (r >= 0) r = sd_bus_message_close_container(m.get());
        }
        if (r >= 0) r = sd_bus_message_close_container(m.get());
        sd_bus_slot* s = nullptr;
        if (r >= 0) r = sd_bus_call_async(bus, &s, m.get(), &Impl::on_reply<kSetLinkDns>, this, 0);
        if (r < 0) return tell("SetLinkDNS could not be sent");
        dns_slot.reset(s);
        r = sd_bus_call_method_async(bus, &s, kResolved, kResolvedPath, kResolvedManager, kSetLinkDefaultRoute,
                                     &Impl::on_reply<kSetLinkDefaultRoute>, this, "ib", want, 0);
        if (r < 0) return tell("SetLinkDefaultRoute could not be sent");
        route_slot.reset(s);
        applied = want;
        log::info("resolved: ", interface, " (link ", applied, ") gets the network's DNS servers, not the default route");
    }

    template <const char* method>
    static int on_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
        auto* self = static_cast<Impl*>(userdata);
        return guarded("resolved: reply", [&] {
            if (sd_bus_message_is_method_error(reply, nullptr)) self->tell(error_text(reply, method));
        });
    }
};

ResolvedLink::ResolvedLink(sd_bus* bus) : impl_(std::make_unique<Impl>(bus)) {}

ResolvedLink::~ResolvedLink() {
    impl_->cancel();
    impl_->revert();
}

void ResolvedLink::update(const std::string& interface, const std::vector<std::string>& dns) {
    impl_->update(interface, dns);
}

}  // namespace cellgate
