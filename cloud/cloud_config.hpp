// Configuration of the cloud sessions (`cloud:` and `backoff:` in the YAML). Plain data shared by
// the config loader, the platform profiles and the sessions.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cellgate::cloud {

using std::chrono::milliseconds;

// Each value has its profile (platform_profile.hpp), which names it and knows everything else.
enum class Platform { aliyun, onenet, onenet_legacy, generic };
const char* to_string(Platform p);  // the profile's name: "aliyun", "onenet", "onenet-legacy", "generic"
// Inverse of to_string (exact, lower case); nullopt for anything else.
std::optional<Platform> platform_from_string(std::string_view name);

// How a session reaches its broker: libmosquitto over the host's network, or the module's own MQTT
// client driven over AT (a module on a UART with no network interface).
enum class Transport { host, module };
inline const char* to_string(Transport t) { return t == Transport::module ? "module" : "host"; }

struct TlsConfig {
    bool enabled = false;
    std::string ca_file;    // "" = the platform's shipped CA (aliyun/onenet) or the system store
    std::string cert_file;  // client certificate (generic)
    std::string key_file;   // its key (secret file: never read into logs)
    bool verify = true;     // verify the server certificate and host name
    bool operator==(const TlsConfig&) const = default;
};

struct CloudConfig {
    std::string name;       // [a-z0-9_-]{1,32}; the D-Bus path element
    Platform platform = Platform::generic;
    std::string endpoint;   // "host:port"; "" = the platform default
    int config_line = 0;    // where this entry starts in the YAML, for late errors

    // aliyun
    std::string product_key, device_name;
    std::string device_secret;            // secret (from device_secret or device_secret_file)
    std::string region;                   // e.g. cn-shanghai (legacy public instance)
    std::string instance;                 // e.g. iot-06z00abc (new/enterprise instance)
    std::string sign_method = "hmacsha256";  // hmacsha256 | hmacsha1 | hmacmd5

    // onenet
    std::string product_id;
    std::string device_key;               // secret
    milliseconds token_lifetime{std::chrono::hours(24 * 30)};
    std::string token_method = "sha256";  // sha256 | sha1 | md5

    // onenet-legacy (mqtt.heclouds.com:6002)
    std::string device_id;
    std::string auth_info;                // secret

    // generic
    std::string client_id;
    std::string username;
    std::string password;                 // secret (from password or password_file)

    TlsConfig tls;
    Transport transport = Transport::host;
    // transport module: the longest topic the module's MQTT client takes (0: the vendor is not known
    // yet, so only publish checks it). Routes are held to it when the config is loaded.
    std::size_t module_max_topic = 0;
    // MQTT carries whole seconds; the config reader refuses anything finer.
    std::chrono::seconds keepalive{120};
    // Compares config_line too; a reload compares entries without it (daemon/reload.cpp).
    bool operator==(const CloudConfig&) const = default;
};

struct BackoffConfig {
    milliseconds initial{std::chrono::seconds(1)};
    milliseconds max{std::chrono::seconds(120)};
    // A session must stay up this long before the backoff starts from `initial` again.
    milliseconds stable_after{std::chrono::seconds(60)};
    bool operator==(const BackoffConfig&) const = default;
};

}  // namespace cellgate::cloud
