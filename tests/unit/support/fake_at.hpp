// A scripted AtTransport: answers commands from a table (a generic 3GPP module on a good LTE
// network by default), delivers answers on the next loop turn like the real channel, and records
// every command so tests can assert on the conversation.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "modem/at_types.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate::testing {

using modem::AtResult;
using modem::AtStatus;

inline AtResult ok(std::vector<std::string> lines = {}) {
    AtResult r;
    r.lines = std::move(lines);
    return r;
}

inline AtResult cme(int code) {
    AtResult r;
    r.status = AtStatus::cme_error;
    r.error_code = code;
    r.error_text = std::to_string(code);
    return r;
}

inline AtResult plain_error() {
    AtResult r;
    r.status = AtStatus::error;
    r.error_text = "ERROR";
    return r;
}

class FakeAt final : public modem::AtTransport {
public:
    // nullopt = the module never answers (the command times out).
    using Handler = std::function<std::optional<AtResult>()>;

    explicit FakeAt(FakeScheduler& sched) : sched_(sched) { install_defaults(); }

    void send(std::string command, std::chrono::milliseconds timeout, modem::AtCallback cb) override {
        history.push_back(command);
        if (!open_) {
            sched_.defer([cb] {
                AtResult r;
                r.status = AtStatus::port_closed;
                cb(r);
            });
            return;
        }
        std::optional<AtResult> answer;
        if (silent) {
            answer = std::nullopt;
        } else if (auto it = table.find(command); it != table.end()) {
            answer = it->second();
        } else {
            answer = plain_error();
        }
        if (answer) {
            sched_.defer([this, cb, a = *answer] {
                if (on_heard) on_heard();
                cb(a);
            });
        } else {
            pending_timeouts_.push_back({sched_.make_timer([cb] {
                AtResult r;
                r.status = AtStatus::timeout;
                cb(r);
            }), cb});
            pending_timeouts_.back().timer->arm(timeout);
        }
    }

    void cancel_all() override {
        auto pending = std::move(pending_timeouts_);
        pending_timeouts_.clear();
        for (auto& p : pending)
            sched_.defer([cb = p.cb] {
                AtResult r;
                r.status = AtStatus::port_closed;
                cb(r);
            });
    }

    bool is_open() const override { return open_; }

    void open() {
        open_ = true;
        if (on_opened) on_opened();
    }
    void lose(const std::string& why) {
        open_ = false;
        cancel_all();
        if (on_lost) on_lost(why);
    }
    void urc(const std::string& line) {
        if (on_heard) on_heard();
        if (on_urc) on_urc(line);
    }

    void answer(const std::string& command, AtResult r) {
        table[command] = [r] { return r; };
    }
    void answer_lines(const std::string& command, std::vector<std::string> lines) { answer(command, ok(std::move(lines))); }
    void never_answer(const std::string& command) {
        table[command] = [] { return std::optional<AtResult>{}; };
    }

    size_t count(const std::string& command) const {
        return static_cast<size_t>(std::count(history.begin(), history.end(), command));
    }
    bool sent(const std::string& command) const { return count(command) > 0; }

    std::map<std::string, Handler> table;
    std::vector<std::string> history;
    bool silent = false;
    bool data_up = false;

private:
    struct PendingTimeout {
        std::unique_ptr<Timer> timer;
        modem::AtCallback cb;
    };

    void install_defaults() {
        for (const char* c : {"AT", "ATE0", "AT+CMEE=1", "AT+CGEREP=2,1", "AT+CREG=2", "AT+CGREG=2", "AT+CEREG=2",
                              "AT+COPS=3,0", "AT+COPS=3,2", "AT+CFUN=1", "AT+CFUN=0", "AT+CGATT=1", "AT+CGATT=0"})
            answer(c, ok());
        answer_lines("AT+CGMI", {"Generic Modem Inc"});
        answer_lines("AT+CGMM", {"GM-1"});
        answer_lines("AT+CGMR", {"GM1.0.7"});
        answer_lines("AT+CGSN", {"867962040123456"});
        answer_lines("AT+CPIN?", {"+CPIN: READY"});
        answer_lines("AT+CIMI", {"460001234567890"});
        answer_lines("AT+CRSM=176,12258,0,0,10", {"+CRSM: 144,0,\"98681031981083022433\""});
        answer_lines("AT+CFUN?", {"+CFUN: 1"});
        answer_lines("AT+CEREG?", {"+CEREG: 2,1,\"1A2B\",\"01ABCDEF\",7"});
        answer_lines("AT+CGREG?", {"+CGREG: 2,0"});
        answer_lines("AT+CREG?", {"+CREG: 2,1,\"1A2B\",\"01ABCDEF\",7"});
        table["AT+COPS?"] = [this] {
            const bool numeric = std::find(history.rbegin(), history.rend(), "AT+COPS=3,2") <
                                 std::find(history.rbegin(), history.rend(), "AT+COPS=3,0");
            return std::optional<AtResult>(
                ok({numeric ? "+COPS: 0,2,\"46000\",7" : "+COPS: 0,0,\"CHINA MOBILE\",7"}));
        };
        answer_lines("AT+CSQ", {"+CSQ: 21,99"});
        answer_lines("AT+CESQ", {"+CESQ: 99,99,255,255,20,50"});
        answer_lines("AT+CGATT?", {"+CGATT: 1"});
        answer("AT+CGDCONT=1,\"IP\",\"cmnet\"", ok());
        table["AT+CGACT=1,1"] = [this] {
            data_up = true;
            return std::optional<AtResult>(ok());
        };
        table["AT+CGACT=0,1"] = [this] {
            data_up = false;
            return std::optional<AtResult>(ok());
        };
        table["AT+CGACT?"] = [this] {
            return std::optional<AtResult>(ok({data_up ? "+CGACT: 1,1" : "+CGACT: 1,0"}));
        };
        table["AT+CGPADDR=1"] = [this] {
            return std::optional<AtResult>(ok({data_up ? "+CGPADDR: 1,\"10.64.12.34\"" : "+CGPADDR: 1,\"0.0.0.0\""}));
        };
        table["AT+CFUN=1,1"] = [this] {
            data_up = false;
            return std::optional<AtResult>(ok());
        };
    }

    FakeScheduler& sched_;
    bool open_ = false;
    std::vector<PendingTimeout> pending_timeouts_;
};

}  // namespace cellgate::testing
