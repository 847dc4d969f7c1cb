// The parts of the libmosquitto adapter that need no broker: how failures are worded, the socket
// tuning for cellular links (on real loopback sockets), reading a socket's pending error, and the
// handle's refusal of parameters it cannot use.
#include "mqtt/mosquitto_connect.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <string>

#include "base/unique_fd.hpp"

namespace cellgate::mqtt::detail {
namespace {

using namespace std::chrono_literals;

int int_option(int fd, int level, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    EXPECT_EQ(::getsockopt(fd, level, name, &value, &len), 0) << std::strerror(errno);
    return value;
}

// A TCP socket bound to a loopback port nobody listens on (the port stays ours while `holder`
// lives, so nothing else can take it).
struct ClosedPort {
    UniqueFd holder{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    sockaddr_in addr{};

    ClosedPort() {
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        EXPECT_EQ(::bind(holder.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(::getsockname(holder.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    }
};

// ---- failure wording ----

TEST(MosquittoConnectFailure, SaysWhatWentWrongWhereAndMapsToAnErrno) {
    struct Case {
        int rc, err;
        std::string lib_error;
        int code;
        std::string reason;
    };
    const Case cases[] = {
        {MOSQ_ERR_EAI, EAI_NONAME, "", -EHOSTUNREACH,
         std::string("cannot resolve 'broker.example': ") + ::gai_strerror(EAI_NONAME)},
        {MOSQ_ERR_KEEPALIVE, 0, "", -ETIMEDOUT, "no CONNACK from broker.example:8883 within the keepalive"},
        {MOSQ_ERR_TLS, 0, "certificate verify failed", -EPROTO,
         "TLS handshake with broker.example:8883 failed (certificate verify failed)"},
        {MOSQ_ERR_TLS, 0, "", -EPROTO, "TLS handshake with broker.example:8883 failed"},
        {MOSQ_ERR_ERRNO, ETIMEDOUT, "", -ETIMEDOUT, "connect to broker.example:8883 timed out (no answer to SYN)"},
        {MOSQ_ERR_ERRNO, ECONNREFUSED, "", -ECONNREFUSED,
         std::string("connect to broker.example:8883 failed: ") + std::strerror(ECONNREFUSED)},
        {MOSQ_ERR_CONN_LOST, ECONNRESET, "", -ECONNRESET,
         std::string("connect to broker.example:8883 failed: ") + std::strerror(ECONNRESET)},
        {MOSQ_ERR_CONN_LOST, 0, "", -ECONNABORTED, "broker broker.example:8883 closed the connection before CONNACK"},
        {MOSQ_ERR_PROTOCOL, 0, "bad", -EIO,
         std::string("connect to broker.example:8883 failed: ") + mosquitto_strerror(MOSQ_ERR_PROTOCOL) + " (bad)"},
    };
    for (const auto& c : cases) {
        const auto f = connect_failure(c.rc, c.err, "broker.example", 8883, c.lib_error);
        EXPECT_EQ(f.code, c.code) << c.reason;
        EXPECT_EQ(f.reason, c.reason);
    }
}

TEST(MosquittoLinkLoss, SaysWhyAnEstablishedConnectionEnded) {
    struct Case {
        int rc, err;
        std::string lib_error;
        std::string reason;
    };
    const Case cases[] = {
        {MOSQ_ERR_KEEPALIVE, 0, "", "keepalive timeout (no PINGRESP within the keepalive)"},
        {MOSQ_ERR_ERRNO, ETIMEDOUT, "", "TCP user timeout (no ACK for 20s)"},
        {MOSQ_ERR_CONN_LOST, ECONNRESET, "", "connection reset by broker"},
        {MOSQ_ERR_ERRNO, EPIPE, "", "broker closed the connection"},
        {MOSQ_ERR_ERRNO, EHOSTUNREACH, "", std::string("socket error: ") + std::strerror(EHOSTUNREACH)},
        {MOSQ_ERR_CONN_LOST, 0, "", "broker closed the connection"},
        {MOSQ_ERR_TLS, 0, "decryption failed", "TLS error (decryption failed)"},
        {MOSQ_ERR_PROTOCOL, 0, "", mosquitto_strerror(MOSQ_ERR_PROTOCOL)},
    };
    for (const auto& c : cases) EXPECT_EQ(link_loss_reason(c.rc, c.err, 20s, c.lib_error), c.reason);
}

// ---- socket tuning ----

TEST(MosquittoTuneSocket, SetsTheUserTimeoutAndKeepaliveProbesAfterTheMqttPing) {
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(fd);
    ASSERT_EQ(tune_socket(fd.get(), 20s, 60s), 0);
    EXPECT_EQ(int_option(fd.get(), IPPROTO_TCP, TCP_USER_TIMEOUT), 20000);
    EXPECT_EQ(int_option(fd.get(), SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(int_option(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE), 65);   // a little after the ping is due
    EXPECT_EQ(int_option(fd.get(), IPPROTO_TCP, TCP_KEEPINTVL), 5);   // four probes within the user timeout
    EXPECT_EQ(int_option(fd.get(), IPPROTO_TCP, TCP_KEEPCNT), 4);
}

TEST(MosquittoTuneSocket, WithoutKeepaliveOrWithATinyTimeoutStaysSensible) {
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(fd);
    ASSERT_EQ(tune_socket(fd.get(), 0ms, 0s), 0);
    EXPECT_EQ(int_option(fd.get(), IPPROTO_TCP, TCP_USER_TIMEOUT), 1);  // 0 would mean "the kernel's default"
    EXPECT_EQ(int_option(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE), 60);
    EXPECT_EQ(int_option(fd.get(), IPPROTO_TCP, TCP_KEEPINTVL), 1);
}

TEST(MosquittoTuneSocket, ReportsTheErrnoOfARefusedOption) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    const UniqueFd a(sv[0]), b(sv[1]);
    EXPECT_NE(tune_socket(a.get(), 20s, 60s), 0);  // no TCP options on a unix socket
}

// ---- pending socket errors ----

TEST(MosquittoSocketError, ARefusedConnectIsReadOnceThenCleared) {
    ClosedPort port;
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ASSERT_TRUE(fd);
    EXPECT_EQ(take_socket_error(fd.get()), 0);
    const int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&port.addr), sizeof port.addr);
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS || errno == ECONNREFUSED) << std::strerror(errno);
    if (rc != 0 && errno == ECONNREFUSED) {
        // Refused inside connect() itself: the error was reported there, so nothing is pending.
        EXPECT_EQ(take_socket_error(fd.get()), 0);
        return;
    }
    pollfd p{fd.get(), POLLOUT, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1);
    EXPECT_EQ(take_socket_error(fd.get()), ECONNREFUSED);
    EXPECT_EQ(take_socket_error(fd.get()), 0);
}

TEST(MosquittoSocketError, ANonSocketHasNone) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    const UniqueFd r(pipe_fds[0]), w(pipe_fds[1]);
    EXPECT_EQ(take_socket_error(r.get()), 0);
}

// ---- the handle ----

ConnectParams with_password() {
    ConnectParams p;
    p.host = "broker.example";
    p.client_id = "gw-1";
    p.username = "user";
    p.password = "s3cret-password";
    return p;
}

TEST(MosquittoHandle, APersistentSessionNeedsAClientId) {
    ConnectParams p;
    p.host = "broker.example";
    p.clean_session = false;
    std::string error;
    EXPECT_EQ(make_handle(p, error), nullptr);
    EXPECT_EQ(error, "a persistent session (clean_session false) needs a client id");
}

TEST(MosquittoHandle, ATlsFileThatIsNotThereIsRefusedWithoutThePassword) {
    ConnectParams p = with_password();
    p.tls = true;
    p.ca_file = "/nonexistent/ca.pem";
    std::string error;
    EXPECT_EQ(make_handle(p, error), nullptr);
    EXPECT_NE(error.find("TLS setup refused (ca '/nonexistent/ca.pem'"), std::string::npos) << error;
    EXPECT_EQ(error.find("s3cret"), std::string::npos) << error;
}

TEST(MosquittoHandle, PlainParametersGiveAHandle) {
    std::string error;
    EXPECT_NE(make_handle(with_password(), error), nullptr) << error;
}

}  // namespace
}  // namespace cellgate::mqtt::detail
