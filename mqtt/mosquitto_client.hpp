// The production MqttClient: libmosquitto 2.0 driven by the Scheduler (its socket, loop_read/write,
// loop_misc once a second), tuned for cellular links.
//
// - Name resolution and the TCP connect run on a short-lived worker thread (mosquitto_connect_async
//   resolves with a blocking getaddrinfo), so a resolver that hangs for 30 s never stalls the loop.
//   The worker hands the connection back through an eventfd; a worker the loop gave up on finishes
//   alone and frees what it holds.
// - Dead links: TCP_USER_TIMEOUT and TCP keepalive on the socket, plus our own PINGRESP deadline,
//   so a silently dropped flow is detected within keepalive + 20 s. libmosquitto alone waits for the
//   next keepalive tick after an unanswered PINGREQ (2 x keepalive in total).
// - Exactly one PINGREQ per idle keepalive interval: libmosquitto decides, from whole seconds of
//   CLOCK_MONOTONIC, and we tick loop_misc just after each second boundary so ping-to-ping gaps are
//   exactly `keepalive`.
// Every callback runs on the loop thread, never from inside a libmosquitto call.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "mqtt/mqtt_client.hpp"
#include "base/loop.hpp"

namespace cellgate::mqtt {

// Production defaults; tests shorten them to keep the slow paths fast.
struct MosquittoTuning {
    // Unacknowledged data (a PINGREQ on a flow the carrier NAT dropped) errors the socket after this.
    std::chrono::milliseconds tcp_user_timeout{20000};
    // A PINGREQ must be answered within this (catches a broker whose kernel still ACKs, e.g. frozen).
    std::chrono::milliseconds pingresp_timeout{20000};
    // From connect() to CONNACK, capped further by the keepalive.
    std::chrono::milliseconds connect_timeout{30000};
    // Test seam: runs on the connect worker just before libmosquitto resolves `host`
    // (a test makes it hang like a dead DNS server).
    std::function<void(const std::string& host)> before_resolve;
};

class MosquittoClient final : public MqttClient {
public:
    // `log_prefix` names the session in debug logs.
    MosquittoClient(Scheduler& sched, std::string log_prefix, MosquittoTuning tuning = {});
    // Returns at once, even while a connect worker is still blocked in the resolver.
    ~MosquittoClient() override;
    MosquittoClient(const MosquittoClient&) = delete;
    MosquittoClient& operator=(const MosquittoClient&) = delete;

    // A new connect() while connecting or connected drops the old attempt silently first.
    void connect(const ConnectParams& params) override;
    void disconnect() override;
    // Both return -1 unless CONNACK has been accepted.
    int publish(const std::string& topic, const std::string& payload, int qos, bool retain) override;
    int subscribe(const std::string& topic, int qos) override;
    int unsubscribe(const std::string& topic) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::unique_ptr<MqttClient> make_mosquitto_client(Scheduler& sched, std::string log_prefix);
std::unique_ptr<MqttClient> make_mosquitto_client(Scheduler& sched, std::string log_prefix, MosquittoTuning tuning);

}  // namespace cellgate::mqtt
