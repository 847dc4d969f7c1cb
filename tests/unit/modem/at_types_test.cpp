// What a command's result carries: the status names used in logs, and the value lookup every
// reply parser starts from.
#include "modem/at_types.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "unit/support/fake_at.hpp"

namespace cellgate::modem {
namespace {

using testing::ok;

TEST(AtTypesResult, ValueStripsPrefixAndSpaces) {
    const auto r = ok({"+CGSN: 1", "+CSQ:   21,99", "+CSQ: 5,5"});
    EXPECT_EQ(r.value("+CSQ:"), "21,99");
    EXPECT_EQ(r.value("+CESQ:"), "");
    EXPECT_TRUE(r.ok());
}

TEST(AtTypesResult, ValueOfABareLineAndTabs) {
    const auto r = ok({"867962040123456", "+CFUN:\t1"});
    EXPECT_EQ(r.value(""), "867962040123456");
    EXPECT_EQ(r.value("+CFUN:"), "1");
    EXPECT_EQ(ok({}).value("+CSQ:"), "");
}

TEST(AtTypesResult, OnlyOkIsOk) {
    AtResult r;
    EXPECT_TRUE(r.ok());
    for (auto s : {AtStatus::error, AtStatus::cme_error, AtStatus::cms_error, AtStatus::no_carrier, AtStatus::connect,
                   AtStatus::prompt, AtStatus::timeout, AtStatus::port_closed}) {
        r.status = s;
        EXPECT_FALSE(r.ok()) << to_string(s);
    }
}

TEST(AtTypesResult, StatusNames) {
    EXPECT_STREQ(to_string(AtStatus::ok), "ok");
    EXPECT_STREQ(to_string(AtStatus::cme_error), "cme-error");
    EXPECT_STREQ(to_string(AtStatus::timeout), "timeout");
    EXPECT_STREQ(to_string(AtStatus::port_closed), "port-closed");
    std::set<std::string> names;
    for (auto s : {AtStatus::ok, AtStatus::error, AtStatus::cme_error, AtStatus::cms_error, AtStatus::no_carrier,
                   AtStatus::connect, AtStatus::prompt, AtStatus::timeout, AtStatus::port_closed})
        EXPECT_TRUE(names.insert(to_string(s)).second) << to_string(s);
}

}  // namespace
}  // namespace cellgate::modem
