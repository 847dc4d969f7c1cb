// Feeds arbitrary bytes through the AT line splitter, the classifiers (line kind with and without a
// pending command, URC kind), every reply parser (3GPP, ICCID, Huawei, the vendors' serving-cell
// reports) and the log redaction: none of them may crash, hang or trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "modem/at_parser.hpp"
#include "modem/at_redact.hpp"
#include "modem/at_replies.hpp"
#include "modem/huawei_replies.hpp"
#include "modem/iccid.hpp"
#include "modem/serving_cell.hpp"

using namespace cellgate::modem;

namespace {

constexpr std::string_view kPending[] = {"", "AT+CREG?", "AT+CEREG?", "AT+CPIN?", "AT+CGPADDR=1", "AT+CSQ",
                                         "AT+CREG?;+CGREG?", "AT+CPIN=\"1234\"", "AT+C5GREG?", "AT^HCSQ?"};

void parse_value(std::string_view line) {
    const auto colon = line.find(':');
    const auto value = colon == std::string_view::npos ? line : line.substr(colon + 1);
    (void)parse_cpin_value(value);
    if (auto q = parse_csq(value); q && (q->percent < 0 || q->percent > 100)) __builtin_trap();
    if (auto s = parse_cesq(value); s && s->rsrp_dbm) {
        const int p = rsrp_to_percent(*s->rsrp_dbm);
        if (p < 0 || p > 100) __builtin_trap();
    }
    if (auto r = parse_creg(value)) {
        (void)registration_from_stat(r->stat);
        if (r->act) (void)access_tech_from_act(*r->act);
    }
    (void)parse_cops(value);
    (void)parse_cgev(value);
    if (auto id = parse_iccid(value); id && (id->size() < 19 || id->size() > 20 || !id->starts_with("89")))
        __builtin_trap();
    (void)iccid_from_ef(value);
    (void)parse_huawei_dhcp(value);
    (void)parse_cpsi(value);
    (void)parse_hcsq(value);
    (void)cell_from_cesq(value);
    (void)redacted(line);
    (void)redacted_line(line);
    (void)split_fields(value);
    (void)parse_int(value);
    (void)cme_code_from_text(value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    // Whole buffer at once, and again in odd-sized chunks: framing must not depend on read sizes.
    std::vector<std::string> lines;
    LineSplitter whole;
    whole.feed(bytes, lines);
    (void)whole.at_prompt();

    std::vector<std::string> chunked;
    LineSplitter split;
    for (std::size_t pos = 0, step = 1; pos < bytes.size(); pos += step, step = step % 7 + 1) {
        split.feed(bytes.substr(pos, step), chunked);
        (void)split.at_prompt();
    }
    if (chunked != lines) __builtin_trap();

    AtResult reply;
    for (const auto& line : lines) {
        if (line.empty() || line.size() > LineSplitter::max_line) __builtin_trap();
        for (const auto pending : kPending) {
            (void)classify_line(line, pending);
            (void)solicits(pending, line);
            (void)is_echo(line, pending);
        }
        (void)is_urc_prefix(line);
        (void)classify_urc(line);
        if (auto f = parse_final_result(line)) {
            reply.status = f->status;
            reply.error_code = f->error_code;
            reply.error_text = f->error_text;
        } else {
            reply.lines.push_back(line);
        }
        parse_value(line);
    }
    (void)parse_cpin(reply);
    (void)parse_digits_line(reply);
    (void)parse_iccid_line(reply);
    (void)parse_ndisstat(reply.lines);
    (void)parse_qeng_servingcell(reply.lines);
    (void)parse_cced(reply.lines);
    for (const Vendor v : {Vendor::generic, Vendor::quectel, Vendor::simcom, Vendor::luat, Vendor::huawei}) {
        if (auto c = parse_serving_cell(v, reply)) (void)merged(ServingCell{}, *c);
    }
    for (int cid = 0; cid < 3; ++cid) (void)parse_cgpaddr(reply.lines, cid);
    (void)reply.value("+CSQ:");
    return 0;
}
