#include "daemon/bus.hpp"

#include <systemd/sd-bus.h>

#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "base/log.hpp"
#include "daemon/bus_cloud.hpp"
#include "daemon/bus_modem.hpp"
#include "daemon/sd_bus_handles.hpp"
#include "daemon/sd_loop.hpp"
#include "version.hpp"

namespace cellgate {
namespace {

// RequestName replies, from the D-Bus specification.
constexpr uint32_t kPrimaryOwner = 1;
constexpr uint32_t kAlreadyOwner = 4;

void check(int r, const char* what) {
    if (r < 0) throw std::system_error(-r, std::generic_category(), what);
}

// guarded() for sd-bus handlers: an exception becomes a generic D-Bus error reply.
template <class F>
int bus_guarded(const char* where, sd_bus_error* error, F&& body) noexcept {
    int r = guarded(where, std::forward<F>(body));
    if (r == -EIO && error && !sd_bus_error_is_set(error))
        (void)sd_bus_error_set_const(error, SD_BUS_ERROR_FAILED, "internal error");
    return r;
}

int append_value(sd_bus_message* reply, const BusValue& v) {
    return std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return sd_bus_message_append_basic(reply, 's', x.c_str());
            } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                std::vector<char*> strv;
                for (const auto& e : x) strv.push_back(const_cast<char*>(e.c_str()));
                strv.push_back(nullptr);
                return sd_bus_message_append_strv(reply, strv.data());
            } else {
                return sd_bus_message_append_basic(reply, bus_signature_of(v)[0], &x);
            }
        },
        v);
}

// The uid comes from dbus-daemon's GetConnectionCredentials (its SO_PEERCRED of the caller);
// this is a synchronous call to the bus, acceptable for a rare, privileged method. An euid
// that was only filled in from /proc (AUGMENT) is racy and is not trusted: fail closed.
bool caller_is_root(sd_bus_message* m) {
    sd_bus_creds* raw = nullptr;
    if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &raw) < 0) return false;
    std::unique_ptr<sd_bus_creds, decltype(&sd_bus_creds_unref)> creds(raw, &sd_bus_creds_unref);
    if (sd_bus_creds_get_augmented_mask(creds.get()) & SD_BUS_CREDS_EUID) return false;
    uid_t euid = 1;
    return sd_bus_creds_get_euid(creds.get(), &euid) >= 0 && euid == 0;
}

}  // namespace

struct Bus::Impl {
    Impl(SdEventLoop& loop, Handlers h) : handlers(std::move(h)) {
        sd_bus* b = nullptr;
        check(sd_bus_open_system(&b), "sd_bus_open_system");
        bus.reset(b);
        (void)sd_bus_set_description(b, "cellgated");

        build_modem_vtable();
        build_cloud_vtable();
        sd_bus_slot* s = nullptr;
        check(sd_bus_add_object_vtable(b, &s, kGatewayPath, kGatewayInterface, kGatewayVtable, this),
              "sd_bus_add_object_vtable(Gateway1)");
        gateway_slot.reset(s);
        check(sd_bus_add_object_vtable(b, &s, kModemPath, kModemInterface, modem_vtable.data(), this),
              "sd_bus_add_object_vtable(Modem)");
        modem_slot.reset(s);

        // sd-bus turns a lost connection into this local signal; without the bus the daemon is
        // unreachable and unmanageable, so it exits and systemd restarts it.
        check(sd_bus_match_signal_async(b, &s, nullptr, "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected",
                                        &Impl::on_disconnected, nullptr, this),
              "sd_bus_match_signal_async(Disconnected)");
        disconnect_slot.reset(s);

        check(sd_bus_attach_event(b, loop.raw(), SD_EVENT_PRIORITY_NORMAL), "sd_bus_attach_event");

        sd_event_source* e = nullptr;
        check(sd_event_add_defer(loop.raw(), &e, &Impl::on_emit, this), "sd_event_add_defer");
        emit_source.reset(e);
        (void)sd_event_source_set_enabled(e, SD_EVENT_OFF);
        (void)sd_event_source_set_description(e, "bus-emit-changes");

        check(sd_bus_request_name_async(b, &s, kBusName, 0, &Impl::on_name_reply, this),
              "sd_bus_request_name_async");
        name_slot.reset(s);
    }

    // Appends one vtable entry per row of `table`; `snapshot` finds the Status in the userdata.
    template <auto table, auto snapshot>
    static void add_properties(std::vector<sd_bus_vtable>& vtable) {
        for (const auto& p : table().rows())
            vtable.push_back(SD_BUS_PROPERTY(p.name, p.signature, (&get_property<table, snapshot>), 0,
                                             SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE));
    }

    void build_modem_vtable() {
        modem_vtable.push_back(SD_BUS_VTABLE_START(0));
        add_properties<&modem_properties, &Impl::modem_snapshot>(modem_vtable);
        // No SD_BUS_VTABLE_UNPRIVILEGED: sd-bus then grants the call only to senders with our
        // uid (root) before the handler runs, a second check behind the bus policy.
        modem_vtable.push_back(SD_BUS_METHOD("Reset", "", "", &Impl::method_reset, 0));
        modem_vtable.push_back(SD_BUS_VTABLE_END);
    }

    void build_cloud_vtable() {
        cloud_vtable.push_back(SD_BUS_VTABLE_START(0));
        add_properties<&cloud_properties, &CloudObject::session_snapshot>(cloud_vtable);
        add_properties<&delivery_properties, &CloudObject::delivery_snapshot>(cloud_vtable);
        // Privileged like Reset(): see there.
        cloud_vtable.push_back(SD_BUS_METHOD("Reconnect", "", "", &Impl::method_reconnect, 0));
        cloud_vtable.push_back(SD_BUS_METHOD_WITH_ARGS("Publish", SD_BUS_ARGS("s", topic, "ay", payload, "y", qos),
                                                       SD_BUS_RESULT("t", id), &Impl::method_publish, 0));
        cloud_vtable.push_back(SD_BUS_VTABLE_END);
    }

    // One exported session. The vtable's userdata, so it must not move: held by unique_ptr.
    struct CloudObject {
        std::string path;
        std::function<void()> reconnect;
        PublishHandler publish;
        cloud::SessionStatus current, emitted;
        bridge::DeliveryStatus delivery, delivery_emitted;
        uint64_t counters_emitted_usec = 0;  // CLOCK_MONOTONIC
        bool dirty = false;  // set since the last comparison with what was emitted
        SdBusSlotPtr slot;

        static const cloud::SessionStatus& session_snapshot(void* userdata) {
            return static_cast<CloudObject*>(userdata)->current;
        }
        static const bridge::DeliveryStatus& delivery_snapshot(void* userdata) {
            return static_cast<CloudObject*>(userdata)->delivery;
        }
    };

    static const modem::ModemStatus& modem_snapshot(void* userdata) {
        return static_cast<Impl*>(userdata)->modem_current;
    }

    size_t add_session(std::string_view name, std::function<void()> reconnect, PublishHandler publish) {
        auto obj = std::make_unique<CloudObject>();
        obj->path = cloud_object_path(name);
        obj->reconnect = std::move(reconnect);
        obj->publish = std::move(publish);
        obj->current.name = std::string(name);
        obj->emitted = obj->current;
        sd_bus_slot* s = nullptr;
        check(sd_bus_add_object_vtable(bus.get(), &s, obj->path.c_str(), kCloudSessionInterface,
                                       cloud_vtable.data(), obj.get()),
              "sd_bus_add_object_vtable(CloudSession)");
        obj->slot.reset(s);
        clouds.push_back(std::move(obj));
        return clouds.size() - 1;
    }

    void schedule_emit() { (void)sd_event_source_set_enabled(emit_source.get(), SD_EVENT_ONESHOT); }

    static int get_version(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                           void*, sd_bus_error* error) {
        return bus_guarded("Version getter", error,
                           [&] { return sd_bus_message_append_basic(reply, 's', kVersion); });
    }

    static int get_gateway_state(sd_bus*, const char*, const char*, const char*,
                                 sd_bus_message* reply, void* userdata, sd_bus_error* error) {
        auto* self = static_cast<Impl*>(userdata);
        return bus_guarded("State getter", error, [&] {
            return sd_bus_message_append_basic(reply, 's', self->gateway.state.c_str());
        });
    }

    static int get_gateway_reason(sd_bus*, const char*, const char*, const char*,
                                  sd_bus_message* reply, void* userdata, sd_bus_error* error) {
        auto* self = static_cast<Impl*>(userdata);
        return bus_guarded("StateReason getter", error, [&] {
            return sd_bus_message_append_basic(reply, 's', self->gateway.reason.c_str());
        });
    }

    // The getter of every table's properties (see add_properties()).
    template <auto table, auto snapshot>
    static int get_property(sd_bus*, const char*, const char* interface, const char* property,
                            sd_bus_message* reply, void* userdata, sd_bus_error* error) {
        return bus_guarded(interface, error, [&] {
            const auto* p = table().find(property);
            if (!p) return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "no property %s", property);
            return append_value(reply, p->get(snapshot(userdata)));
        });
    }

    // Answered from the outbox's commit, possibly long after this handler returned: the call
    // message is kept referenced until then.
    static int method_publish(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        auto* obj = static_cast<CloudObject*>(userdata);
        return bus_guarded("Publish()", error, [&] {
            const char* sender = sd_bus_message_get_sender(m);
            const std::string& name = obj->current.name;
            if (!caller_is_root(m)) {
                log::warning("bus: Publish() to cloud ", name, " from ", sender ? sender : "?",
                             " refused: caller is not root");
                return sd_bus_error_set_const(error, SD_BUS_ERROR_ACCESS_DENIED, "Publish() is restricted to root");
            }
            const char* topic = nullptr;
            int r = sd_bus_message_read_basic(m, 's', &topic);
            if (r < 0) return r;
            const void* data = nullptr;
            size_t size = 0;
            r = sd_bus_message_read_array(m, 'y', &data, &size);
            if (r < 0) return r;
            uint8_t qos = 0;
            r = sd_bus_message_read_basic(m, 'y', &qos);
            if (r < 0) return r;
            if (!obj->publish)
                return sd_bus_error_set_const(error, kErrorNoOutbox,
                                              "no outbox: the config has no routes, downlink or outbox section");
            std::shared_ptr<sd_bus_message> call(sd_bus_message_ref(m), &sd_bus_message_unref);
            std::string payload(static_cast<const char*>(data), size);
            obj->publish(topic, std::move(payload), qos, [call](const PublishOutcome& outcome) {
                int rr = outcome.error_name.empty()
                             ? sd_bus_reply_method_return(call.get(), "t", outcome.id)
                             : sd_bus_reply_method_errorf(call.get(), outcome.error_name.c_str(), "%s",
                                                          outcome.message.c_str());
                if (rr < 0) log::debug("bus: Publish() reply failed: ", -rr);
            });
            return 1;
        });
    }

    static int method_reconnect(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        auto* obj = static_cast<CloudObject*>(userdata);
        return bus_guarded("Reconnect()", error, [&] {
            const char* sender = sd_bus_message_get_sender(m);
            const std::string& name = obj->current.name;
            if (!caller_is_root(m)) {
                log::warning("bus: Reconnect() of cloud ", name, " from ", sender ? sender : "?",
                             " refused: caller is not root");
                return sd_bus_error_set_const(error, SD_BUS_ERROR_ACCESS_DENIED,
                                              "Reconnect() is restricted to root");
            }
            log::notice("bus: Reconnect() of cloud ", name, " requested by ", sender ? sender : "?");
            if (obj->reconnect) obj->reconnect();
            return sd_bus_reply_method_return(m, "");
        });
    }

    static int method_reset(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        auto* self = static_cast<Impl*>(userdata);
        return bus_guarded("Reset()", error, [&] {
            const char* sender = sd_bus_message_get_sender(m);
            if (!caller_is_root(m)) {
                log::warning("bus: Reset() from ", sender ? sender : "?", " refused: caller is not root");
                return sd_bus_error_set_const(error, SD_BUS_ERROR_ACCESS_DENIED,
                                              "Reset() is restricted to root");
            }
            if (!self->handlers.reset_modem)
                return sd_bus_error_set_const(error, kErrorNoModem, "no modem is configured");
            log::notice("bus: Reset() requested by ", sender ? sender : "?");
            self->handlers.reset_modem();
            return sd_bus_reply_method_return(m, "");
        });
    }

    static int on_name_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<Impl*>(userdata);
        return guarded("RequestName reply", [&] {
            if (sd_bus_message_is_method_error(m, nullptr)) {
                const sd_bus_error* e = sd_bus_message_get_error(m);
                self->fail(std::string("cannot own ") + kBusName + ": " +
                           (e && e->message ? e->message : "error"));
                return;
            }
            uint32_t result = 0;
            if (sd_bus_message_read(m, "u", &result) < 0 ||
                (result != kPrimaryOwner && result != kAlreadyOwner)) {
                self->fail(std::string(kBusName) + " is already owned by another process");
                return;
            }
            log::info("bus: acquired ", kBusName);
            if (self->handlers.name_acquired) self->handlers.name_acquired();
        });
    }

    static int on_disconnected(sd_bus_message*, void* userdata, sd_bus_error*) {
        auto* self = static_cast<Impl*>(userdata);
        return guarded("bus disconnect", [&] { self->fail("connection to the system bus lost"); });
    }

    void fail(const std::string& reason) {
        if (handlers.failed) handlers.failed(reason);
    }

    static int on_emit(sd_event_source*, void* userdata) {
        auto* self = static_cast<Impl*>(userdata);
        return guarded("PropertiesChanged", [&] { self->emit_changes(); });
    }

    void emit_changes() {
        // Clients that connect later read current values, so a change made while the bus was not
        // yet up needs no signal; just mark it published.
        const bool ready = sd_bus_is_ready(bus.get()) > 0;
        std::vector<const char*> gateway_names;
        if (gateway.state != gateway_emitted.state) gateway_names.push_back("State");
        if (gateway.reason != gateway_emitted.reason) gateway_names.push_back("StateReason");
        gateway_emitted = gateway;
        if (ready) emit(kGatewayPath, kGatewayInterface, std::move(gateway_names));
        // Comparing and copying every property is not free, and most wakeups are a session's counters.
        if (std::exchange(modem_dirty, false)) {
            auto names = modem_properties().changed(modem_emitted, modem_current);
            modem_emitted = modem_current;
            if (ready) emit(kModemPath, kModemInterface, std::move(names));
        }
        uint64_t now = 0;
        (void)sd_event_now(sd_bus_get_event(bus.get()), CLOCK_MONOTONIC, &now);
        uint64_t next_flush = UINT64_MAX;
        for (auto& obj : clouds) {
            if (!obj || !obj->dirty) continue;  // removed by a reload, or nothing new
            auto changed = cloud_properties().changed(obj->emitted, obj->current);
            for (const char* n : delivery_properties().changed(obj->delivery_emitted, obj->delivery))
                changed.push_back(n);
            if (changed.empty()) {
                obj->dirty = false;
                continue;
            }
            // Counters alone wait out their interval (one signal then carries their latest values);
            // any other change goes now and takes the counters along.
            const bool only_counters = std::all_of(changed.begin(), changed.end(), is_counter_property);
            if (only_counters && now < obj->counters_emitted_usec + kCounterIntervalUsec) {
                next_flush = std::min(next_flush, obj->counters_emitted_usec + kCounterIntervalUsec);
                continue;
            }
            obj->emitted = obj->current;
            obj->delivery_emitted = obj->delivery;
            obj->dirty = false;
            if (std::any_of(changed.begin(), changed.end(), is_counter_property)) obj->counters_emitted_usec = now;
            if (ready) emit(obj->path.c_str(), kCloudSessionInterface, std::move(changed));
        }
        if (next_flush != UINT64_MAX) arm_flush(next_flush);
    }

    // One PropertiesChanged with the current values of `names`; nothing when there are none.
    void emit(const char* path, const char* interface, std::vector<const char*> names) {
        if (names.empty()) return;
        names.push_back(nullptr);
        int r = sd_bus_emit_properties_changed_strv(bus.get(), path, interface, const_cast<char**>(names.data()));
        if (r < 0) log::debug("bus: emitting PropertiesChanged of ", interface, " on ", path, " failed: ", -r);
    }

    // Wakes emit_changes() again for counters held back.
    void arm_flush(uint64_t at_usec) {
        if (!flush_source) {
            sd_event_source* s = nullptr;
            if (sd_event_add_time(sd_bus_get_event(bus.get()), &s, CLOCK_MONOTONIC, at_usec, 10'000,
                                  &Impl::on_flush, this) < 0)
                return;
            flush_source.reset(s);
            (void)sd_event_source_set_description(s, "bus-counter-flush");
            return;
        }
        (void)sd_event_source_set_time(flush_source.get(), at_usec);
        (void)sd_event_source_set_enabled(flush_source.get(), SD_EVENT_ONESHOT);
    }

    static int on_flush(sd_event_source*, uint64_t, void* userdata) {
        auto* self = static_cast<Impl*>(userdata);
        return guarded("PropertiesChanged", [&] { self->emit_changes(); });
    }

    static constexpr uint64_t kCounterIntervalUsec = 250'000;

    static constexpr sd_bus_vtable kGatewayVtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", &Impl::get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", &Impl::get_gateway_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StateReason", "s", &Impl::get_gateway_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
    };

    Handlers handlers;
    struct GatewayValues {
        std::string state = "starting";
        std::string reason;
        bool operator==(const GatewayValues&) const = default;
    };
    GatewayValues gateway, gateway_emitted;
    modem::ModemStatus modem_current, modem_emitted;
    bool modem_dirty = false;

    // Declared so that slots and sources go before the vtable they point into and the bus.
    SdBusPtr bus;
    std::vector<sd_bus_vtable> modem_vtable, cloud_vtable;
    SdBusSlotPtr gateway_slot, modem_slot, disconnect_slot, name_slot;
    std::vector<std::unique_ptr<CloudObject>> clouds;
    SdEventSourcePtr emit_source;
    SdEventSourcePtr flush_source;
};

Bus::Bus(SdEventLoop& loop, Handlers handlers) : impl_(std::make_unique<Impl>(loop, std::move(handlers))) {}

Bus::~Bus() = default;

void Bus::set_gateway_state(std::string_view state, std::string_view reason) {
    auto& g = impl_->gateway;
    if (g.state == state && g.reason == reason) return;
    g.state = state;
    g.reason = reason;
    impl_->schedule_emit();
}

size_t Bus::add_session(std::string_view name, std::function<void()> reconnect, PublishHandler publish) {
    return impl_->add_session(name, std::move(reconnect), std::move(publish));
}

void Bus::remove_session(size_t index) {
    auto& obj = impl_->clouds.at(index);
    if (obj) log::debug("bus: removing ", obj->path);
    obj.reset();
}

void Bus::set_modem_reset(std::function<void()> reset) { impl_->handlers.reset_modem = std::move(reset); }

void Bus::set_delivery_status(size_t index, const bridge::DeliveryStatus& status) {
    auto& obj = impl_->clouds.at(index);
    if (!obj || obj->delivery == status) return;
    obj->delivery = status;
    obj->dirty = true;
    impl_->schedule_emit();
}

void Bus::set_session_status(size_t index, const cloud::SessionStatus& status) {
    auto& obj = impl_->clouds.at(index);
    if (!obj || obj->current == status) return;
    obj->current = status;
    obj->dirty = true;
    impl_->schedule_emit();
}

void Bus::set_modem_status(const modem::ModemStatus& status) {
    if (impl_->modem_current == status) return;
    impl_->modem_current = status;
    impl_->modem_dirty = true;
    impl_->schedule_emit();
}

sd_bus* Bus::connection() const { return impl_->bus.get(); }

}  // namespace cellgate
