// The Gateway as a whole (its pure parts are in gateway_state_test.cpp): a gateway that cannot
// persist what it accepts refuses to start, with its own exit status, before it claims the bus
// name (so no system bus is needed here).
#include <fcntl.h>
#include <sys/file.h>
#include <sysexits.h>

#include <gtest/gtest.h>

#include <string>

#include "base/unique_fd.hpp"
#include "daemon/config.hpp"
#include "daemon/gateway.hpp"
#include "unit/support/temp_dir.hpp"

namespace cellgate {
namespace {

Config config_with_outbox(const std::string& path) {
    auto r = load_config_string(R"(
cloud:
  - name: lab
    platform: generic
    endpoint: 127.0.0.1:1883
    client_id: gw-001
outbox:
  path: )" + path + "\n",
                                "test.yaml");
    EXPECT_TRUE(r.errors.empty());
    return *r.config;
}

TEST(GatewayOutbox, AnOutboxThatCannotBeCreatedStopsTheStartWithExCantcreat) {
    for (const std::string path : {"/proc/cellgate-test/outbox.db", "/proc/self/status"}) {
        try {
            Gateway g(config_with_outbox(path));
            ADD_FAILURE() << path << ": the gateway started without its outbox";
        } catch (const StartupError& e) {
            EXPECT_EQ(e.exit_status(), EX_CANTCREAT) << e.what();
            EXPECT_NE(std::string(e.what()).find("refusing to start without durable storage"), std::string::npos)
                << e.what();
            EXPECT_NE(std::string(e.what()).find(path.substr(0, 6)), std::string::npos) << e.what();
        }
    }
}

// A second cellgated (on another bus) must not deliver the same rows: the outbox is locked.
TEST(GatewayOutbox, AnOutboxInUseByAnotherProcessStopsTheStartWithExCantcreat) {
    testing::TempDir dir{"cellgate-gateway"};
    const std::string path = dir / "outbox.db";
    const UniqueFd held(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_TRUE(held);
    ASSERT_EQ(::flock(held.get(), LOCK_EX | LOCK_NB), 0);
    try {
        Gateway g(config_with_outbox(path));
        ADD_FAILURE() << "the gateway started on a locked outbox";
    } catch (const StartupError& e) {
        EXPECT_EQ(e.exit_status(), EX_CANTCREAT) << e.what();
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("locked by another process"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace cellgate
