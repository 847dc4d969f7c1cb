// cellgatectl: the gateway's state for people (mmcli-style tables) and scripts (--json, exit
// statuses), and its few methods, over the D-Bus API only.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "base/wall_clock.hpp"
#include "ctl/gateway_client.hpp"
#include "ctl/render.hpp"
#include "ctl/watch.hpp"
#include "version.hpp"

namespace {

using namespace cellgate::ctl;

void usage(std::FILE* out) {
    std::fprintf(out,
                 "Usage: cellgatectl [--json] COMMAND [ARGS]\n"
                 "\n"
                 "Shows and controls cellgated through its D-Bus API (org.cellgate.Gateway1).\n"
                 "\n"
                 "  status                        the gateway, the modem and every cloud session (default)\n"
                 "  modem                         every property of the modem\n"
                 "  sessions                      every property of every cloud session\n"
                 "  watch                         print each change as cellgated announces it\n"
                 "  publish SESSION TOPIC TEXT|@FILE [--qos N]\n"
                 "                                send a message through the session's outbox (root)\n"
                 "  reconnect SESSION             drop and reopen a cloud connection (root)\n"
                 "  reset                         reset the modem (root)\n"
                 "\n"
                 "  --json       JSON for scripts (watch: one object per line)\n"
                 "  --version    print the version and exit\n"
                 "  -h, --help   print this help and exit\n"
                 "\n"
                 "Exit status: 0 success; 1 cellgated refused or failed the request; 2 usage error;\n"
                 "3 cellgated is not running; 4 no such cloud session; 5 (status) the gateway is\n"
                 "not online.\n");
}

[[noreturn]] void usage_error(const std::string& why) { throw CtlError(kUsage, why + " (see cellgatectl --help)"); }

// TEXT as it is, or the bytes of FILE for @FILE.
std::string payload_of(const std::string& arg) {
    if (!arg.starts_with('@')) return arg;
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) throw CtlError(kUsage, "cannot read " + arg.substr(1) + ": " + std::strerror(errno));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void print(const Json& j) { std::printf("%s\n", j.dump(2, ' ', false, Json::error_handler_t::replace).c_str()); }

std::vector<std::pair<std::string, Properties>> read_sessions(GatewayClient& c) {
    std::vector<std::pair<std::string, Properties>> out;
    for (const auto& s : c.sessions()) out.emplace_back(s.name, c.get_all(s.path, kCloudInterface));
    return out;
}

int run(std::vector<std::string> args) {
    bool json = false;
    int qos = 1;
    std::vector<std::string> words;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--json") json = true;
        else if (a == "-h" || a == "--help") return usage(stdout), kOk;
        else if (a == "--version") return std::printf("cellgatectl %s\n", cellgate::kVersion), kOk;
        else if (a == "--qos" && i + 1 < args.size()) {
            const std::string& v = args[++i];
            if (v != "0" && v != "1" && v != "2") usage_error("--qos takes 0, 1 or 2, got '" + v + "'");
            qos = v[0] - '0';
        } else if (a == "--") {
            words.insert(words.end(), args.begin() + static_cast<long>(i) + 1, args.end());
            break;
        } else if (a.starts_with("-") && a.size() > 1) usage_error("unknown option " + a);
        else words.push_back(a);
    }
    const std::string command = words.empty() ? "status" : words[0];
    const auto want = [&](size_t n, const char* form) {
        if (words.size() != n + 1) usage_error(std::string("usage: cellgatectl ") + form);
    };
    if (command == "status") want(0, "status");
    else if (command == "modem") want(0, "modem");
    else if (command == "sessions") want(0, "sessions");
    else if (command == "watch") want(0, "watch");
    else if (command == "reset") want(0, "reset");
    else if (command == "reconnect") want(1, "reconnect SESSION");
    else if (command == "publish") want(3, "publish SESSION TOPIC TEXT|@FILE [--qos N]");
    else usage_error("unknown command '" + command + "'");
    const std::string payload = command == "publish" ? payload_of(words[3]) : std::string();

    GatewayClient client;
    if (command == "status") {
        Snapshot s{client.get_all(kGatewayPath, kGatewayInterface), client.get_all(kModemPath, kModemInterface),
                   read_sessions(client)};
        if (json) print(to_json(s));
        else std::fputs(render_status(s, cellgate::wall_us()).c_str(), stdout);
        return text(s.gateway, "State") == "online" ? kOk : kNotOnline;
    }
    if (command == "modem") {
        const auto m = client.get_all(kModemPath, kModemInterface);
        if (json) print(to_json(m));
        else std::fputs(render_modem(m).c_str(), stdout);
        return kOk;
    }
    if (command == "sessions") {
        const auto all = read_sessions(client);
        if (json) print(to_json(Snapshot{{}, {}, all})["sessions"]);
        else std::fputs(render_sessions(all, cellgate::wall_us()).c_str(), stdout);
        return kOk;
    }
    if (command == "watch") return watch(client, json);
    if (command == "reset") {
        client.reset_modem();
        if (json) print(Json{{"reset", true}});
        else std::printf("modem reset requested\n");
        return kOk;
    }
    const SessionObject session = client.session(words[1]);
    if (command == "reconnect") {
        client.reconnect(session);
        if (json) print(Json{{"session", session.name}, {"reconnect", true}});
        else std::printf("cloud %s: reconnect requested\n", session.name.c_str());
        return kOk;
    }
    const uint64_t id = client.publish(session, words[2], payload, static_cast<uint8_t>(qos));
    if (json) print(Json{{"session", session.name}, {"id", id}});
    else std::printf("cloud %s: message %llu queued (%zu bytes to %s)\n", session.name.c_str(),
                     static_cast<unsigned long long>(id), payload.size(), words[2].c_str());
    return kOk;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const CtlError& e) {
        std::fprintf(stderr, "cellgatectl: %s\n", e.what());
        return e.exit_status();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cellgatectl: %s\n", e.what());
        return kFailed;
    }
}
