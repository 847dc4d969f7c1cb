// Byte-stream framing and line classification, fed with real module transcripts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "modem/at_parser.hpp"

namespace cellgate::modem {
namespace {

using Lines = std::vector<std::string>;

Lines split(std::string_view bytes) {
    LineSplitter s;
    Lines out;
    s.feed(bytes, out);
    return out;
}

Lines split_bytewise(std::string_view bytes) {
    LineSplitter s;
    Lines out;
    for (char c : bytes) s.feed(std::string_view(&c, 1), out);
    return out;
}

TEST(AtParserSplitter, QuectelEchoedReplyWithCrLf) {
    const std::string_view in = "AT+CSQ\r\r\n+CSQ: 21,99\r\n\r\nOK\r\n";
    EXPECT_EQ(split(in), (Lines{"AT+CSQ", "+CSQ: 21,99", "OK"}));
    EXPECT_EQ(split_bytewise(in), (Lines{"AT+CSQ", "+CSQ: 21,99", "OK"}));
}

TEST(AtParserSplitter, LoneCrAndLoneLfEndLines) {
    EXPECT_EQ(split("+CPIN: READY\rOK\r"), (Lines{"+CPIN: READY", "OK"}));
    EXPECT_EQ(split("RDY\n+CFUN: 1\nOK\n"), (Lines{"RDY", "+CFUN: 1", "OK"}));
    EXPECT_EQ(split("\n\r\r\n\n\rOK\n\r"), (Lines{"OK"}));
}

TEST(AtParserSplitter, IncompleteTailWaitsForItsLineEnd) {
    LineSplitter s;
    Lines out;
    s.feed("\r\n+CEREG: 1,\"1A", out);
    EXPECT_TRUE(out.empty());
    s.feed("2B\",\"01ABCDEF\",7\r", out);
    EXPECT_EQ(out, (Lines{"+CEREG: 1,\"1A2B\",\"01ABCDEF\",7"}));
}

TEST(AtParserSplitter, NoiseBytesAfterResetDoNotEatFollowingLines) {
    static const char kNoise[] = "\0\0\xff\xfe\x01\x1b\r\n\0RDY\r\n\xff\xff" "OK\r\n";
    EXPECT_EQ(split(std::string_view(kNoise, sizeof kNoise - 1)), (Lines{"RDY", "OK"}));
    // A control byte inside a line marks the whole line as noise: a fragment of it must never
    // become a value (seen with the simulator's noise scenario: "(_" 0x14 NUL became the model).
    EXPECT_EQ(split(std::string("+CSQ: 2\0" "1,99\r\nOK\r\n", 18)), (Lines{"OK"}));
    EXPECT_EQ(split(std::string("(_\x14\0\r\nGM-LTE1\r\nOK\r\n", 20)), (Lines{"GM-LTE1", "OK"}));
}

TEST(AtParserSplitter, InvalidUtf8LinesAreDroppedValidOnesKept) {
    EXPECT_EQ(split("*\x89?\x89?\r\nQuectel\r\n"), (Lines{"Quectel"}));
    EXPECT_EQ(split("ab\xc3\r\nOK\r\n"), (Lines{"OK"}));            // truncated sequence
    EXPECT_EQ(split("ab\xc0\xaf\r\nOK\r\n"), (Lines{"OK"}));        // overlong '/'
    EXPECT_EQ(split("ab\xed\xa0\x80\r\nOK\r\n"), (Lines{"OK"}));   // surrogate
    EXPECT_EQ(split("+COPS: 0,0,\"\xe4\xb8\xad\xe5\x9b\xbd\xe7\xa7\xbb\xe5\x8a\xa8\",7\r\n"),
              (Lines{"+COPS: 0,0,\"\xe4\xb8\xad\xe5\x9b\xbd\xe7\xa7\xbb\xe5\x8a\xa8\",7"}));
}

TEST(AtParserSplitter, SpacesAroundLinesAreTrimmed) {
    EXPECT_EQ(split("  OK  \r\n \t \r\n"), (Lines{"OK"}));
}

TEST(AtParserSplitter, OverlongLineIsBoundedAndNextLineSurvives) {
    std::string in(3 * LineSplitter::max_line, 'A');
    in += "\r\nOK\r\n";
    const auto out = split(in);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].size(), LineSplitter::max_line);
    EXPECT_EQ(out[1], "OK");
}

TEST(AtParserSplitter, SmsPromptWithoutLineEnd) {
    LineSplitter s;
    Lines out;
    s.feed("AT+CMGS=\"+8613800000000\"\r\r\n> ", out);
    EXPECT_EQ(out, (Lines{"AT+CMGS=\"+8613800000000\""}));
    EXPECT_TRUE(s.at_prompt());
    s.reset();
    EXPECT_FALSE(s.at_prompt());

    LineSplitter bare;
    bare.feed("\r\n>", out);
    EXPECT_TRUE(bare.at_prompt());

    LineSplitter text;
    text.feed("\r\n> hello", out);
    EXPECT_FALSE(text.at_prompt());
}

struct FinalCase {
    const char* name;
    const char* line;
    AtStatus status;
    int code;
    const char* text;
};

class AtParserFinal : public ::testing::TestWithParam<FinalCase> {};

TEST_P(AtParserFinal, Classifies) {
    const auto& c = GetParam();
    const auto r = parse_final_result(c.line);
    ASSERT_TRUE(r.has_value()) << c.line;
    EXPECT_EQ(r->status, c.status);
    EXPECT_EQ(r->error_code, c.code);
    EXPECT_EQ(r->error_text, c.text);
    EXPECT_EQ(classify_line(c.line, "AT"), LineKind::final_result);
    EXPECT_EQ(classify_line(c.line, ""), LineKind::final_result);
}

INSTANTIATE_TEST_SUITE_P(
    Modules, AtParserFinal,
    ::testing::Values(
        FinalCase{"Ok", "OK", AtStatus::ok, -1, ""},
        FinalCase{"PlainError", "ERROR", AtStatus::error, -1, "ERROR"},
        FinalCase{"QuectelCmeNumeric", "+CME ERROR: 10", AtStatus::cme_error, 10, "10"},
        FinalCase{"QuectelCmeBusy", "+CME ERROR: 14", AtStatus::cme_error, 14, "14"},
        FinalCase{"LuatCmeVerbose", "+CME ERROR: SIM not inserted", AtStatus::cme_error, 10, "SIM not inserted"},
        FinalCase{"SimcomCmeVerboseBusy", "+CME ERROR: SIM busy", AtStatus::cme_error, 14, "SIM busy"},
        FinalCase{"CmeUnknownText", "+CME ERROR: frobnicated", AtStatus::cme_error, -1, "frobnicated"},
        FinalCase{"CmeNoSpace", "+CME ERROR:3", AtStatus::cme_error, 3, "3"},
        FinalCase{"CmsNumeric", "+CMS ERROR: 500", AtStatus::cms_error, 500, "500"},
        FinalCase{"CmsText", "+CMS ERROR: unknown error", AtStatus::cms_error, -1, "unknown error"},
        FinalCase{"QuectelCgactNoCarrier", "NO CARRIER", AtStatus::no_carrier, -1, "NO CARRIER"},
        FinalCase{"Busy", "BUSY", AtStatus::no_carrier, -1, "BUSY"},
        FinalCase{"NoAnswer", "NO ANSWER", AtStatus::no_carrier, -1, "NO ANSWER"},
        FinalCase{"NoDialtone", "NO DIALTONE", AtStatus::no_carrier, -1, "NO DIALTONE"},
        FinalCase{"Connect", "CONNECT", AtStatus::connect, -1, ""},
        FinalCase{"ConnectRate", "CONNECT 150000000", AtStatus::connect, -1, ""},
        FinalCase{"CommandNotSupport", "COMMAND NOT SUPPORT", AtStatus::error, -1, "COMMAND NOT SUPPORT"},
        FinalCase{"EzxModemError", "MODEM ERROR: 3", AtStatus::error, 3, "3"},
        // No code after the error: it still ends the command, and says it has no code.
        FinalCase{"CmeNoCode", "+CME ERROR:", AtStatus::cme_error, -1, ""},
        FinalCase{"CmeNoCodeSpace", "+CME ERROR: ", AtStatus::cme_error, -1, ""},
        FinalCase{"CmeBareWord", "+CME ERROR", AtStatus::cme_error, -1, ""},
        FinalCase{"CmsNoCode", "+CMS ERROR:", AtStatus::cms_error, -1, ""},
        FinalCase{"CmsBareWord", "+CMS ERROR", AtStatus::cms_error, -1, ""},
        FinalCase{"ModemErrorNoCode", "MODEM ERROR:", AtStatus::error, -1, ""},
        FinalCase{"ModemErrorBareWord", "MODEM ERROR", AtStatus::error, -1, ""}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(AtParserFinal, NotFinal) {
    for (const char* line : {"OKAY", "+CSQ: 21,99", "ERRORS", "CONNECTED", "NO CARRIERS", "+CME ERRO: 10", "", "+CME ERRORS", "MODEM ERRORS",
                             "OK OK", "RDY", "867160040123456"})
        EXPECT_FALSE(parse_final_result(line).has_value()) << line;
}

struct ClassCase {
    const char* name;
    const char* line;
    const char* pending;
    LineKind kind;
};

class AtParserClassify : public ::testing::TestWithParam<ClassCase> {};

TEST_P(AtParserClassify, Classifies) {
    const auto& c = GetParam();
    EXPECT_EQ(classify_line(c.line, c.pending), c.kind) << c.line << " while " << c.pending;
}

INSTANTIATE_TEST_SUITE_P(
    Modules, AtParserClassify,
    ::testing::Values(
        // Registration lines belong to the read command that asked for them, and only to it.
        ClassCase{"SimcomCregRead", "+CREG: 2,1,\"CE00\",\"01CEAD8F\"", "AT+CREG?", LineKind::info},
        ClassCase{"QuectelCregReadUnquoted", "+CREG: 1,1,84CD,00D30173", "AT+CREG?", LineKind::info},
        ClassCase{"CregUrcDuringCsq", "+CREG: 1", "AT+CSQ", LineKind::urc},
        ClassCase{"CregUrcDuringCregRead", "+CREG: 5", "AT+CREG?", LineKind::urc},
        ClassCase{"CregUrcAfterCregSet", "+CREG: 0,1", "AT+CREG=2", LineKind::urc},
        ClassCase{"CregTestForm", "+CREG: (0-2)", "AT+CREG=?", LineKind::info},
        ClassCase{"CeregUrcDuringCgregRead", "+CEREG: 1,\"1A2B\",\"01ABCDEF\",7", "AT+CGREG?", LineKind::urc},
        ClassCase{"LuatCeregRead", "+CEREG: 2,1,\"1A2B\",\"01ABCDEF\",7", "AT+CEREG?", LineKind::info},
        // Told by shape, not by who asked: a URC-layout line crossing the read query stays a URC.
        ClassCase{"CeregUrcDuringCeregRead", "+CEREG: 1,\"1A2B\",\"01ABCDEF\",7", "AT+CEREG?", LineKind::urc},
        ClassCase{"CregUnquotedUrcDuringCregRead", "+CREG: 1,84CD,00D30156", "AT+CREG?", LineKind::urc},
        ClassCase{"NovatelCeregReadWithRac", "+CEREG: 2,1, 1F00, 20 ,79D903 ,7", "AT+CEREG?", LineKind::info},
        ClassCase{"C5gregRead", "+C5GREG: 2,1,1F00,79D903,11,6,ABCDEF", "AT+C5GREG?", LineKind::info},
        ClassCase{"C5gregUrcDuringCsq", "+C5GREG: 1,1F00,79D903,11,6,ABCDEF", "AT+CSQ", LineKind::urc},
        ClassCase{"ConcatenatedRead", "+CGREG: 2,1,\"D504\",\"80428B5\",7", "AT+CREG?;+CGREG?", LineKind::info},
        ClassCase{"LowercaseCommand", "+CREG: 0,1", "at+creg?", LineKind::info},
        ClassCase{"CpinRead", "+CPIN: READY", "AT+CPIN?", LineKind::info},
        ClassCase{"CpinUrcAfterPinEntry", "+CPIN: READY", "AT+CPIN=\"1234\"", LineKind::urc},
        ClassCase{"CgevDuringCgpaddr", "+CGEV: NW PDN DEACT 1", "AT+CGPADDR=1", LineKind::urc},
        ClassCase{"CgerepReadIsNotCgev", "+CGEREP: 1,0", "AT+CGEREP?", LineKind::info},
        // Vendor indications.
        ClassCase{"QuectelRdy", "RDY", "AT", LineKind::urc},
        ClassCase{"QuectelSmsDone", "+QIND: SMS DONE", "AT+CPIN?", LineKind::urc},
        ClassCase{"QuectelQindCsq", "+QIND: \"csq\",21,99", "AT+CSQ", LineKind::urc},
        ClassCase{"QuectelQusim", "+QUSIM: 1", "ATE0", LineKind::urc},
        ClassCase{"QuectelNetdevStatus", "+QNETDEVSTATUS: 0,0,4,1", "AT+QNETDEVCTL?", LineKind::urc},
        ClassCase{"QuectelPoweredDown", "POWERED DOWN", "AT+QPOWD=1", LineKind::urc},
        ClassCase{"SimcomSmsDone", "SMS DONE", "AT", LineKind::urc},
        ClassCase{"SimcomPbDone", "PB DONE", "AT", LineKind::urc},
        ClassCase{"AsrAtReady", "*ATREADY: 1", "AT", LineKind::urc},
        ClassCase{"SimcomCallReadyMixedCase", "Call Ready", "AT", LineKind::urc},
        ClassCase{"LuatMode", "^MODE: 17,17", "AT+CSQ", LineKind::urc},
        ClassCase{"HuaweiNdisstat", "^NDISSTAT: 0,,,\"IPV4\"", "AT^NDISDUP=1,1", LineKind::urc},
        ClassCase{"HuaweiSysstart", "^SYSSTART", "AT", LineKind::urc},
        ClassCase{"HuaweiRssi", "^RSSI: 20", "AT+CSQ", LineKind::urc},
        ClassCase{"HuaweiHcsq", "^HCSQ: \"LTE\",49,48,129,28", "AT+COPS?", LineKind::urc},
        ClassCase{"HuaweiNdisstatQuery", "^NDISSTATQRY: 1,,,\"IPV4\"", "AT^NDISSTATQRY?", LineKind::info},
        ClassCase{"TimeZone", "+CTZV: +32", "AT", LineKind::urc},
        // Replies, including bare identity lines and prefixes that are no URC.
        ClassCase{"Csq", "+CSQ: 21,99", "AT+CSQ", LineKind::info},
        ClassCase{"BareImei", "867160040123456", "AT+CGSN", LineKind::info},
        ClassCase{"SimcomIccidOtherPrefix", "+ICCID: 89860025128306012474", "AT+CICCID", LineKind::info},
        ClassCase{"SimcomCpsi", "+CPSI: LTE,Online,460-00,0x1816,27447553,263,EUTRAN-BAND3", "AT+CPSI?",
                  LineKind::info},
        ClassCase{"UnknownPrefixGoesToResponse", "+CPSI: NO SERVICE,Online", "AT+CSQ", LineKind::info},
        // Nothing pending: everything that is not a final result is unsolicited.
        ClassCase{"IdleCreg", "+CREG: 1", "", LineKind::urc},
        ClassCase{"IdleUnknownLine", "some vendor banner", "", LineKind::urc}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(AtParserUrc, PrefixListNeedsWordBoundary) {
    EXPECT_TRUE(is_urc_prefix("RDY"));
    EXPECT_TRUE(is_urc_prefix("RING"));
    EXPECT_FALSE(is_urc_prefix("RINGER"));
    EXPECT_FALSE(is_urc_prefix("RDYX"));
    EXPECT_FALSE(is_urc_prefix("+CREGX: 1"));
    EXPECT_FALSE(is_urc_prefix("+CSQ: 21,99"));
}

struct UrcKindCase {
    const char* name;
    const char* line;
    UrcKind kind;
};

class AtParserUrcKind : public ::testing::TestWithParam<UrcKindCase> {};

TEST_P(AtParserUrcKind, Classifies) {
    const auto& c = GetParam();
    EXPECT_EQ(classify_urc(c.line), c.kind) << c.line;
}

INSTANTIATE_TEST_SUITE_P(
    Modules, AtParserUrcKind,
    ::testing::Values(
        UrcKindCase{"Creg", "+CREG: 1", UrcKind::registration},
        UrcKindCase{"CgregWithCell", "+CGREG: 5,\"D504\",\"80428B5\",2", UrcKind::registration},
        UrcKindCase{"QuectelCereg", "+CEREG: 1,\"1A2B\",\"01ABCDEF\",7", UrcKind::registration},
        UrcKindCase{"FiveG", "+C5GREG: 1", UrcKind::registration},
        UrcKindCase{"PdnDeact", "+CGEV: NW PDN DEACT 1", UrcKind::packet_event},
        UrcKindCase{"Detach", "+CGEV: NW DETACH", UrcKind::packet_event},
        UrcKindCase{"SimRemoved", "+CPIN: NOT INSERTED", UrcKind::sim},
        UrcKindCase{"SimReady", "+CPIN: READY", UrcKind::sim},
        UrcKindCase{"QuectelRdy", "RDY", UrcKind::boot},
        UrcKindCase{"HuaweiSysstart", "^SYSSTART", UrcKind::boot},
        UrcKindCase{"AsrAtReady", "*ATREADY: 1", UrcKind::boot},
        UrcKindCase{"CpasReady", "+CPAS: 0 READY", UrcKind::boot},
        // Banners are whole lines: look-alikes are no restart.
        UrcKindCase{"AtReadyZero", "*ATREADY: 0", UrcKind::other},
        UrcKindCase{"LowercaseRdy", "rdy", UrcKind::other},
        UrcKindCase{"RdyWithText", "RDY 1", UrcKind::other},
        UrcKindCase{"CpasBusy", "+CPAS: 4", UrcKind::other},
        // Prefixes are case-sensitive and need their colon.
        UrcKindCase{"LowercaseCreg", "+creg: 1", UrcKind::other},
        UrcKindCase{"CregxIsNotCreg", "+CREGX: 1", UrcKind::other},
        UrcKindCase{"CgerepIsNotCgev", "+CGEREP: 1,0", UrcKind::other},
        UrcKindCase{"QuectelNetdevStatus", "+QNETDEVSTATUS: 0,0,4,1", UrcKind::other},
        UrcKindCase{"HuaweiNdisstat", "^NDISSTAT: 0,,,\"IPV4\"", UrcKind::other},
        UrcKindCase{"UnknownVendorLine", "some vendor banner", UrcKind::other},
        UrcKindCase{"Empty", "", UrcKind::other}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(AtParserSolicits, MatchesOnlyTheCommandsOwnName) {
    EXPECT_TRUE(solicits("AT+CGPADDR=1", "+CGPADDR: 1,\"10.76.51.180\""));
    EXPECT_TRUE(solicits("AT+CPIN?", "+CPIN: SIM PIN"));
    EXPECT_FALSE(solicits("AT+CGREG?", "+CREG: 0,1"));
    EXPECT_FALSE(solicits("AT+CREG?", "+CREG: 1"));
    EXPECT_FALSE(solicits("AT", "+CREG: 0,1"));
    EXPECT_FALSE(solicits("ATE0", "E0"));
    EXPECT_FALSE(solicits("", "+CREG: 0,1"));
}

TEST(AtParserEcho, EchoIsTheCommandItself) {
    EXPECT_TRUE(is_echo("AT+CSQ", "AT+CSQ"));
    EXPECT_TRUE(is_echo("at+csq", "AT+CSQ"));
    EXPECT_TRUE(is_echo("AT+CGDCONT=1,\"IP\",\"cmnet\"", "AT+CGDCONT=1,\"IP\",\"cmnet\""));
    EXPECT_FALSE(is_echo("AT+CSQ", "AT+CESQ"));
    EXPECT_FALSE(is_echo("+CSQ: 21,99", "AT+CSQ"));
    EXPECT_FALSE(is_echo("", ""));
}


// A framer in the shape of the module MQTT downlink URCs (the real one is mqtt's).
std::size_t test_framer(std::string_view head, bool line_end) {
    if (line_end) return head.starts_with("+CMQTTRXPAYLOAD: 0,") ? std::stoul(std::string(head.substr(19))) : 0;
    if (head.starts_with("+MSUB: \"t\",") && head.ends_with(" byte,")) return std::stoul(std::string(head.substr(11)));
    if (head == "+QMTRECV: 0,0,\"t\",4,\"") return 4;
    return 0;
}

TEST(AtParserSplitter, CountedRawBytesInsideAUrcAreTakenAsTheyAre) {
    const std::string payload("A\r\nOK\r\n\0\xff ", 10);
    const std::string stream = "\r\n+MSUB: \"t\",10 byte," + payload + "\r\nOK\r\n" +
                               "\r\n+QMTRECV: 0,0,\"t\",4,\"\r\n\"x\"\r\n" +
                               "\r\n+CMQTTRXPAYLOAD: 0,6\r\n\r\nOK\r\n\r\n+CMQTTRXEND: 0\r\n";
    for (bool bytewise : {false, true}) {
        LineSplitter s;
        s.set_raw_framer(test_framer);
        Lines out;
        if (bytewise)
            for (char c : stream) s.feed(std::string_view(&c, 1), out);
        else
            s.feed(stream, out);
        EXPECT_EQ(out, (Lines{"+MSUB: \"t\",10 byte," + payload, "OK", "+QMTRECV: 0,0,\"t\",4,\"\r\n\"x\"",
                             "+CMQTTRXPAYLOAD: 0,6\n\r\nOK\r\n", "+CMQTTRXEND: 0"}))
            << (bytewise ? "bytewise" : "at once");
    }
    // Without a framer the same bytes are lines and noise, as before.
    EXPECT_EQ(split("+MSUB: \"t\",2 byte,ab\r\n"), (Lines{"+MSUB: \"t\",2 byte,ab"}));
}

TEST(AtParserUrc, ModuleMqttOutcomesAreUnsolicitedEvenWhileACommandIsPending) {
    for (const char* line : {"CONNECT OK", "CONNACK OK", "SUBACK", "PUBACK", "CLOSED", "+PDP DEACT", "+QMTOPEN: 0,0",
                             "+QMTSTAT: 0,1", "+QMTRECV: 0,0,\"t\",1,\"x\"", "+CMQTTCONNLOST: 0,1", "+CMQTTNONET",
                             "+CMQTTRXEND: 0", "+MSUB: \"t\",1 byte,x"})
        EXPECT_EQ(classify_line(line, "AT+CSQ"), LineKind::urc) << line;
    // "CONNECT OK" reports the module's own TCP connection, not data mode.
    EXPECT_FALSE(parse_final_result("CONNECT OK"));
    EXPECT_TRUE(parse_final_result("CONNECT 115200"));
    // Read forms are the command's own lines.
    EXPECT_EQ(classify_line("+QMTCONN: 0,3", "AT+QMTCONN?"), LineKind::info);
    EXPECT_EQ(classify_line("+CMQTTDISC: 0,0", "AT+CMQTTDISC?"), LineKind::info);
    EXPECT_EQ(classify_line("+QMTCONN: 0,0,0", "AT+QMTCONN=0,\"id\""), LineKind::urc);
}

}  // namespace
}  // namespace cellgate::modem
