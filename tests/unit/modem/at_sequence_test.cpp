// The sequencing under the bring-up script, against the scripted module: order, stopping on a
// failed required step, the one wait, and restart() making every older answer and wait stale.
#include "modem/at_sequence.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "unit/support/fake_at.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate::modem {
namespace {

using namespace std::chrono_literals;
using testing::FakeAt;
using testing::FakeScheduler;
using testing::ok;

class AtSequenceTest : public ::testing::Test {
protected:
    void SetUp() override {
        at.open();
        seq.on_broken = [this](const std::string& step) { broken.push_back(step); };
    }
    AtCallback record(std::string name) {
        return [this, name](const AtResult& r) { got.push_back(name + "=" + to_string(r.status)); };
    }

    FakeScheduler sched;
    FakeAt at{sched};
    AtSequence seq{sched, at};
    const AtCallback ignore = [](const AtResult&) {};
    std::vector<std::string> got;
    std::vector<std::string> broken;
};

TEST_F(AtSequenceTest, SendDeliversTheResultOnTheLoop) {
    seq.send("AT", 1s, record("AT"));
    EXPECT_TRUE(got.empty()) << "never from inside send()";
    sched.advance(0ms);
    EXPECT_EQ(got, (std::vector<std::string>{"AT=ok"}));
}

TEST_F(AtSequenceTest, RunAllSendsEveryQueryWhateverItAnswers) {
    std::vector<AtSequence::Query> q;
    q.push_back({"AT+CGMI", 1s, record("CGMI")});
    q.push_back({"AT+NOPE", 1s, record("NOPE")});  // the fake answers ERROR
    q.push_back({"ATE0", 1s, nullptr});
    q.push_back({"AT+CGMM", 1s, record("CGMM")});
    bool done = false;
    seq.run_all(std::move(q), [&] { done = true; });
    sched.advance(1s);
    EXPECT_TRUE(done);
    EXPECT_EQ(got, (std::vector<std::string>{"CGMI=ok", "NOPE=error", "CGMM=ok"}));
    EXPECT_EQ(at.history, (std::vector<std::string>{"AT+CGMI", "AT+NOPE", "ATE0", "AT+CGMM"}));
}

TEST_F(AtSequenceTest, RunRequiredStopsAtTheFirstFailure) {
    std::vector<AtStep> steps = {{"ATE0", 1s}, {"AT+NOPE", 1s}, {"AT+CGMI", 1s}};
    bool done = false;
    std::string failed;
    seq.run_required(steps, [&] { done = true; }, [&](const AtStep& s, const AtResult& r) {
        failed = s.command + " " + to_string(r.status);
    });
    sched.advance(1s);
    EXPECT_FALSE(done);
    EXPECT_EQ(failed, "AT+NOPE error");
    EXPECT_FALSE(at.sent("AT+CGMI"));

    at.history.clear();
    seq.run_required({{"ATE0", 1s}, {"AT+CGMI", 1s}}, [&] { done = true; }, [&](const AtStep&, const AtResult&) {
        ADD_FAILURE() << "nothing fails";
    });
    sched.advance(1s);
    EXPECT_TRUE(done);
    EXPECT_EQ(at.history, (std::vector<std::string>{"ATE0", "AT+CGMI"}));
}

TEST_F(AtSequenceTest, EmptyRunsFinishAtOnce) {
    int done = 0;
    seq.run_all({}, [&] { ++done; });
    seq.run_required({}, [&] { ++done; }, nullptr);
    EXPECT_EQ(done, 2);
}

TEST_F(AtSequenceTest, ANewWaitReplacesThePendingOne) {
    std::vector<int> fired;
    seq.after(5s, [&] { fired.push_back(1); });
    seq.after(2s, [&] { fired.push_back(2); });
    sched.advance(10s);
    EXPECT_EQ(fired, (std::vector<int>{2}));
}

TEST_F(AtSequenceTest, RestartMakesOlderAnswersAndWaitsStale) {
    at.never_answer("AT+COPS=?");
    seq.send("AT+COPS=?", 180s, record("COPS"));
    seq.send("AT", 1s, record("AT"));
    bool waited = false;
    seq.after(1s, [&] { waited = true; });
    seq.restart();
    seq.send("AT+CSQ", 1s, record("CSQ"));
    sched.advance(200s);
    EXPECT_EQ(got, (std::vector<std::string>{"CSQ=ok"}));
    EXPECT_FALSE(waited);
}

TEST_F(AtSequenceTest, PortClosedIsLeftToTheTransportsOnLost) {
    at.lose("unplugged");
    seq.send("AT", 1s, record("AT"));
    sched.advance(1s);
    EXPECT_TRUE(got.empty());
}

TEST_F(AtSequenceTest, CountsTimeoutsInARowUntilAnAnswer) {
    at.never_answer("AT+CSQ");
    for (int i = 0; i < 3; ++i) {
        seq.send("AT+CSQ", 1s, ignore);
        sched.advance(2s);
    }
    EXPECT_EQ(seq.consecutive_timeouts(), 3);
    seq.send("AT", 1s, ignore);
    sched.advance(1s);
    EXPECT_EQ(seq.consecutive_timeouts(), 0);

    seq.send("AT+CSQ", 1s, ignore);
    sched.advance(2s);
    EXPECT_EQ(seq.consecutive_timeouts(), 1);
    seq.restart();
    EXPECT_EQ(seq.consecutive_timeouts(), 0);
}

TEST_F(AtSequenceTest, AnswersAfterTheSequenceIsGoneAreDropped) {
    bool called = false;
    {
        AtSequence gone{sched, at};
        gone.send("AT", 1s, [&](const AtResult&) { called = true; });
    }
    sched.advance(1s);
    EXPECT_FALSE(called);
}

TEST_F(AtSequenceTest, AThrowingContinuationIsReportedAndTheNextCommandStillWorks) {
    seq.send("AT", 1s, [](const AtResult&) { throw std::runtime_error("parser bug"); });
    seq.after(1s, [] { throw std::logic_error("timer bug"); });
    EXPECT_NO_THROW(sched.advance(2s));
    EXPECT_EQ(broken, (std::vector<std::string>{"AT reply", "delayed step"}));

    seq.send("AT+CSQ", 1s, record("CSQ"));
    sched.advance(1s);
    EXPECT_EQ(got, (std::vector<std::string>{"CSQ=ok"}));
}

TEST_F(AtSequenceTest, GuardRunsTheOwnersCallbacksToo) {
    int ran = 0;
    seq.guard("status poll", [&] { ++ran; });
    seq.guard("status poll", [] { throw std::runtime_error("boom"); });
    EXPECT_EQ(ran, 1);
    EXPECT_EQ(broken, (std::vector<std::string>{"status poll"}));
    // A broken-handler that throws as well is contained.
    seq.on_broken = [](const std::string&) { throw std::runtime_error("again"); };
    EXPECT_NO_THROW(seq.guard("URC handler", [] { throw 42; }));
}

}  // namespace
}  // namespace cellgate::modem
