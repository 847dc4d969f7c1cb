#include "mqtt/mosquitto_connect.hpp"

#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "base/duration_text.hpp"

namespace cellgate::mqtt::detail {

void ensure_lib_init() {
    static const int rc = mosquitto_lib_init();
    (void)rc;
}

namespace {

const char* or_null(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

// Debian's system CA directory, used when a TLS entry names no CA of its own.
constexpr const char* kSystemCaPath = "/etc/ssl/certs";

// The broker's name kept on a TLS context, for SNI.
int sni_index() {
    static const int index = SSL_CTX_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* name, CRYPTO_EX_DATA*, int, long, void*) {
            delete static_cast<std::string*>(name);
        });
    return index;
}

// Called before the ClientHello is built: libmosquitto has set SNI to the address it connects
// to, and the broker must see its name instead.
void send_name_as_sni(const SSL* ssl, int where, int) {
    if (!(where & SSL_CB_HANDSHAKE_START)) return;
    const auto* name = static_cast<const std::string*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sni_index()));
    if (name) SSL_set_tlsext_host_name(const_cast<SSL*>(ssl), name->c_str());
}

// When the caller resolved the broker's name itself, libmosquitto connects to an address and
// would check the certificate (and send SNI) for that address. So the TLS context is ours, set
// up as libmosquitto would (CA, client certificate, TLS 1.2 or later, no compression), with
// OpenSSL's own host check against the name in the chain verification, and the name as SNI.
// libmosquitto's defaults stay off: its verify callback could only compare with the address.
// Returns a libmosquitto error code.
int verify_name_not_address(mosquitto* m, const ConnectParams& p) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
    if (!ctx) return MOSQ_ERR_TLS;
    SSL_CTX* c = ctx.get();
    SSL_CTX_set_options(c, SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    const bool ca = p.ca_file.empty() ? SSL_CTX_load_verify_locations(c, nullptr, kSystemCaPath) == 1
                                      : SSL_CTX_load_verify_locations(c, p.ca_file.c_str(), nullptr) == 1;
    if (!ca) return MOSQ_ERR_TLS;
    if (!p.cert_file.empty() &&
        (SSL_CTX_use_certificate_chain_file(c, p.cert_file.c_str()) != 1 ||
         SSL_CTX_use_PrivateKey_file(c, (p.key_file.empty() ? p.cert_file : p.key_file).c_str(), SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(c) != 1))
        return MOSQ_ERR_TLS;
    if (p.verify_server) {
        X509_VERIFY_PARAM* param = SSL_CTX_get0_param(c);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (X509_VERIFY_PARAM_set1_host(param, p.host.c_str(), 0) != 1) return MOSQ_ERR_TLS;
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    }
    SSL_CTX_set_ex_data(c, sni_index(), new std::string(p.host));
    SSL_CTX_set_info_callback(c, &send_name_as_sni);
    int rc = mosquitto_void_option(m, MOSQ_OPT_SSL_CTX, c);  // the handle takes its own reference
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_int_option(m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
    return rc;
}

}  // namespace

MosqPtr make_handle(const ConnectParams& p, std::string& error) {
    ensure_lib_init();
    MosqPtr m(mosquitto_new(or_null(p.client_id), p.clean_session, nullptr));
    if (!m) {
        error = p.client_id.empty() && !p.clean_session
                    ? "a persistent session (clean_session false) needs a client id"
                    : std::string("mosquitto_new: ") + std::strerror(errno);
        return nullptr;
    }
    int rc = mosquitto_int_option(m.get(), MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    if (rc == MOSQ_ERR_SUCCESS && (!p.username.empty() || !p.password.empty()))
        rc = mosquitto_username_pw_set(m.get(), or_null(p.username), or_null(p.password));
    if (rc != MOSQ_ERR_SUCCESS) {
        error = std::string("credentials refused by libmosquitto: ") + mosquitto_strerror(rc);
        return nullptr;
    }
    if (!p.will_topic.empty()) {
        rc = mosquitto_will_set(m.get(), p.will_topic.c_str(), static_cast<int>(p.will_payload.size()),
                                p.will_payload.data(), p.will_qos, p.will_retain);
        if (rc != MOSQ_ERR_SUCCESS) {
            error = "last will on '" + p.will_topic + "' refused by libmosquitto: " + mosquitto_strerror(rc);
            return nullptr;
        }
    }
    if (!p.tls) return m;

    const char* ca = or_null(p.ca_file);
    rc = mosquitto_tls_set(m.get(), ca, ca ? nullptr : kSystemCaPath, or_null(p.cert_file), or_null(p.key_file),
                           nullptr);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_opts_set(m.get(), p.verify_server ? 1 : 0, nullptr, nullptr);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_insecure_set(m.get(), !p.verify_server);
    if (rc == MOSQ_ERR_SUCCESS && !p.connect_address.empty()) rc = verify_name_not_address(m.get(), p);
    if (rc != MOSQ_ERR_SUCCESS) {
        error = "TLS setup refused (ca '" + (ca ? p.ca_file : std::string(kSystemCaPath)) + "', cert '" +
                p.cert_file + "', key '" + p.key_file + "'): " + mosquitto_strerror(rc);
        return nullptr;
    }
    return m;
}

namespace {

std::atomic<int> jobs_alive{0};

}  // namespace

ConnectJob::ConnectJob() { jobs_alive.fetch_add(1, std::memory_order_relaxed); }
// The handle (and its TLS session) goes first, so that a count of 0 means everything is freed.
ConnectJob::~ConnectJob() {
    mosq.reset();
    jobs_alive.fetch_sub(1, std::memory_order_release);
}

int connect_jobs_alive() { return jobs_alive.load(std::memory_order_acquire); }

namespace {

void worker_log(mosquitto*, void* job, int level, const char* line) noexcept {
    if (!(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) || !line) return;
    try {
        static_cast<ConnectJob*>(job)->lib_error = line;
    } catch (...) {
    }
}

void run_job(ConnectJob& job) noexcept {
    try {
        if (job.before_resolve) job.before_resolve(job.host);
    } catch (...) {
        // A test hook that throws just means "resolved"; nothing may escape this thread.
    }
    int rc = MOSQ_ERR_NO_CONN;
    int err = 0;
    if (!job.abandoned.load(std::memory_order_acquire)) {
        errno = 0;
        rc = mosquitto_connect_bind_async(job.mosq.get(), job.host.c_str(), job.port, job.keepalive,
                                          job.bind_address.empty() ? nullptr : job.bind_address.c_str());
        err = errno;
    }
    job.rc = rc;
    job.err = err;
    job.finished.store(true, std::memory_order_release);
    (void)eventfd_write(job.done_fd.get(), 1);
}

}  // namespace

std::shared_ptr<ConnectJob> start_connect_job(MosqPtr mosq, const ConnectParams& p,
                                              std::function<void(const std::string&)> before_resolve) {
    auto job = std::make_shared<ConnectJob>();
    job->done_fd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (job->done_fd.get() < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    job->mosq = std::move(mosq);
    job->host = p.connect_address.empty() ? p.host : p.connect_address;
    job->bind_address = p.bind_address;
    job->port = p.port;
    job->keepalive = static_cast<int>(p.keepalive.count());
    job->before_resolve = std::move(before_resolve);
    mosquitto_user_data_set(job->mosq.get(), job.get());
    mosquitto_log_callback_set(job->mosq.get(), &worker_log);
    std::thread([job] { run_job(*job); }).detach();
    return job;
}

int tune_socket(int fd, std::chrono::milliseconds user_timeout, std::chrono::seconds keepalive) {
    const auto set = [fd](int level, int name, int value) {
        return ::setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : errno;
    };
    const auto timeout_ms = static_cast<int>(std::max<int64_t>(user_timeout.count(), 1));
    // Probes only matter when the MQTT ping did not go out: start them a little after it is due.
    const int idle_s = keepalive.count() > 0 ? static_cast<int>(keepalive.count()) + 5 : 60;
    const int interval_s = std::max(1, timeout_ms / 4000);
    for (const int err : {set(IPPROTO_TCP, TCP_USER_TIMEOUT, timeout_ms), set(SOL_SOCKET, SO_KEEPALIVE, 1),
                          set(IPPROTO_TCP, TCP_KEEPIDLE, idle_s), set(IPPROTO_TCP, TCP_KEEPINTVL, interval_s),
                          set(IPPROTO_TCP, TCP_KEEPCNT, 4)})
        if (err != 0) return err;
    return 0;
}

int take_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return 0;
    return err;
}


namespace {

std::string with_detail(std::string reason, const std::string& lib_error) {
    if (!lib_error.empty()) reason += " (" + lib_error + ")";
    return reason;
}

}  // namespace

Failure connect_failure(int rc, int err, const std::string& host, int port, const std::string& lib_error) {
    const std::string where = host + ":" + std::to_string(port);
    if (rc == MOSQ_ERR_EAI)
        return {-EHOSTUNREACH, "cannot resolve '" + host + "': " + ::gai_strerror(err)};
    if (rc == MOSQ_ERR_KEEPALIVE) return {-ETIMEDOUT, "no CONNACK from " + where + " within the keepalive"};
    if (rc == MOSQ_ERR_TLS) return {-EPROTO, with_detail("TLS handshake with " + where + " failed", lib_error)};
    if (err == ETIMEDOUT) return {-ETIMEDOUT, "connect to " + where + " timed out (no answer to SYN)"};
    if (err != 0 && (rc == MOSQ_ERR_ERRNO || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_NO_CONN))
        return {-err, "connect to " + where + " failed: " + std::strerror(err)};
    if (rc == MOSQ_ERR_CONN_LOST) return {-ECONNABORTED, "broker " + where + " closed the connection before CONNACK"};
    return {-EIO, with_detail("connect to " + where + " failed: " + mosquitto_strerror(rc), lib_error)};
}

std::string link_loss_reason(int rc, int err, std::chrono::milliseconds user_timeout,
                             const std::string& lib_error) {
    if (rc == MOSQ_ERR_KEEPALIVE) return "keepalive timeout (no PINGRESP within the keepalive)";
    switch (err) {
    case ETIMEDOUT: return "TCP user timeout (no ACK for " + duration_text(user_timeout) + ")";
    case ECONNRESET: return "connection reset by broker";
    case EPIPE: return "broker closed the connection";
    case 0: break;
    default: return std::string("socket error: ") + std::strerror(err);
    }
    if (rc == MOSQ_ERR_CONN_LOST) return "broker closed the connection";
    if (rc == MOSQ_ERR_TLS) return with_detail("TLS error", lib_error);
    return with_detail(mosquitto_strerror(rc), lib_error);
}

}  // namespace cellgate::mqtt::detail
