#include "daemon/local_session.hpp"

#include <chrono>
#include <random>

#include "cloud/session.hpp"
#include "mqtt/mosquitto_client.hpp"

namespace cellgate {

cloud::CloudConfig local_session_config(const bridge::LocalBrokerConfig& local) {
    cloud::CloudConfig c;
    c.name = kLocalSessionName;
    c.platform = cloud::Platform::generic;
    c.endpoint = local.endpoint;
    c.client_id = local.client_id;
    c.username = local.username;
    c.password = local.password;
    // Loopback: no NAT to keep open, and a dead broker is seen at once on the socket.
    c.keepalive = std::chrono::seconds(60);
    return c;
}

std::unique_ptr<cloud::Session> make_local_session(Scheduler& sched, const bridge::LocalBrokerConfig& local,
                                                   const cloud::BackoffConfig& backoff) {
    const cloud::CloudConfig c = local_session_config(local);
    std::random_device entropy;
    auto session = std::make_unique<cloud::Session>(sched, c, backoff, mqtt::make_mosquitto_client(sched, c.name),
                                                    /*link_follows_modem=*/false, entropy());
    session->keep_session(true);
    return session;
}

}  // namespace cellgate
