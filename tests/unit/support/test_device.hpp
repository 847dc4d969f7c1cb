// The one device the cloud unit tests speak for: the same ids on every platform, so a topic in
// one test file reads the same as in the next.
#pragma once

#include <string>

#include "cloud/cloud_config.hpp"

namespace cellgate::testing {

inline cloud::CloudConfig test_device(cloud::Platform p) {
    cloud::CloudConfig c;
    c.name = "gw";
    c.platform = p;
    c.product_key = "a1B2c3D4e5F";
    c.product_id = "238322";
    c.device_name = "gw-001";
    c.device_id = "503902911";
    c.client_id = "lab-1";
    return c;
}

// The device's secrets: each is recognisable, so a test can show it never reaches a message.
inline constexpr const char* kAliyunSecret = "S3cretAliyunValue";
// OneNET's official MQTT.fx example key (base64, as the console shows it).
inline constexpr const char* kOnenetKey = "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM=";
inline constexpr const char* kLegacyAuthInfo = "LegacyAuthSecret";
inline constexpr const char* kGenericPassword = "GenericSecretPw";
inline constexpr const char* kGenericEndpoint = "broker.example:8883";

// The test device as a session `name` on platform `p`: credentials and an endpoint that pass the
// platform's rules (platform.hpp check_platform_rules), TLS on where the platform offers it.
inline cloud::CloudConfig test_session(cloud::Platform p, std::string name = "gw") {
    cloud::CloudConfig c = test_device(p);
    c.name = std::move(name);
    c.device_secret = kAliyunSecret;
    c.region = "cn-shanghai";
    c.device_key = kOnenetKey;
    c.auth_info = kLegacyAuthInfo;
    c.username = "gw";
    c.password = kGenericPassword;
    // Only a generic broker has no address of its own, and only there is the client id the
    // config's (aliyun derives product_key.device_name unless one is set).
    if (p == cloud::Platform::generic) c.endpoint = kGenericEndpoint;
    else c.client_id.clear();
    // onenet-legacy is plain TCP only.
    c.tls.enabled = p != cloud::Platform::onenet_legacy;
    return c;
}

}  // namespace cellgate::testing
