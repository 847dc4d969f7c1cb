// cellgated: parse the command line, load the config, run the Gateway.
#include <getopt.h>
#include <signal.h>
#include <sysexits.h>

#include <cstdio>
#include <exception>
#include <string>

#include "daemon/config.hpp"
#include "daemon/gateway.hpp"
#include "base/log.hpp"
#include "version.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/cellgate/cellgate.yaml";

void usage(std::FILE* out) {
    std::fprintf(out,
                 "Usage: cellgated [--config PATH] [--check-config] [--version] [--help]\n"
                 "\n"
                 "Cellular IoT gateway daemon.\n"
                 "\n"
                 "  -c, --config PATH   configuration file (default %s)\n"
                 "      --check-config  validate the configuration, print every error, and exit\n"
                 "      --version       print the version and exit\n"
                 "  -h, --help          print this help and exit\n"
                 "\n"
                 "Exit status: 0 on success or clean SIGTERM, %d on a configuration error,\n"
                 "%d on a usage error, %d when the outbox cannot be created or opened,\n"
                 "1 on any other failure.\n",
                 kDefaultConfig, EX_CONFIG, EX_USAGE, EX_CANTCREAT);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace cellgate;

    enum { kCheckConfig = 256, kVersionOpt };
    static const option kOptions[] = {
        {"config", required_argument, nullptr, 'c'},
        {"check-config", no_argument, nullptr, kCheckConfig},
        {"version", no_argument, nullptr, kVersionOpt},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };

    std::string config_path = kDefaultConfig;
    bool check_only = false;
    for (int c; (c = getopt_long(argc, argv, "c:h", kOptions, nullptr)) != -1;) {
        switch (c) {
            case 'c': config_path = optarg; break;
            case kCheckConfig: check_only = true; break;
            case kVersionOpt: std::printf("cellgated %s\n", kVersion); return 0;
            case 'h': usage(stdout); return 0;
            default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "cellgated: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EX_USAGE;
    }

    ConfigResult loaded = load_config_file(config_path);
    // Plain lines for a human at --check-config, in the compilers' form; journald-prefixed lines
    // at service start.
    for (const auto& w : loaded.warnings) {
        if (check_only) std::fprintf(stderr, "%s\n", w.to_string().c_str());
        else log::warning("config: ", w.to_string());
    }
    if (!loaded.errors.empty() || !loaded.config) {
        for (const auto& e : loaded.errors) {
            if (check_only) std::fprintf(stderr, "%s\n", e.to_string().c_str());
            else log::error("config: ", e.to_string());
        }
        if (loaded.errors.empty()) std::fprintf(stderr, "%s: configuration could not be loaded\n", config_path.c_str());
        return EX_CONFIG;  // 78: systemd's RestartPreventExitStatus= stops the restart loop
    }
    const std::string notice = config_notice(*loaded.config);
    if (check_only) {
        std::printf("%s: configuration OK\n", config_path.c_str());
        if (!notice.empty()) std::printf("%s: notice: %s\n", config_path.c_str(), notice.c_str());
        return 0;
    }

    // A peer that resets a TLS connection makes OpenSSL's write() raise SIGPIPE; the error code is
    // what we handle. (systemd ignores it for services too, but not every way of starting us does.)
    ::signal(SIGPIPE, SIG_IGN);

    const Config& config = *loaded.config;
    log::set_max_level(config.log_level);
    log::info("cellgated ", kVersion, " starting (config ", config_path, ")");
    if (!notice.empty()) log::notice("config: ", notice);
    try {
        Gateway gateway(config);
        int r = gateway.run();
        log::info("cellgated stopped", r == 0 ? "" : " with errors");
        return r;
    } catch (const StartupError& e) {
        log::error("fatal: ", e.what());
        return e.exit_status();
    } catch (const std::exception& e) {
        log::error("fatal: ", e.what());
        return 1;
    }
}
