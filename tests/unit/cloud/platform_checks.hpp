// What every platform's test file checks the same way: rule violations (and that no secret reaches
// their messages), endpoints, CONNACK meanings. Each platform_<name>_test.cpp brings its tables.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "cloud/platform.hpp"
#include "cloud/platform_profile.hpp"
#include "unit/support/test_device.hpp"

namespace cellgate::cloud::checks {

inline std::chrono::system_clock::time_point at_ms(int64_t ms) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

inline bool has(const std::vector<RuleViolation>& v, const std::string& key, const std::string& text) {
    for (const auto& r : v) {
        if (r.key == key && r.message.find(text) != std::string::npos) return true;
    }
    return false;
}

inline std::string dump(const std::vector<RuleViolation>& v) {
    std::string s;
    for (const auto& r : v) s += r.key + ": " + r.message + "\n";
    return s;
}

// `edit` breaks the platform's test session; a violation under `key` must say `text`.
struct RuleCase {
    const char* name;
    std::function<void(CloudConfig&)> edit;
    const char* key;
    const char* text;
};

inline void expect_violations(Platform p, std::span<const RuleCase> cases) {
    for (const auto& k : cases) {
        SCOPED_TRACE(k.name);
        CloudConfig c = testing::test_session(p);
        k.edit(c);
        const auto v = check_platform_rules(c);
        EXPECT_TRUE(has(v, k.key, k.text)) << dump(v);
        for (const auto& r : v) {
            // Messages are shown to operators and logged: never a secret.
            for (const char* secret : {testing::kAliyunSecret, testing::kOnenetKey, testing::kLegacyAuthInfo,
                                       testing::kGenericPassword}) {
                EXPECT_EQ(r.message.find(secret), std::string::npos) << r.message;
            }
        }
    }
}

// Keepalives at the edges of what the platform accepts.
inline void expect_keepalives_pass(Platform p, std::initializer_list<std::chrono::seconds> keepalives) {
    for (const auto ka : keepalives) {
        CloudConfig c = testing::test_session(p);
        c.keepalive = ka;
        EXPECT_TRUE(check_platform_rules(c).empty()) << ka.count() << "s\n" << dump(check_platform_rules(c));
    }
}

inline bool keepalive_advice(Platform p, std::chrono::seconds keepalive, Uplink uplink) {
    CloudConfig c = testing::test_session(p);
    c.keepalive = keepalive;
    for (const auto& w : platform_warnings(c, uplink))
        if (w.key == "keepalive" && (w.message.find("cellular") != std::string::npos ||
                                     w.message.find("carrier NAT") != std::string::npos))
            return true;
    return false;
}

// The platform's own range [min, max] is the user's: on cellular, below 60 s and above 240 s are
// advice (not rules), outside the range it is a rule violation only, and off cellular nothing.
inline void expect_cellular_keepalive_advice(Platform p, std::chrono::seconds min, std::chrono::seconds max) {
    using std::chrono::seconds;
    expect_keepalives_pass(p, {min, max});
    struct Case {
        seconds keepalive;
        bool advised;
    };
    const Case cases[] = {
        {min - seconds(1), false}, {min, min < seconds(60)}, {seconds(59), min <= seconds(59)},
        {seconds(60), false},      {seconds(240), false},    {seconds(241), max >= seconds(241)},
        {max, max > seconds(240)}, {max + seconds(1), false},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(std::to_string(k.keepalive.count()) + "s");
        EXPECT_EQ(keepalive_advice(p, k.keepalive, Uplink::cellular), k.advised);
        EXPECT_FALSE(keepalive_advice(p, k.keepalive, Uplink::other));
    }
}

// `edit` changes the platform's test session; the session then connects to `endpoint`.
struct EndpointCase {
    const char* name;
    std::function<void(CloudConfig&)> edit;
    const char* endpoint;
    const char* host;
    uint16_t port;
};

inline void expect_endpoints(Platform p, std::span<const EndpointCase> cases) {
    for (const auto& k : cases) {
        SCOPED_TRACE(k.name);
        CloudConfig c = testing::test_session(p);
        k.edit(c);
        EXPECT_EQ(profile(p).endpoint(c), k.endpoint);
        const ConnectParams params = make_connect_params(c, at_ms(0));
        EXPECT_EQ(params.host, k.host);
        EXPECT_EQ(params.port, k.port);
    }
}

struct ConnackCase {
    int rc;
    const char* text;
};

inline void expect_connack(Platform p, std::span<const ConnackCase> cases) {
    for (const auto& k : cases) {
        const std::string m = profile(p).connack_meaning(k.rc);
        EXPECT_NE(m.find(k.text), std::string::npos) << to_string(p) << " rc " << k.rc << ": " << m;
    }
}

}  // namespace cellgate::cloud::checks
