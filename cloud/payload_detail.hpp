// Internals of the message formats, shared by payload.cpp and the platform profiles that build
// JSON (platform_aliyun.cpp, platform_onenet.cpp). Not part of the public API.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cellgate::cloud::detail {

// Insertion order kept, so a wrapped payload lists the local keys in the application's order.
using Json = nlohmann::ordered_json;

// Deeper local payloads are refused: nothing a thing model describes nests this far, and the
// serializer recurses.
inline constexpr int kMaxJsonDepth = 32;
// Post ids are sent modulo 2^32: Aliyun wants a decimal string in 0..4294967295, and OneNET gets
// the same ids so a reply is matched the same way on both.
inline constexpr uint64_t kPostIdModulus = uint64_t{1} << 32;

std::optional<Json> parse_json(std::string_view text);
// A JSON object, or nullopt (not JSON, too deep, or another type).
std::optional<Json> parse_object(std::string_view text);
std::string dump(const Json& j);

// {"id": "<id mod 2^32>", "version": "1.0"}: how a post starts on every platform that wraps.
Json post_head(uint64_t id);
// {"value": v, "time": time_ms}; "time" is left out before kPlausibleEpochMs (a clock still at
// 1970 sends none rather than a wrong one, and the platform stamps the arrival).
Json stamped(Json value, int64_t time_ms);
// A property post's params: every local key with its value stamped.
Json property_params(Json local, int64_t time_ms);

// The local application's answer to a platform request: the request id it echoes, the code (200
// unless it gives one) and the whole object (for "data", "msg", ...).
struct LocalAnswer {
    std::string id;
    Json code;
    Json local;
};
std::expected<LocalAnswer, std::string> read_local_answer(std::string_view local_payload);
// {"id": <the request's id>, "code": <code>}: how an answer to a request starts.
Json answer_head(const LocalAnswer& a);

}  // namespace cellgate::cloud::detail
