#include "ctl/watch.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "base/guarded.hpp"
#include "base/wall_clock.hpp"
#include "ctl/render.hpp"

namespace cellgate::ctl {

namespace {

struct SlotUnref {
    void operator()(sd_bus_slot* s) const noexcept { sd_bus_slot_unref(s); }
};
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

struct Watcher {
    GatewayClient& client;
    bool json;
    std::string owner;  // the daemon's unique name: signals from anyone else are ignored

    // "gateway", "modem", "cloud" (+ the session name); "" for a path that is not ours.
    static std::string object_of(const char* path, std::string& session) {
        if (std::strcmp(path, kGatewayPath) == 0) return "gateway";
        if (std::strcmp(path, kModemPath) == 0) return "modem";
        char* name = nullptr;
        if (sd_bus_path_decode(path, kCloudPath, &name) > 0 && name) {
            session = name;
            free(name);
            return "cloud";
        }
        return "";
    }

    void print(const std::string& object, const std::string& session, const Properties& changed) {
        const uint64_t now = wall_us();
        if (json) {
            Json j = {{"time_us", now}, {"object", object}};
            if (!session.empty()) j["session"] = session;
            j["changed"] = to_json(changed);
            std::printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
        } else {
            const std::string label = session.empty() ? object : object + " " + session;
            std::printf("%s\n", change_line(clock(now), label, changed).c_str());
        }
        std::fflush(stdout);
    }

    void print_daemon(bool running) {
        const uint64_t now = wall_us();
        if (json)
            std::printf("%s\n", Json{{"time_us", now}, {"object", "daemon"}, {"running", running}}.dump().c_str());
        else
            std::printf("%s cellgated: %s\n", clock(now).c_str(), running ? "running" : "stopped");
        std::fflush(stdout);
    }

    static std::string clock(uint64_t now_us) {
        const auto t = static_cast<std::time_t>(now_us / 1'000'000);
        std::tm tm{};
        localtime_r(&t, &tm);
        char buf[16];
        std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
        return buf;
    }

    // Where the changes start from: the states, read once.
    void print_current() {
        const auto pick = [](const Properties& all, std::initializer_list<const char*> names) {
            Properties out;
            for (const char* n : names)
                if (const Value* v = find(all, n)) out.emplace_back(n, *v);
            return out;
        };
        print_daemon(true);
        print("gateway", "", pick(client.get_all(kGatewayPath, kGatewayInterface), {"State", "StateReason"}));
        print("modem", "", pick(client.get_all(kModemPath, kModemInterface), {"State", "FailedReason"}));
        for (const auto& s : client.sessions())
            print("cloud", s.name, pick(client.get_all(s.path, kCloudInterface), {"State"}));
    }

    // sd-bus callbacks: base/guarded.hpp keeps exceptions out of the C frames.
    static int on_changed(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<Watcher*>(userdata);
        return guarded("watch: PropertiesChanged", [&] {
            const char* sender = sd_bus_message_get_sender(m);
            if (!sender || self->owner != sender) return;
            std::string session;
            const std::string object = object_of(sd_bus_message_get_path(m), session);
            if (object.empty()) return;
            const char* interface = nullptr;
            Properties changed;
            if (sd_bus_message_read_basic(m, 's', &interface) < 0 || read_properties(m, changed) < 0) return;
            if (!changed.empty()) self->print(object, session, changed);
        });
    }

    static int on_owner(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<Watcher*>(userdata);
        return guarded("watch: NameOwnerChanged", [&] {
            const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
            if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return;
            self->owner = new_owner ? new_owner : "";
            if (self->owner.empty()) self->print_daemon(false);
            else self->print_current();  // a restarted daemon: where its changes start from
        });
    }
};

}  // namespace

int watch(GatewayClient& client, bool json) {
    Watcher w{client, json, {}};
    sd_bus* bus = client.bus();
    sd_bus_slot* raw = nullptr;
    const std::string changes = std::string("type='signal',interface='org.freedesktop.DBus.Properties',"
                                            "member='PropertiesChanged',path_namespace='") + kGatewayPath + "'";
    int r = sd_bus_add_match(bus, &raw, changes.c_str(), &Watcher::on_changed, &w);
    if (r < 0) throw CtlError(kFailed, std::string("cannot follow PropertiesChanged: ") + std::strerror(-r));
    SlotPtr changes_slot(raw);
    const std::string owners = std::string("type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
                                           "arg0='") + kService + "'";
    r = sd_bus_add_match(bus, &raw, owners.c_str(), &Watcher::on_owner, &w);
    if (r < 0) throw CtlError(kFailed, std::string("cannot follow NameOwnerChanged: ") + std::strerror(-r));
    SlotPtr owner_slot(raw);

    // After the matches: a change between the read and the match would otherwise be missed.
    const char* unique = nullptr;
    sd_bus_creds* creds = nullptr;
    if (sd_bus_get_name_creds(bus, kService, SD_BUS_CREDS_UNIQUE_NAME, &creds) < 0 ||
        sd_bus_creds_get_unique_name(creds, &unique) < 0)
        throw CtlError(kNotRunning, "cellgated is not running");
    w.owner = unique;
    sd_bus_creds_unref(creds);
    w.print_current();

    for (;;) {
        r = sd_bus_process(bus, nullptr);
        if (r > 0) continue;
        if (r == 0) r = sd_bus_wait(bus, UINT64_MAX);
        if (r < 0 && r != -EINTR) {
            std::fprintf(stderr, "cellgatectl: the bus connection failed: %s\n", std::strerror(-r));
            return kNotRunning;
        }
    }
}

}  // namespace cellgate::ctl
