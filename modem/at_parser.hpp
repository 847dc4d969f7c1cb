// Framing and classification of the AT byte stream, with no I/O: the channel feeds whatever
// read() returned, gets whole lines back, and asks which of them end the pending command, which
// are unsolicited, and which belong to the response.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modem/at_types.hpp"

namespace cellgate::modem {

// Incremental line splitter. Any CR or LF ends a line (modules mix "\r\n", lone "\r" and lone
// "\n"); empty lines are skipped. Control and non-ASCII bytes before a line's first character are
// dropped, so that USB noise after a reset cannot hide the line that follows. A line with a control
// byte after its start, or that is not valid UTF-8, is dropped whole: it is line noise (or a line
// corrupted by it), and a fragment of it must never become a value such as the model name, nor
// reach D-Bus, whose strings must be UTF-8. A line longer than max_line keeps its first max_line
// bytes and the rest is ignored until the next line end.
//
// A URC can carry counted raw bytes (MQTT downlink through the module's own client: Luat
// `+MSUB: "t",5 byte,<5 bytes>`, Quectel `+QMTRECV: 0,1,"t",5,"<5 bytes>"`, SIMCom
// `+CMQTTRXPAYLOAD: 0,5` CR LF `<5 bytes>`). The framer, when set, is asked after each ',' or '"'
// of a line that starts with '+' (line_end false) and with each whole '+' line (line_end true),
// and returns how many raw bytes follow (0: none): right there, or after that line's end. Those
// bytes are taken as they are (CR, LF, NUL, any encoding) and the line reads
// "<head><bytes><rest of the line>", or "<line>\n<bytes>" for the line-end form.
class LineSplitter {
public:
    static constexpr std::size_t max_line = 4096;
    // No URC of the supported sets announces more (SIMCom's 10240-byte payload is the largest).
    static constexpr std::size_t max_raw = 65536;
    using RawFramer = std::function<std::size_t(std::string_view head, bool line_end)>;

    void set_raw_framer(RawFramer framer) { framer_ = std::move(framer); }
    // Appends every complete line in `bytes` (trimmed of spaces) to `out`.
    void feed(std::string_view bytes, std::vector<std::string>& out);
    // The unterminated tail is the "> " data prompt, which never gets a line end.
    bool at_prompt() const;
    // Forgets the unterminated tail (after the prompt was taken, or when the port reopens).
    void reset();

private:
    static constexpr std::size_t npos = std::string::npos;
    void end_line(std::vector<std::string>& out);
    void take_raw(std::size_t n, bool after_line);

    std::string partial_;
    bool overflow_ = false;
    bool corrupt_ = false;
    RawFramer framer_;
    // The raw bytes of the current line: [raw_begin_, raw_end_) of partial_, raw_left_ still to come.
    std::size_t raw_begin_ = npos;
    std::size_t raw_end_ = npos;
    std::size_t raw_left_ = 0;
    bool raw_after_line_ = false;  // the line ends with its raw bytes
    bool skip_lf_ = false;         // the header line ended with CR: its LF is not payload
};

struct FinalResult {
    AtStatus status = AtStatus::ok;
    int error_code = -1;
    std::string error_text;
};
// OK, ERROR, +CME ERROR, +CMS ERROR, NO CARRIER, BUSY, NO ANSWER, NO DIALTONE, CONNECT[ <rate>],
// COMMAND NOT SUPPORT, MODEM ERROR; nullopt for anything else. Verbose +CME ERROR texts get their
// numeric code from cme_code_from_text(). An error with no code after it ("+CME ERROR:", "+CME
// ERROR", "MODEM ERROR:") still ends the command, with error_code -1 and an empty error_text.
std::optional<FinalResult> parse_final_result(std::string_view line);

// Starts with a prefix only ever sent unsolicited, or one that is unsolicited unless the pending
// command asked for it (+CREG:, +CPIN:, ...).
bool is_urc_prefix(std::string_view line);

// What an unsolicited line announces, so its owner can switch on it instead of matching text.
enum class UrcKind {
    other,         // vendor indications, and lines no pending command asked for
    registration,  // +CREG, +CGREG, +CEREG, +C5GREG
    packet_event,  // +CGEV: PDP context and attach events
    sim,           // +CPIN
    boot,          // the module (re)started: RDY, ^SYSSTART, *ATREADY: 1, +CPAS: 0 READY (whole lines)
};
// For a line the channel delivered as unsolicited.
UrcKind classify_urc(std::string_view line);

// Whether `command` (e.g. "AT+CREG?", "AT+CGPADDR=1", "AT+CPIN?;+CSQ") asks for lines with the
// prefix `line` starts with. Set forms of indications ("AT+CREG=2", "AT+CPIN=...") do not: a
// "+CREG:" line after them is a URC. A read "+CREG:" line always has "<n>," first.
bool solicits(std::string_view command, std::string_view line);

// The echo of `command` (modules echo until ATE0, and again after every reboot).
bool is_echo(std::string_view line, std::string_view command);

enum class LineKind { info, urc, final_result };
// `pending_command` is "" when nothing is in flight; then every line that is not a final result
// is a URC. Echo is not detected here (see is_echo).
LineKind classify_line(std::string_view line, std::string_view pending_command);

}  // namespace cellgate::modem
