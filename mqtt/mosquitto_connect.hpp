// Private to MosquittoClient: RAII over libmosquitto handles, the connect worker, socket tuning for
// cellular links, and the wording of failures. Nothing here touches the event loop.
#pragma once

#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/unique_fd.hpp"
#include "mqtt/mqtt_client.hpp"

namespace cellgate::mqtt::detail {

struct MosqDeleter {
    void operator()(mosquitto* m) const noexcept { mosquitto_destroy(m); }
};
using MosqPtr = std::unique_ptr<mosquitto, MosqDeleter>;

// Calls mosquitto_lib_init() once per process.
void ensure_lib_init();

// A fresh handle set up for one attempt (MQTT 3.1.1, credentials, TLS); nullptr and `error` set
// when libmosquitto refuses the parameters. `error` never contains the password.
MosqPtr make_handle(const ConnectParams& p, std::string& error);

// One mosquitto_connect_async (blocking name resolution + non-blocking TCP connect) on a detached
// worker thread. Loop and worker share the job; whoever lets go last frees the handle and the
// eventfd, so the loop may walk away from a worker stuck in getaddrinfo.
struct ConnectJob {
    ConnectJob();
    ~ConnectJob();
    ConnectJob(const ConnectJob&) = delete;
    ConnectJob& operator=(const ConnectJob&) = delete;

    MosqPtr mosq;        // the worker's until `finished`, then the loop's to take
    UniqueFd done_fd;    // eventfd, readable once `finished`
    std::string host;     // what to connect to: the name, or the address resolved for it
    std::string bind_address;
    int port = 0;
    int keepalive = 0;
    std::function<void(const std::string&)> before_resolve;
    std::atomic<bool> abandoned{false};  // set by the loop: skip the connect, just clean up
    std::atomic<bool> finished{false};
    int rc = MOSQ_ERR_UNKNOWN;  // result of mosquitto_connect_async, valid once finished
    int err = 0;                // errno after it (the getaddrinfo code for MOSQ_ERR_EAI)
    std::string lib_error;      // libmosquitto's last error log line on the worker (a TLS failure)
};

// Jobs not yet freed. A worker may outlive its client (the loop walks away from it); a test that
// exits while one still holds its TLS session would have it reported as leaked.
int connect_jobs_alive();

// Throws std::system_error when no eventfd or thread can be had. Until the loop takes the handle
// back, its user data is the job and only a log callback (recording `lib_error`) is set.
std::shared_ptr<ConnectJob> start_connect_job(MosqPtr mosq, const ConnectParams& p,
                                              std::function<void(const std::string&)> before_resolve);

// TCP_USER_TIMEOUT, and TCP keepalive probes that only start once the MQTT ping is overdue.
// Returns 0 or the errno of the first option the kernel refused.
int tune_socket(int fd, std::chrono::milliseconds user_timeout, std::chrono::seconds keepalive);

// The pending error of a socket (SO_ERROR, which reading clears), or 0.
int take_socket_error(int fd);

// Why an attempt failed before CONNACK: transport failure (rc = MOSQ_ERR_*, err = errno) ->
// negative errno for on_connect_failed and the text. `lib_error` is libmosquitto's last error log
// line (OpenSSL's reason on a TLS failure), may be empty.
struct Failure {
    int code;
    std::string reason;
};
Failure connect_failure(int rc, int err, const std::string& host, int port, const std::string& lib_error);

// Why an established connection ended.
std::string link_loss_reason(int rc, int err, std::chrono::milliseconds user_timeout,
                             const std::string& lib_error);

}  // namespace cellgate::mqtt::detail
