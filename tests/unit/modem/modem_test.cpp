// The modem subsystem wired together: the configured port is located, opened and handed to the
// bring-up, over a pty that plays the module.
#include "modem/modem.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "unit/support/poll_scheduler.hpp"
#include "unit/support/pty.hpp"

namespace fs = std::filesystem;

namespace cellgate::modem {
namespace {

using namespace std::chrono_literals;
using testing::PollScheduler;
using testing::Pty;

// Answers OK to every command it reads on the pty master and remembers the commands.
class OkModule {
public:
    OkModule(PollScheduler& sched, int master) : master_(master) {
        watch_ = sched.watch_fd(master, EPOLLIN, [this](uint32_t) { on_readable(); });
    }
    bool saw(const std::string& cmd) const { return std::find(commands.begin(), commands.end(), cmd) != commands.end(); }
    std::vector<std::string> commands;

private:
    void on_readable() {
        char buf[512];
        const auto n = ::read(master_, buf, sizeof buf);
        if (n <= 0) return;
        pending_.append(buf, static_cast<size_t>(n));
        for (auto pos = pending_.find('\r'); pos != std::string::npos; pos = pending_.find('\r')) {
            commands.push_back(pending_.substr(0, pos));
            pending_.erase(0, pos + 1);
            static constexpr char kOk[] = "\r\nOK\r\n";
            if (::write(master_, kOk, sizeof kOk - 1) < 0) return;
        }
    }

    int master_;
    std::string pending_;
    std::unique_ptr<IoWatch> watch_;
};

class ModemTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/cellgate-modem-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_TRUE(pty.ok());
        config.port = dir_ + "/ttyMODEM";
        config.vendor = Vendor::generic;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    std::string dir_;
    Pty pty;
    ModemConfig config;
    PollScheduler sched;
};

TEST_F(ModemTest, WaitsForTheConfiguredPortThenProbesTheModule) {
    Modem modem(sched, config);
    std::vector<ModemState> states;
    modem.on_change = [&](const ModemStatus& s) { states.push_back(s.state); };
    modem.start();
    sched.run_for(50ms);
    EXPECT_EQ(modem.status().state, ModemState::absent);
    EXPECT_EQ(modem.status().port, config.port);

    OkModule module(sched, pty.master());
    fs::create_symlink(pty.slave_path(), config.port);
    ASSERT_TRUE(sched.run_until([&] { return module.saw("AT") && module.saw("ATE0"); }, 3000ms));
    EXPECT_EQ(module.commands.front(), "AT");
    // The configured name stays what the user wrote, not the pty behind the link.
    EXPECT_EQ(modem.status().port, config.port);
    ASSERT_FALSE(states.empty());
    EXPECT_EQ(states.front(), ModemState::absent);
    EXPECT_NE(std::find(states.begin(), states.end(), ModemState::initializing), states.end());
}

TEST_F(ModemTest, ResetWithoutAPortIsIgnored) {
    Modem modem(sched, config);
    modem.start();
    modem.reset();
    sched.run_for(50ms);
    EXPECT_EQ(modem.status().state, ModemState::absent);
    EXPECT_EQ(modem.status().resets, 0u);
}

}  // namespace
}  // namespace cellgate::modem
