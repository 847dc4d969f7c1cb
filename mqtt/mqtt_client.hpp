// The MQTT transport as a session sees it: connect, publish, subscribe, and events back. It knows
// no platform; the session hands it finished credentials. Production: libmosquitto driven by the
// event loop (mosquitto_client.hpp). Tests of the session state machine use a fake.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace cellgate::mqtt {

// Everything the transport needs for one connect attempt. Credentials that carry a timestamp or a
// token are computed afresh for every attempt.
struct ConnectParams {
    std::string host;
    uint16_t port = 1883;
    std::string client_id;
    std::string username;
    std::string password;      // secret
    bool tls = false;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    bool verify_server = true;
    std::chrono::seconds keepalive{120};
    bool clean_session = true;
    // The last will: published by the broker when the connection ends without a DISCONNECT
    // (the process died, the link broke). No will when the topic is empty.
    std::string will_topic;
    std::string will_payload;
    int will_qos = 0;
    bool will_retain = false;
    // Pinning to one uplink (the modem's): the socket's source address, and the broker's address
    // resolved by the caller with that uplink's DNS. Empty: the host's routing and resolver
    // decide. With connect_address set, `host` is still the name TLS verifies and sends as SNI.
    std::string bind_address;
    std::string connect_address;
};


class MqttClient {
public:
    virtual ~MqttClient() = default;
    // Starts an asynchronous connect; never blocks (name resolution included). Exactly one of
    // on_connected / on_connect_failed / on_disconnected follows.
    virtual void connect(const ConnectParams& params) = 0;
    // Closes the connection (sending DISCONNECT if possible); no callback follows.
    virtual void disconnect() = 0;
    // Returns the message id, or -1 when not connected / refused by the library.
    virtual int publish(const std::string& topic, const std::string& payload, int qos, bool retain) = 0;
    virtual int subscribe(const std::string& topic, int qos) = 0;
    virtual int unsubscribe(const std::string& topic) = 0;

    // CONNACK accepted.
    std::function<void()> on_connected;
    // CONNACK refused (rc 1..5) or transport failure before CONNACK (rc < 0, reason says what).
    std::function<void(int rc, const std::string& reason)> on_connect_failed;
    // An established connection ended (broker closed it, keepalive/TCP timeout, I/O error).
    std::function<void(const std::string& reason)> on_disconnected;
    std::function<void(const std::string& topic, const std::string& payload)> on_message;
    // PUBACK (QoS 1) or sent (QoS 0) for message id `mid`.
    std::function<void(int mid)> on_published;
    // A PINGREQ went out (for the one-per-interval guarantee and its tests).
    std::function<void()> on_ping_sent;
};

}  // namespace cellgate::mqtt
