// What the AT log may show: credentials masked in commands (by the command table), in the echo of
// a command, and in the read replies that give them back.
#include "modem/at_redact.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cellgate::modem {
namespace {

struct RedactCase {
    const char* in;
    const char* out;
};

class AtRedactCommand : public ::testing::TestWithParam<RedactCase> {};
TEST_P(AtRedactCommand, Masks) { EXPECT_EQ(redacted(GetParam().in), GetParam().out); }
INSTANTIATE_TEST_SUITE_P(
    Commands, AtRedactCommand,
    ::testing::Values(
        RedactCase{"AT+CGAUTH=1,2,\"bob\",\"s3cret\"", "AT+CGAUTH=1,2,\"***\",\"***\""},
        RedactCase{"AT+CGAUTH=1,1,\"s3cret\",\"bob\"", "AT+CGAUTH=1,1,\"***\",\"***\""},
        RedactCase{"AT+QICSGP=1,1,\"cmnet\",\"bob\",\"s3cret\",2", "AT+QICSGP=1,1,\"cmnet\",\"***\",\"***\",2"},
        RedactCase{"AT+QICSGP=1,1,\"cmnet\",\"\",\"\",0", "AT+QICSGP=1,1,\"cmnet\",\"\",\"\",0"},
        RedactCase{"AT+CPNETAPN=2,\"jscmiot\",\"u9682\",\"iot98765\",2", "AT+CPNETAPN=2,\"jscmiot\",\"***\",\"***\",2"},
        RedactCase{"AT+CPNETAPN=2,jscmiot,u9682,iot98765,2", "AT+CPNETAPN=2,jscmiot,***,***,2"},
        RedactCase{"AT^NDISDUP=1,1,\"corp\",\"bob\",\"s3cret\",2", "AT^NDISDUP=1,1,\"corp\",\"***\",\"***\",2"},
        RedactCase{"AT^NDISDUP=1,1,\"corp\"", "AT^NDISDUP=1,1,\"corp\""},
        RedactCase{"AT+CNCFG=0,1,\"apn\",\"user\",\"pass\",3", "AT+CNCFG=0,1,\"apn\",\"***\",\"***\",3"},
        RedactCase{"AT+CPIN=\"1234\"", "AT+CPIN=\"***\""},
        RedactCase{"AT+CPIN=\"12345678\",\"4321\"", "AT+CPIN=\"***\",\"***\""},
        RedactCase{"at+cpin=1234", "at+cpin=***"},
        RedactCase{"AT+CGAUTH=1,1,\"a,b\",\"c\"", "AT+CGAUTH=1,1,\"***\",\"***\""},
        RedactCase{"AT+CPIN?", "AT+CPIN?"},
        RedactCase{"AT+CGDCONT=1,\"IP\",\"internet\"", "AT+CGDCONT=1,\"IP\",\"internet\""},
        RedactCase{"AT+CGACT=1,1", "AT+CGACT=1,1"},
        RedactCase{"AT", "AT"},
        RedactCase{"", ""},
        // Quectel MQTT AT manual: QMTCONN <idx>,<client id>,<user>,<password>.
        RedactCase{"AT+QMTCONN=0,\"dev1\",\"dev1&a1b2\",\"9f8e7d\"", "AT+QMTCONN=0,\"dev1\",\"***\",\"***\""},
        RedactCase{"AT+QMTCONN=0,\"dev1\"", "AT+QMTCONN=0,\"dev1\""},
        // Its Aliyun subcommand carries the device secret; other QMTCFG subcommands carry none.
        RedactCase{"AT+QMTCFG=\"aliauth\",0,\"a1pk\",\"dev1\",\"ds-secret\"",
                   "AT+QMTCFG=\"aliauth\",0,\"a1pk\",\"dev1\",\"***\""},
        RedactCase{"AT+QMTCFG=\"keepalive\",0,60", "AT+QMTCFG=\"keepalive\",0,60"},
        // SIMCom MQTT: CMQTTCONNECT <idx>,<server>,<keepalive>,<clean>,<user>,<password>.
        RedactCase{"AT+CMQTTCONNECT=0,\"tcp://iot.example:1883\",60,1,\"u1\",\"p1\"",
                   "AT+CMQTTCONNECT=0,\"tcp://iot.example:1883\",60,1,\"***\",\"***\""},
        // Luat MQTT: MCONFIG <client id>,<user>,<password>.
        RedactCase{"AT+MCONFIG=\"dev1\",\"u1\",\"p1\"", "AT+MCONFIG=\"dev1\",\"***\",\"***\""},
        RedactCase{"AT^AUTHDATA=1,2,\"\",\"p1\",\"u1\"", "AT^AUTHDATA=1,2,\"\",\"***\",\"***\""},
        RedactCase{"AT+CLCK=\"SC\",1,\"1234\"", "AT+CLCK=\"***\",***,\"***\""},
        RedactCase{"AT+CPWD=\"SC\",\"1234\",\"5678\"", "AT+CPWD=\"***\",\"***\",\"***\""}),
    [](const auto& p) { return std::to_string(p.index); });

class AtRedactLine : public ::testing::TestWithParam<RedactCase> {};
TEST_P(AtRedactLine, Masks) { EXPECT_EQ(redacted_line(GetParam().in), GetParam().out); }
INSTANTIATE_TEST_SUITE_P(
    ModuleLines, AtRedactLine,
    ::testing::Values(
        // The echo of a command is the command.
        RedactCase{"AT+CPIN=\"1234\"", "AT+CPIN=\"***\""},
        RedactCase{"at+cgauth=1,2,\"bob\",\"s3cret\"", "at+cgauth=1,2,\"***\",\"***\""},
        // Read replies that give credentials back.
        RedactCase{"+QICSGP: 1,\"cmnet\",\"bob\",\"s3cret\",2", "+QICSGP: 1,\"cmnet\",\"***\",\"***\",2"},
        RedactCase{"+CGAUTH: 1,2,\"bob\",\"s3cret\"", "+CGAUTH: 1,2,\"***\",\"***\""},
        RedactCase{"PWD:iot98765", "PWD:***"},
        // Lines without secrets pass as they are.
        RedactCase{"+CPIN: READY", "+CPIN: READY"},
        RedactCase{"+CSQ: 21,99", "+CSQ: 21,99"},
        RedactCase{"APN:cmnet", "APN:cmnet"},
        RedactCase{"OK", "OK"}),
    [](const auto& p) { return std::to_string(p.index); });

}  // namespace
}  // namespace cellgate::modem
