// The payload functions see bytes from local applications and from the cloud: any input must give
// an answer, never a crash, and what they accept must come out well-formed.
// Input: "<platform><format>\n<topic or local suffix>\n<payload>", platform a(liyun) o(nenet)
// l(egacy) else generic, format p(roperty) e(vent) else raw.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloud/payload.hpp"

using namespace cellgate::cloud;

namespace {

// Says which invariant broke, with the input, before aborting (the driver does not print inputs).
[[noreturn]] void fail(const char* what, std::string_view a, std::string_view b) {
    std::fprintf(stderr, "payload_fuzz: %s\n[%.*s]\n[%.*s]\n", what, static_cast<int>(a.size()), a.data(),
                 static_cast<int>(b.size()), b.data());
    std::abort();
}

Platform platform_of(char c) {
    switch (c) {
        case 'a': return Platform::aliyun;
        case 'o': return Platform::onenet;
        case 'l': return Platform::onenet_legacy;
        default: return Platform::generic;
    }
}

UplinkFormat format_of(char c) {
    if (c == 'p') return {UplinkKind::property, {}};
    if (c == 'e') return {UplinkKind::event, "alarm"};
    return {};
}

// One device with every platform's ids; each platform takes the fields its topics use.
TopicFields fields_of(Platform p) {
    CloudConfig c;
    c.name = "gw";
    c.platform = p;
    c.product_key = "pk";
    c.product_id = "238322";
    c.device_name = "dn";
    c.device_id = "5039";
    c.client_id = "lab";
    return topic_fields(c);
}

void check_wrap(Platform p, const UplinkFormat& f, std::string_view payload) {
    if (!validate_uplink(f, payload)) return;
    const std::string out = wrap_uplink(p, f, payload, 0x1234567890ULL, 1700000000000);
    if (f.kind == UplinkKind::raw || !check_uplink_format(p, f).empty()) {
        if (out != payload) std::abort();
        return;
    }
    const auto j = nlohmann::json::parse(out, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j["params"].is_object()) std::abort();
    if (j["id"] != "878082192" || j["version"] != "1.0") std::abort();  // 0x1234567890 mod 2^32
    if (p == Platform::aliyun && !j["method"].is_string()) std::abort();
    // The platform's reply to it is matched back to the same id.
    const auto topic = uplink_topic(p, f, fields_of(p));
    if (!topic) std::abort();
    const std::string reply_topic = *topic + (p == Platform::aliyun ? "_reply" : "/reply");
    const auto r = parse_uplink_reply(p, reply_topic, R"({"id":"878082192","code":200})");
    if (!r || r->id != 878082192u || !r->accepted) std::abort();
}

void check_reply(Platform p, std::string_view topic, std::string_view payload) {
    const auto r = parse_uplink_reply(p, topic, payload);
    if (!r) return;
    if (r->code.empty() || r->code.find_first_not_of("0123456789") != std::string::npos) std::abort();
    if (r->accepted != (r->code == "200")) std::abort();
}

void check_downlink(Platform p, std::string_view topic, std::string_view payload) {
    const TopicFields fields = fields_of(p);
    if (const auto suffix = downlink_suffix(p, fields, topic)) {
        // Every request can be answered with an id-echoing reply (unless its id has characters
        // the platform refuses in a topic, as onenet does outside [A-Za-z0-9/_-]).
        const bool safe = suffix->find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-") == std::string::npos;
        if (safe && !downlink_reply(p, fields, *suffix + "/reply", R"({"id":"1"})")) {
            fail("request not answerable", topic, *suffix);
        }
    }
    const auto r = downlink_reply(p, fields, topic, payload);
    if (!r) {
        if (r.error().empty()) fail("error without a reason", topic, payload);
        return;
    }
    if (!valid_topic_name(r->topic) || !check_publish_topic(p, r->topic, fields).empty()) {
        fail("bad reply topic", topic, r->topic);
    }
    if (r->payload != payload) {
        const auto j = nlohmann::json::parse(r->payload, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j["id"].is_string() || !j["code"].is_number()) {
            fail("malformed reply payload", payload, r->payload);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const std::string_view in(reinterpret_cast<const char*>(data), size);
        const size_t nl1 = in.find('\n');
        const std::string_view head = in.substr(0, nl1);
        const std::string_view rest = nl1 == std::string_view::npos ? std::string_view() : in.substr(nl1 + 1);
        const size_t nl2 = rest.find('\n');
        const std::string_view topic = rest.substr(0, nl2);
        const std::string_view payload = nl2 == std::string_view::npos ? std::string_view() : rest.substr(nl2 + 1);
        const Platform p = platform_of(head.empty() ? 'g' : head[0]);
        const UplinkFormat f = format_of(head.size() > 1 ? head[1] : 'r');

        check_wrap(p, f, payload);
        check_wrap(p, f, topic);
        (void)parse_uplink_format(topic);
        check_reply(p, topic, payload);
        check_downlink(p, topic, payload);
    } catch (...) {
        std::abort();
    }
    return 0;
}
