#include "ctl/gateway_client.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

namespace cellgate::ctl {

namespace {

struct MessageUnref {
    void operator()(sd_bus_message* m) const noexcept { sd_bus_message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

struct ErrorFree {
    void operator()(sd_bus_error* e) const noexcept { sd_bus_error_free(e); }
};

void check(int r, const char* what) {
    if (r < 0) throw CtlError(kFailed, std::string(what) + ": " + std::strerror(-r));
}

// The error reply as a script should see it.
CtlError reply_error(const sd_bus_error& e, const std::string& path) {
    const std::string name = e.name ? e.name : "";
    const std::string message = e.message ? e.message : name;
    if (name == SD_BUS_ERROR_SERVICE_UNKNOWN || name == SD_BUS_ERROR_NAME_HAS_NO_OWNER ||
        name == SD_BUS_ERROR_NO_REPLY || name == SD_BUS_ERROR_DISCONNECTED)
        return CtlError(kNotRunning, "cellgated is not running (" + message + ")");
    if (name == SD_BUS_ERROR_UNKNOWN_OBJECT) return CtlError(kNoSession, "no such object " + path);
    if (name == SD_BUS_ERROR_ACCESS_DENIED)
        return CtlError(kFailed, "permission denied: " + message + " (methods are for root)");
    // The API's own errors (org.cellgate.Gateway1.Error.NotConnected, ...): the short name says it.
    const auto dot = name.rfind('.');
    return CtlError(kFailed, (dot == std::string::npos ? name : name.substr(dot + 1)) + ": " + message);
}

}  // namespace

const Value* find(const Properties& props, std::string_view name) {
    const auto it = std::find_if(props.begin(), props.end(), [&](const auto& p) { return p.first == name; });
    return it == props.end() ? nullptr : &it->second;
}

std::string text(const Properties& props, std::string_view name) {
    const Value* v = find(props, name);
    const auto* s = v ? std::get_if<std::string>(v) : nullptr;
    return s ? *s : std::string();
}

uint64_t number(const Properties& props, std::string_view name) {
    const Value* v = find(props, name);
    const auto* n = v ? std::get_if<uint64_t>(v) : nullptr;
    return n ? *n : 0;
}

int64_t signed_number(const Properties& props, std::string_view name) {
    const Value* v = find(props, name);
    const auto* n = v ? std::get_if<int64_t>(v) : nullptr;
    return n ? *n : 0;
}

int read_properties(sd_bus_message* m, Properties& props) {
    int r = sd_bus_message_enter_container(m, 'a', "{sv}");
    if (r < 0) return r;
    while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
        const char* name = nullptr;
        if ((r = sd_bus_message_read_basic(m, 's', &name)) < 0) return r;
        char type = 0;
        const char* contents = nullptr;
        if ((r = sd_bus_message_peek_type(m, &type, &contents)) < 0) return r;
        if ((r = sd_bus_message_enter_container(m, 'v', contents)) < 0) return r;
        Value value;
        if (std::strcmp(contents, "s") == 0) {
            const char* s = nullptr;
            r = sd_bus_message_read_basic(m, 's', &s);
            value = std::string(s ? s : "");
        } else if (std::strcmp(contents, "u") == 0) {
            uint32_t u = 0;
            r = sd_bus_message_read_basic(m, 'u', &u);
            value = uint64_t{u};
        } else if (std::strcmp(contents, "t") == 0) {
            uint64_t t = 0;
            r = sd_bus_message_read_basic(m, 't', &t);
            value = t;
        } else if (std::strcmp(contents, "i") == 0) {
            int32_t i = 0;
            r = sd_bus_message_read_basic(m, 'i', &i);
            value = int64_t{i};
        } else {
            // A type a later API may add: skipped, not fatal.
            r = sd_bus_message_skip(m, contents);
            if (r >= 0) r = sd_bus_message_exit_container(m);
            if (r >= 0) r = sd_bus_message_exit_container(m);
            if (r < 0) return r;
            continue;
        }
        if (r < 0) return r;
        if ((r = sd_bus_message_exit_container(m)) < 0) return r;  // v
        if ((r = sd_bus_message_exit_container(m)) < 0) return r;  // e
        props.emplace_back(name, std::move(value));
    }
    if (r < 0) return r;
    return sd_bus_message_exit_container(m);
}

std::string session_path(const std::string& name) {
    char* raw = nullptr;
    check(sd_bus_path_encode(kCloudPath, name.c_str(), &raw), "sd_bus_path_encode");
    std::string path(raw);
    free(raw);
    return path;
}

GatewayClient::GatewayClient() {
    sd_bus* raw_bus = nullptr;
    int r = sd_bus_open_system(&raw_bus);
    if (r < 0) throw CtlError(kNotRunning, std::string("cannot reach the system bus: ") + std::strerror(-r));
    // Owned here until the daemon is known to run: a constructor that throws runs no destructor.
    struct BusClose {
        void operator()(sd_bus* b) const noexcept { sd_bus_flush_close_unref(b); }
    };
    std::unique_ptr<sd_bus, BusClose> opened(raw_bus);
    bus_ = raw_bus;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    std::unique_ptr<sd_bus_error, ErrorFree> guard(&error);
    sd_bus_message* reply = nullptr;
    r = sd_bus_call_method(bus_, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                           "NameHasOwner", &error, &reply, "s", kService);
    MessagePtr owned(reply);
    int has = 0;
    if (r < 0 || sd_bus_message_read(reply, "b", &has) < 0)
        throw CtlError(kNotRunning, std::string("cannot ask the system bus about ") + kService + ": " +
                                        (error.message ? error.message : std::strerror(-r)));
    if (!has) throw CtlError(kNotRunning, std::string("cellgated is not running (nobody owns ") + kService + ")");
    (void)opened.release();  // the destructor closes it from here on
}

GatewayClient::~GatewayClient() { sd_bus_flush_close_unref(bus_); }

sd_bus_message* GatewayClient::call(const std::string& path, const char* interface, const char* member,
                                    const std::function<int(sd_bus_message*)>& append) {
    sd_bus_message* raw = nullptr;
    check(sd_bus_message_new_method_call(bus_, &raw, kService, path.c_str(), interface, member), member);
    MessagePtr m(raw);
    if (append) check(append(m.get()), member);
    sd_bus_error error = SD_BUS_ERROR_NULL;
    std::unique_ptr<sd_bus_error, ErrorFree> guard(&error);
    sd_bus_message* reply = nullptr;
    // The daemon answers Publish() once the message is on disk: allow for a slow SD card.
    if (sd_bus_call(bus_, m.get(), 30'000'000, &error, &reply) < 0) throw reply_error(error, path);
    return reply;
}

Properties GatewayClient::get_all(const std::string& path, const char* interface) {
    MessagePtr reply(call(path, "org.freedesktop.DBus.Properties", "GetAll",
                          [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", interface); }));
    Properties props;
    check(read_properties(reply.get(), props), "reading the properties");
    return props;
}

std::vector<SessionObject> GatewayClient::sessions() {
    MessagePtr reply(call(kCloudPath, "org.freedesktop.DBus.Introspectable", "Introspect"));
    const char* xml = nullptr;
    check(sd_bus_message_read(reply.get(), "s", &xml), "reading the introspection");
    // Children are listed as <node name="lab_2d2"/>; the element is the escaped session name.
    std::vector<SessionObject> out;
    const std::string_view doc(xml ? xml : "");
    const std::string_view open = "<node name=\"";
    for (size_t at = doc.find(open); at != std::string_view::npos; at = doc.find(open, at)) {
        at += open.size();
        const size_t end = doc.find('"', at);
        if (end == std::string_view::npos) break;
        const std::string path = std::string(kCloudPath) + "/" + std::string(doc.substr(at, end - at));
        char* name = nullptr;
        if (sd_bus_path_decode(path.c_str(), kCloudPath, &name) > 0 && name) {
            out.push_back({name, path});
            free(name);
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

SessionObject GatewayClient::session(const std::string& name) {
    const auto all = sessions();
    for (const auto& s : all)
        if (s.name == name) return s;
    std::string known;
    for (const auto& s : all) known += (known.empty() ? "" : ", ") + s.name;
    throw CtlError(kNoSession, "no cloud session '" + name + "' (" +
                                   (known.empty() ? std::string("none is configured") : "configured: " + known) + ")");
}

void GatewayClient::reset_modem() { sd_bus_message_unref(call(kModemPath, kModemInterface, "Reset")); }

void GatewayClient::reconnect(const SessionObject& s) {
    sd_bus_message_unref(call(s.path, kCloudInterface, "Reconnect"));
}

uint64_t GatewayClient::publish(const SessionObject& s, const std::string& topic, const std::string& payload,
                                uint8_t qos) {
    MessagePtr reply(call(s.path, kCloudInterface, "Publish", [&](sd_bus_message* m) {
        int r = sd_bus_message_append_basic(m, 's', topic.c_str());
        if (r >= 0) r = sd_bus_message_append_array(m, 'y', payload.data(), payload.size());
        if (r >= 0) r = sd_bus_message_append_basic(m, 'y', &qos);
        return r;
    }));
    uint64_t id = 0;
    check(sd_bus_message_read(reply.get(), "t", &id), "reading Publish()'s reply");
    return id;
}

}  // namespace cellgate::ctl
