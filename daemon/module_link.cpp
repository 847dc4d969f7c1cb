#include "daemon/module_link.hpp"

#include <algorithm>
#include <array>

#include "base/guarded.hpp"
#include "base/lifetime.hpp"
#include "modem/at_channel.hpp"
#include "modem/modem.hpp"
#include "mqtt/module/dialect.hpp"

namespace cellgate {

bool is_uart_port(std::string_view port) {
    static constexpr std::array kUarts = {"/dev/ttyAMA", "/dev/ttyS", "/dev/serial0", "/dev/serial1",
                                          "/dev/ttyTHS", "/dev/ttymxc", "/dev/ttySC"};
    return std::any_of(kUarts.begin(), kUarts.end(), [&](std::string_view u) { return port.starts_with(u); });
}

namespace {

mqtt::AtReply to_reply(const modem::AtResult& r) {
    using modem::AtStatus;
    mqtt::AtReply out;
    out.lines = r.lines;
    switch (r.status) {
        case AtStatus::ok: out.status = mqtt::AtReply::Status::ok; break;
        case AtStatus::timeout: out.status = mqtt::AtReply::Status::timeout; break;
        case AtStatus::port_closed: out.status = mqtt::AtReply::Status::closed; break;
        default:
            out.status = mqtt::AtReply::Status::error;
            out.error = r.error_text.empty() ? to_string(r.status) : r.error_text;
            if (r.status == AtStatus::cme_error) out.error = "+CME ERROR: " + out.error;
    }
    return out;
}

}  // namespace

class ModuleLink::LinkPort final : public mqtt::ModuleAt {
public:
    LinkPort(ModuleLink& link, int index) : link_(link), index_(index) { link_.ports_.push_back(this); }
    ~LinkPort() override { std::erase(link_.ports_, this); }

    void send(std::string command, std::chrono::milliseconds timeout, mqtt::AtDone done) override {
        if (!link_.modem_) return closed(std::move(done));
        link_.modem_->at_channel().send(std::move(command), timeout, adapt(std::move(done)));
    }

    void send_data(std::string command, std::string data, std::chrono::milliseconds timeout,
                   mqtt::AtDone done) override {
        if (!link_.modem_) return closed(std::move(done));
        link_.modem_->at_channel().send_data(std::move(command), std::move(data), timeout, adapt(std::move(done)));
    }

    std::string vendor() const override { return link_.modem_ ? link_.modem_->status().vendor : std::string(); }

    int index() const { return index_; }
    Lifetime life;

private:
    static modem::AtCallback adapt(mqtt::AtDone done) {
        return [done = std::move(done)](const modem::AtResult& r) {
            guarded("module MQTT: AT reply", [&] { done(to_reply(r)); });
        };
    }

    void closed(mqtt::AtDone done) {
        link_.sched_.defer([done = std::move(done)] {
            guarded("module MQTT: AT reply", [&] { done(mqtt::AtReply{mqtt::AtReply::Status::closed, "no modem", {}}); });
        });
    }

    ModuleLink& link_;
    const int index_;
};

ModuleLink::ModuleLink(Scheduler& sched) : sched_(sched) {}

ModuleLink::~ModuleLink() { attach(nullptr); }

void ModuleLink::attach(modem::Modem* modem) {
    if (modem_) {
        modem_->on_urc_first = nullptr;
        modem_->on_module_restart = nullptr;
        modem_->at_channel().set_raw_framer(nullptr);
        restart("modem replaced");
    }
    modem_ = modem;
    if (!modem_) return;
    modem_->on_urc_first = [this](const std::string& line) { return dispatch(line); };
    modem_->on_module_restart = [this](const std::string& why) { restart(why); };
    modem_->at_channel().set_raw_framer(mqtt::downlink_raw_length);
}

ModuleLink::Port ModuleLink::make_port() {
    int index = 0;
    while (std::any_of(ports_.begin(), ports_.end(), [&](const LinkPort* p) { return p->index() == index; })) ++index;
    auto port = std::make_unique<LinkPort>(*this, index);
    return Port{std::move(port), index};
}

// Each client takes what names it; a port may be destroyed by what another one's handler does.
bool ModuleLink::dispatch(const std::string& line) {
    if (ports_.empty() || !mqtt::is_module_mqtt_urc(line)) return false;
    std::vector<std::pair<LinkPort*, Lifetime::Token>> targets;
    for (auto* p : ports_) targets.emplace_back(p, p->life.token());
    for (auto& [p, alive] : targets)
        if (alive && p->on_urc) guarded("module MQTT: URC", [&] { p->on_urc(line); });
    // The bearer loss is the modem's news too.
    return !line.starts_with("+PDP DEACT");
}

void ModuleLink::restart(const std::string& why) {
    std::vector<std::pair<LinkPort*, Lifetime::Token>> targets;
    for (auto* p : ports_) targets.emplace_back(p, p->life.token());
    for (auto& [p, alive] : targets)
        if (alive && p->on_reset) guarded("module MQTT: restart", [&] { p->on_reset(why); });
}

}  // namespace cellgate
