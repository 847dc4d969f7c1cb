// The MqttClient for a module on a UART with no network interface of its own: the module's MQTT
// client does the TCP, the CONNECT and the PINGREQs, driven over the modem's AT channel in the
// module's command set (dialect.hpp). The session above sees the same interface as libmosquitto.
//
// - One step in flight per client, and each step's outcome is its URC, not the OK: the next step
//   waits for it, with its own timeout.
// - Publishes are queued and sent one at a time (the sets have no window), each returning its
//   message id at once and reporting on_published when the module says it went (PUBACK for QoS 1).
// - Keepalive: given to the module at connect; it pings (on_ping_sent never fires, nobody here sees
//   the PINGREQ). A dead link is noticed through the lost-link URCs and, since a UART can lose a
//   URC, a status query once per keepalive: an answer "down", or none within status_deadline, ends
//   the connection (so within keepalive + status_deadline).
// - Every connect first closes whatever the module still holds for this client index (a daemon
//   killed mid-session leaves it open), then configures from scratch (the settings are volatile).
// - A module restart (on_reset) ends the connection; nothing here ever resets the module.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/loop.hpp"
#include "mqtt/module/module_at.hpp"
#include "mqtt/mqtt_client.hpp"

namespace cellgate::mqtt {

struct ModuleOptions {
    // Which of the module's clients this session drives (Quectel has 6, SIMCom 2, Luat 1).
    int client_index = 0;
    // Send the set's URC-routing command (AT+QURCCFG="urcport", AT+CATR) once per port opening:
    // only for a module on a UART, where a USB-defaulted URC port would hide every outcome.
    bool route_urcs = false;
    // An unanswered status query ends the connection after this.
    std::chrono::milliseconds status_deadline{15000};
    std::string log_prefix;
};

class ModuleClient final : public MqttClient {
public:
    ModuleClient(Scheduler& sched, std::unique_ptr<ModuleAt> at, ModuleOptions options);
    ~ModuleClient() override;
    ModuleClient(const ModuleClient&) = delete;
    ModuleClient& operator=(const ModuleClient&) = delete;

    void connect(const ConnectParams& params) override;
    void disconnect() override;
    // -1 unless connected, or when the module cannot carry it (over its topic or payload limit, a
    // quote in a quoted topic): the same refusal the host transport gives.
    int publish(const std::string& topic, const std::string& payload, int qos, bool retain) override;
    int subscribe(const std::string& topic, int qos) override;
    int unsubscribe(const std::string& topic) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate::mqtt
