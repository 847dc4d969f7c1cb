#include "modem/modem.hpp"

#include "base/log.hpp"
#include "modem/at_channel.hpp"
#include "modem/at_parser.hpp"
#include "modem/modem_controller.hpp"
#include "modem/port_locator.hpp"

namespace cellgate::modem {

using namespace std::chrono_literals;

// USB devices re-enumerate within a few seconds of a reset; polling once a second notices the
// return quickly at negligible cost (one stat or one enumeration per second while absent).
constexpr auto kReopenInterval = 1s;

struct Modem::Impl {
    Impl(Scheduler& sched, const ModemConfig& cfg)
        : config(cfg),
          channel(sched, [this](std::string& error) { return open(error); }, kReopenInterval),
          controller(sched, channel, cfg, [this](const std::string& why) { channel.drop(why); }) {}

    std::unique_ptr<SerialPort> open(std::string& error) {
        auto choice = locate_port(config.port, error);
        std::unique_ptr<SerialPort> port;
        if (choice) port = open_serial_port(choice->path, config.baud, error);
        if (!port) {
            // The channel retries every second while the module is away; say so once, not every time.
            if (error != last_error) log::warning("modem: cannot open ", config.port, ": ", error, " (will keep trying)");
            last_error = error;
            controller.port_unavailable(error, config.port == "auto");
            return nullptr;
        }
        last_error.clear();
        log::info("modem: opened ", choice->path, choice->description.empty() ? "" : " — ", choice->description);
        controller.set_usb_vendor(choice->vendor);
        controller.set_port_name(config.port == "auto" ? choice->path : config.port);
        return port;
    }

    ModemConfig config;
    std::string last_error;
    AtChannel channel;
    ModemController controller;
};

Modem::Modem(Scheduler& sched, const ModemConfig& config) : impl_(std::make_unique<Impl>(sched, config)) {
    impl_->controller.on_change = [this](const ModemStatus& s) {
        if (on_change) on_change(s);
    };
    // The controller installed its handlers on the channel; others are told first.
    auto& ch = impl_->channel;
    ch.on_urc = [this, to_controller = std::move(ch.on_urc)](const std::string& line) {
        if (on_urc_first && on_urc_first(line)) return;
        if (classify_urc(line) == UrcKind::boot && on_module_restart) on_module_restart(line);
        to_controller(line);
    };
    ch.on_lost = [this, to_controller = std::move(ch.on_lost)](const std::string& why) {
        if (on_module_restart) on_module_restart("port lost: " + why);
        to_controller(why);
    };
}

Modem::~Modem() = default;

void Modem::start() {
    impl_->controller.start();
    impl_->channel.start();
}

void Modem::reset() { impl_->controller.reset(); }

AtChannel& Modem::at_channel() { return impl_->channel; }

void Modem::set_netdev_kind(std::function<NetdevKind(const std::string&)> f) {
    impl_->controller.set_netdev_kind(std::move(f));
}

void Modem::data_link_failed(const std::string& why, bool permanent) { impl_->controller.data_link_failed(why, permanent); }

const ModemStatus& Modem::status() const { return impl_->controller.status(); }

}  // namespace cellgate::modem
