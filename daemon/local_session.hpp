// The bridge's connection to the local MQTT broker. It is a cloud::Session on the generic
// platform, not a type of its own, because the local end needs exactly what a cloud connection
// has: connect, subscribe, publish with acknowledgements, back off and reconnect when the broker
// goes away. Only three things differ, all set here: it keeps its broker session (clean_session
// off, so the broker queues for us while we are away), it does not follow the modem's data link
// (loopback is up whatever the modem does), and its keepalive is long.
#pragma once

#include <memory>

#include "base/loop.hpp"
#include "bridge/bridge_config.hpp"
#include "cloud/cloud_config.hpp"

namespace cellgate {

namespace cloud {
class Session;
}

// The name its log lines carry.
inline constexpr const char* kLocalSessionName = "local-broker";

// The session settings the local broker connection uses.
cloud::CloudConfig local_session_config(const bridge::LocalBrokerConfig& local);

// A connection to the local broker over libmosquitto, not yet started.
std::unique_ptr<cloud::Session> make_local_session(Scheduler& sched, const bridge::LocalBrokerConfig& local,
                                                   const cloud::BackoffConfig& backoff);

}  // namespace cellgate
