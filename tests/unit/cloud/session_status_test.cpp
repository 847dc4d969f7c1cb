// The session states as D-Bus shows them (the State property of a CloudSession): one distinct,
// stable name each.
#include "cloud/session_status.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace cellgate::cloud {
namespace {

TEST(SessionStatus, EveryStateHasItsOwnName) {
    const SessionState all[] = {SessionState::idle,      SessionState::waiting_link, SessionState::connecting,
                                SessionState::connected, SessionState::backoff,      SessionState::auth_failed};
    const char* const expected[] = {"idle", "waiting-link", "connecting", "connected", "backoff", "auth-failed"};
    std::set<std::string> seen;
    for (size_t i = 0; i < std::size(all); ++i) {
        EXPECT_STREQ(to_string(all[i]), expected[i]);
        EXPECT_TRUE(seen.insert(to_string(all[i])).second) << to_string(all[i]);
    }
    EXPECT_STREQ(to_string(static_cast<SessionState>(99)), "unknown");
}

}  // namespace
}  // namespace cellgate::cloud
