// Shared by the config reader tests: a load from a string, every error of a load in one string
// (for failure messages), and the table rows "this YAML gives exactly this one error" and "this
// rejected secret is not echoed".
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "daemon/config.hpp"

namespace cellgate::testing {

inline ConfigResult load_test_config(const std::string& yaml) { return load_config_string(yaml, "test.yaml"); }

inline std::string all_errors(const ConfigResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e.to_string() + "\n";
    return out;
}

// The smallest valid modem section; error cases append lines to it with modem_with(), so the
// appended line is line 5.
inline constexpr const char* kMinimalModem =
    "modem:\n"
    "  port: auto\n"
    "  apn:\n"
    "    name: cmnet\n";

inline std::string modem_with(const std::string& extra) { return std::string(kMinimalModem) + extra; }

struct ErrorCase {
    const char* name;
    std::string yaml;
    const char* key;
    int line;
    int column;
    const char* message;  // substring of the message
};

inline void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

// Test names from the table's `name` column.
struct CaseName {
    template <class P>
    std::string operator()(const ::testing::TestParamInfo<P>& p) const {
        return p.param.name;
    }
};

// The load of `c.yaml` failed with exactly the one error `c` describes.
inline void expect_one_error(const ErrorCase& c) {
    const auto r = load_test_config(c.yaml);
    EXPECT_FALSE(r.config.has_value());
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    const auto& e = r.errors[0];
    EXPECT_EQ(e.file, "test.yaml");
    EXPECT_EQ(e.key, c.key);
    EXPECT_EQ(e.line, c.line) << e.to_string();
    EXPECT_EQ(e.column, c.column) << e.to_string();
    EXPECT_NE(e.message.find(c.message), std::string::npos) << e.to_string();
}

// A rejected secret: the load of `yaml` fails with one error on `key` whose message contains
// `message`, and the error's text nowhere contains `secret`.
struct SecretCase {
    const char* name;
    std::string yaml;
    const char* secret;
    const char* key;
    const char* message;
};

inline void PrintTo(const SecretCase& c, std::ostream* os) { *os << c.name; }

inline void expect_secret_not_echoed(const SecretCase& c) {
    const auto r = load_test_config(c.yaml);
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, c.key);
    EXPECT_NE(r.errors[0].message.find(c.message), std::string::npos) << r.errors[0].message;
    EXPECT_EQ(r.errors[0].to_string().find(c.secret), std::string::npos) << r.errors[0].to_string();
}

}  // namespace cellgate::testing
