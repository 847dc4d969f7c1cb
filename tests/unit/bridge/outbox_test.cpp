// The durable outbox against real SQLite files in a temp dir, with a real poll loop: order,
// grouped commits, recovery after close and after kill -9, limits, refusal of foreign files and
// I/O errors reaching the caller.
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bridge/outbox.hpp"
#include "bridge/outbox_stats.hpp"
#include "unit/support/poll_scheduler.hpp"
#include "unit/support/temp_dir.hpp"

namespace cellgate::bridge {
namespace {

using namespace std::chrono_literals;

using testing::PollScheduler;
using testing::TempDir;

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

OutboxMessage msg(std::string session, std::string payload, int64_t created_ms = 0) {
    OutboxMessage m;
    m.session = std::move(session);
    m.topic = "/sys/pk/" + m.session + "/thing/event/property/post";
    m.format = "property";
    m.payload = std::move(payload);
    m.qos = 1;
    m.created_ms = created_ms;
    return m;
}

std::vector<std::string> payloads(const std::vector<OutboxMessage>& ms) {
    std::vector<std::string> out;
    for (const auto& m : ms) out.push_back(m.payload);
    return out;
}

// Runs one SQL statement on the file with a plain connection of the test's own.
std::string sql_text(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
        const auto* t = sqlite3_column_text(s, 0);
        if (t) out = reinterpret_cast<const char*>(t);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

class OutboxTest : public ::testing::Test {
protected:
    void SetUp() override {
        cfg_.path = dir_ / "outbox.db";
        cfg_.commit_window = 5ms;
    }

    std::unique_ptr<Outbox> open() {
        std::string error;
        auto o = open_outbox(loop_, cfg_, error);
        EXPECT_NE(o, nullptr) << error;
        if (o) {
            o->on_available = [this](const std::string& s) { available_.push_back(s); };
            o->on_dropped = [this](const std::string& s, uint64_t n, const std::string& why) {
                dropped_.push_back(s + ":" + std::to_string(n) + ":" + why);
            };
        }
        return o;
    }

    std::string refused() {
        std::string error;
        auto o = open_outbox(loop_, cfg_, error);
        EXPECT_EQ(o, nullptr);
        return error;
    }

    // Enqueues and waits for the commit; returns the id (0 on error, with the error recorded).
    uint64_t put(Outbox& o, OutboxMessage m) {
        bool finished = false;
        uint64_t id = 0;
        o.enqueue(std::move(m), [&](std::expected<uint64_t, OutboxError> r) {
            finished = true;
            if (r) id = *r;
            else {
                last_error_ = r.error().message;
                last_kind_ = r.error().kind;
            }
        });
        EXPECT_TRUE(loop_.run_until([&] { return finished; }, 5000ms));
        return id;
    }

    // Rows committed by an earlier run: not in memory, read back from the file when handed out.
    std::unique_ptr<Outbox> reopened_with(const std::string& session, std::initializer_list<const char*> rows) {
        {
            auto o = open();
            for (const char* p : rows) put(*o, msg(session, p));
        }
        auto o = open();
        loop_.run_once(0ms);  // the deferred on_available of the recovered backlog
        return o;
    }

    TempDir dir_{"cellgate-outbox"};
    OutboxConfig cfg_;
    PollScheduler loop_;
    std::vector<std::string> available_;
    std::vector<std::string> dropped_;
    std::string last_error_;
    OutboxErrorKind last_kind_ = OutboxErrorKind::failed;
};

TEST_F(OutboxTest, CompletesOnTheLoopWithIncreasingIdsAndHandsOutInOrder) {
    auto o = open();
    std::vector<uint64_t> ids;
    bool inside = true;
    bool called_inside = false;
    for (int i = 0; i < 5; ++i) {
        o->enqueue(msg("ali", "{\"t\":" + std::to_string(i) + "}"), [&](std::expected<uint64_t, OutboxError> r) {
            called_inside = called_inside || inside;
            ASSERT_TRUE(r) << r.error().message;
            ids.push_back(*r);
        });
    }
    inside = false;
    ASSERT_TRUE(loop_.run_until([&] { return ids.size() == 5; }, 5000ms));
    EXPECT_FALSE(called_inside);
    for (size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]);
    // The first insert commits at once, the rest share the next commit: one call per commit.
    EXPECT_EQ(std::set<std::string>(available_.begin(), available_.end()), std::set<std::string>{"ali"});

    const auto all = o->next("ali", 0, 10);
    ASSERT_EQ(all.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(all[i].id, ids[i]);
        EXPECT_EQ(all[i].payload, "{\"t\":" + std::to_string(i) + "}");
        EXPECT_EQ(all[i].format, "property");
        EXPECT_EQ(all[i].topic, "/sys/pk/ali/thing/event/property/post");
        EXPECT_EQ(all[i].qos, 1);
        EXPECT_GT(all[i].created_ms, now_ms() - 60'000);
    }
    const auto window = o->next("ali", ids[1], 2);
    ASSERT_EQ(window.size(), 2u);
    EXPECT_EQ(window[0].id, ids[2]);
    EXPECT_EQ(window[1].id, ids[3]);
    EXPECT_TRUE(o->next("other", 0, 10).empty());

    const auto c = o->counters("ali");
    EXPECT_EQ(c.queued, 5u);
    EXPECT_EQ(c.queued_bytes, 5u * 7u);
}

TEST_F(OutboxTest, GroupsABurstIntoFewCommits) {
    cfg_.commit_window = 50ms;
    auto o = open();
    const auto before = outbox_commit_count(*o);
    size_t done = 0;
    for (int i = 0; i < 300; ++i)
        o->enqueue(msg("ali", "x" + std::to_string(i)), [&](auto r) { done += r ? 1 : 0; });
    ASSERT_TRUE(loop_.run_until([&] { return done == 300; }, 10'000ms));
    EXPECT_LE(outbox_commit_count(*o) - before, 2u);
    EXPECT_GE(outbox_commit_count(*o) - before, 1u);

    // Bigger than one batch: several commits, still far fewer than messages.
    const auto mid = outbox_commit_count(*o);
    done = 0;
    for (int i = 0; i < 1200; ++i) o->enqueue(msg("ali", "y"), [&](auto r) { done += r ? 1 : 0; });
    ASSERT_TRUE(loop_.run_until([&] { return done == 1200; }, 20'000ms));
    EXPECT_GE(outbox_commit_count(*o) - mid, 3u);
    EXPECT_LE(outbox_commit_count(*o) - mid, 6u);
    EXPECT_EQ(o->counters("ali").queued, 1500u);
}

TEST_F(OutboxTest, SurvivesCloseAndReopenAndIdsKeepIncreasing) {
    const std::string binary("a\0b\xff", 4);
    uint64_t last = 0;
    const int64_t stamp = now_ms() - 1234;
    {
        auto o = open();
        put(*o, msg("ali", "a1"));
        put(*o, msg("lab", binary, stamp));
        last = put(*o, msg("ali", "a2"));
    }
    available_.clear();
    auto o = open();
    EXPECT_TRUE(available_.empty()) << "on_available must be deferred, not run inside open";
    loop_.run_once(0ms);
    EXPECT_EQ(std::set<std::string>(available_.begin(), available_.end()), (std::set<std::string>{"ali", "lab"}));

    EXPECT_EQ(payloads(o->next("ali", 0, 10)), (std::vector<std::string>{"a1", "a2"}));
    const auto lab = o->next("lab", 0, 10);
    ASSERT_EQ(lab.size(), 1u);
    EXPECT_EQ(lab[0].payload, binary);
    EXPECT_EQ(lab[0].created_ms, stamp);
    EXPECT_EQ(lab[0].session, "lab");
    EXPECT_EQ(lab[0].format, "property");
    EXPECT_EQ(o->counters("ali").queued, 2u);
    EXPECT_GT(put(*o, msg("ali", "a3")), last);
    EXPECT_EQ(sql_text(cfg_.path, "PRAGMA journal_mode"), "wal");
}

TEST_F(OutboxTest, IdsAreNeverReusedEvenWhenEverythingWasAcknowledged) {
    uint64_t last = 0;
    {
        auto o = open();
        put(*o, msg("ali", "1"));
        last = put(*o, msg("ali", "2"));
        o->acknowledge(last - 1);
        o->acknowledge(last);
    }
    auto o = open();
    EXPECT_TRUE(o->next("ali", 0, 10).empty());
    EXPECT_GT(put(*o, msg("ali", "3")), last);
}

TEST_F(OutboxTest, AcknowledgeRemovesTheRowAndTheRemovalSurvivesReopen) {
    std::vector<uint64_t> ids;
    {
        auto o = open();
        for (const char* p : {"m1", "m2", "m3"}) ids.push_back(put(*o, msg("ali", p)));
        o->acknowledge(ids[1]);
        o->acknowledge(ids[1]);  // twice: harmless
        EXPECT_EQ(payloads(o->next("ali", 0, 10)), (std::vector<std::string>{"m1", "m3"}));
        const auto c = o->counters("ali");
        EXPECT_EQ(c.queued, 2u);
        EXPECT_EQ(c.queued_bytes, 4u);
        EXPECT_EQ(c.delivered, 1u);
    }
    auto o = open();
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), (std::vector<std::string>{"m1", "m3"}));
    EXPECT_EQ(o->counters("ali").delivered, 0u);
}

// A row the delivery side gave up on is deleted like an acknowledged one, but it was not
// delivered, and it is no limit's drop either (the lane counts it, and says why).
TEST_F(OutboxTest, DropRemovesTheRowWithoutCountingItDelivered) {
    std::vector<uint64_t> ids;
    {
        auto o = open();
        for (const char* p : {"m1", "m2"}) ids.push_back(put(*o, msg("ali", p)));
        o->drop(ids[0]);
        o->drop(ids[0]);  // twice: harmless
        EXPECT_EQ(payloads(o->next("ali", 0, 10)), (std::vector<std::string>{"m2"}));
        const auto c = o->counters("ali");
        EXPECT_EQ(c.queued, 1u);
        EXPECT_EQ(c.queued_bytes, 2u);
        EXPECT_EQ(c.delivered, 0u);
        EXPECT_EQ(c.dropped, 0u);
        loop_.run_for(10ms);
        EXPECT_TRUE(dropped_.empty());
    }
    auto o = open();
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), (std::vector<std::string>{"m2"}));
}

TEST_F(OutboxTest, DestroyingFlushesPendingInsertsWithoutCallingBack) {
    int callbacks = 0;
    {
        auto o = open();
        for (int i = 0; i < 50; ++i) o->enqueue(msg("ali", std::to_string(i)), [&](auto) { ++callbacks; });
    }
    loop_.run_for(50ms);
    EXPECT_EQ(callbacks, 0);
    auto o = open();
    const auto all = o->next("ali", 0, 100);
    ASSERT_EQ(all.size(), 50u);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(all[static_cast<size_t>(i)].payload, std::to_string(i));
}

TEST_F(OutboxTest, TwoSessionsInterleavedKeepTheirOwnOrder) {
    size_t done = 0;
    {
        auto o = open();
        for (int i = 0; i < 10; ++i) {
            o->enqueue(msg("ali", "a" + std::to_string(i)), [&](auto r) { done += r ? 1 : 0; });
            o->enqueue(msg("one", "o" + std::to_string(i)), [&](auto r) { done += r ? 1 : 0; });
        }
        ASSERT_TRUE(loop_.run_until([&] { return done == 20; }, 5000ms));
        std::vector<std::string> want_a, want_o;
        for (int i = 0; i < 10; ++i) {
            want_a.push_back("a" + std::to_string(i));
            want_o.push_back("o" + std::to_string(i));
        }
        EXPECT_EQ(payloads(o->next("ali", 0, 100)), want_a);
        EXPECT_EQ(payloads(o->next("one", 0, 100)), want_o);
        // Paging by the last id handed out continues in order.
        const auto first = o->next("one", 0, 4);
        EXPECT_EQ(payloads(o->next("one", first.back().id, 3)), (std::vector<std::string>{"o4", "o5", "o6"}));
    }
    auto o = open();  // the same from the file instead of the cache
    const auto a = o->next("ali", 0, 100);
    ASSERT_EQ(a.size(), 10u);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].payload, "a" + std::to_string(i));
    EXPECT_EQ(payloads(o->next("one", 0, 3)), (std::vector<std::string>{"o0", "o1", "o2"}));
}

TEST_F(OutboxTest, BacklogBeyondTheMemoryCacheIsReadBackFromTheFile) {
    auto o = open();
    std::vector<std::string> want;
    for (char c = 'a'; c < 'g'; ++c) {
        want.push_back(std::string(1 << 20, c));
        put(*o, msg("ali", want.back()));
    }
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), want);
    EXPECT_EQ(o->counters("ali").queued_bytes, 6u << 20);
}

TEST_F(OutboxTest, MaxMessagesDropsTheOldestRowOverallAndCountsIt) {
    cfg_.max_messages = 3;
    auto o = open();
    put(*o, msg("ali", "a1"));
    put(*o, msg("lab", "b1"));
    put(*o, msg("ali", "a2"));
    put(*o, msg("lab", "b2"));
    loop_.run_once(0ms);
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), std::vector<std::string>{"a2"});
    EXPECT_EQ(payloads(o->next("lab", 0, 10)), (std::vector<std::string>{"b1", "b2"}));
    EXPECT_EQ(o->counters("ali").dropped, 1u);
    EXPECT_EQ(o->counters("lab").dropped, 0u);
    EXPECT_EQ(dropped_, std::vector<std::string>{"ali:1:max_messages"});
    o.reset();
    o = open();
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), std::vector<std::string>{"a2"});
}

TEST_F(OutboxTest, ABurstFasterThanTheDiskStillDropsTheOldestNotTheNewest) {
    // All enqueued before the first commit lands: the limit must not refuse the newest.
    cfg_.max_messages = 5;
    auto o = open();
    int ok = 0, failed = 0;
    for (int i = 0; i < 20; ++i)
        o->enqueue(msg("ali", "m" + std::to_string(i)), [&](std::expected<uint64_t, OutboxError> r) {
            r ? ++ok : ++failed;
        });
    ASSERT_TRUE(loop_.run_until([&] { return ok + failed == 20; }, 5000ms));
    loop_.run_once(0ms);
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(payloads(o->next("ali", 0, 100)), (std::vector<std::string>{"m15", "m16", "m17", "m18", "m19"}));
    EXPECT_EQ(o->counters("ali").queued, 5u);
    EXPECT_EQ(o->counters("ali").dropped, 15u);
    o.reset();
    o = open();
    EXPECT_EQ(payloads(o->next("ali", 0, 100)), (std::vector<std::string>{"m15", "m16", "m17", "m18", "m19"}));
}

TEST_F(OutboxTest, MaxBytesDropsOldestFirst) {
    cfg_.max_bytes = 10;
    auto o = open();
    put(*o, msg("ali", "1111"));
    put(*o, msg("ali", "2222"));
    put(*o, msg("ali", "3333"));
    loop_.run_once(0ms);
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), (std::vector<std::string>{"2222", "3333"}));
    EXPECT_EQ(o->counters("ali").queued_bytes, 8u);
    EXPECT_EQ(o->counters("ali").dropped, 1u);
    EXPECT_EQ(dropped_, std::vector<std::string>{"ali:1:max_bytes"});
}

TEST_F(OutboxTest, APayloadLargerThanTheWholeOutboxIsRefused) {
    cfg_.max_bytes = 10;
    auto o = open();
    put(*o, msg("ali", "keep"));
    EXPECT_EQ(put(*o, msg("ali", "12345678901")), 0u);
    EXPECT_NE(last_error_.find("max_bytes"), std::string::npos) << last_error_;
    EXPECT_EQ(last_kind_, OutboxErrorKind::full);
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), std::vector<std::string>{"keep"});
    EXPECT_TRUE(dropped_.empty());
}

// max_bytes holds for the files on disk, WAL and its index included: with small payloads their
// rows' overhead fills the file long before the payload bytes reach the limit.
TEST_F(OutboxTest, MaxBytesKeepsTheFilesOnDiskBelowIt) {
    cfg_.max_bytes = 256 * 1024;
    auto o = open();
    const std::string pad(300, 'p');
    size_t done = 0;
    for (int i = 0; i < 1000; ++i)
        o->enqueue(msg("ali", std::to_string(i) + pad), [&](std::expected<uint64_t, OutboxError> r) {
            ++done;
            EXPECT_TRUE(r) << r.error().message;
        });
    ASSERT_TRUE(loop_.run_until([&] { return done == 1000; }, 20'000ms));
    loop_.run_once(0ms);
    uint64_t on_disk = 0;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::error_code ec;
        const auto n = std::filesystem::file_size(cfg_.path + suffix, ec);
        if (!ec) on_disk += n;
    }
    EXPECT_LE(on_disk, cfg_.max_bytes);
    const auto c = o->counters("ali");
    EXPECT_LT(c.queued_bytes, cfg_.max_bytes) << "payload bytes";
    EXPECT_EQ(c.queued + c.dropped, 1000u);
    EXPECT_GT(c.dropped, 300u);
    ASSERT_FALSE(dropped_.empty());
    EXPECT_TRUE(dropped_.back().ends_with(":max_bytes")) << dropped_.back();
    const auto kept = o->next("ali", 0, 1000);
    ASSERT_EQ(kept.size(), c.queued);
    EXPECT_EQ(kept.back().payload, "999" + pad) << "the newest are kept";
    for (size_t i = 1; i < kept.size(); ++i) ASSERT_GT(kept[i].id, kept[i - 1].id);
    o.reset();
    o = open();
    EXPECT_EQ(o->counters("ali").queued, c.queued) << "the index matches the file";
}

// Two processes (two cellgated) on one file would both deliver every row.
TEST_F(OutboxTest, ASecondOpenOfTheSameFileIsRefusedWhileTheFirstLives) {
    auto first = open();
    put(*first, msg("ali", "a1"));
    const auto error = refused();
    EXPECT_NE(error.find(cfg_.path), std::string::npos) << error;
    EXPECT_NE(error.find("locked by another process"), std::string::npos) << error;
    EXPECT_EQ(payloads(first->next("ali", 0, 10)), std::vector<std::string>{"a1"}) << "the first is untouched";
    first.reset();
    auto second = open();
    EXPECT_EQ(payloads(second->next("ali", 0, 10)), std::vector<std::string>{"a1"});
}

TEST_F(OutboxTest, ShrunkLimitsDropTheOldestAtOpen) {
    {
        auto o = open();
        for (int i = 0; i < 5; ++i) put(*o, msg("ali", std::to_string(i)));
    }
    cfg_.max_messages = 2;
    auto o = open();
    loop_.run_once(0ms);
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), (std::vector<std::string>{"3", "4"}));
    EXPECT_EQ(dropped_, std::vector<std::string>{"ali:3:max_messages"});
    EXPECT_EQ(o->counters("ali").dropped, 3u);
}

TEST_F(OutboxTest, MaxAgeDropsOldRowsAtEnqueueAtOpenAndPeriodically) {
    cfg_.max_age = 1h;
    {
        auto o = open();
        put(*o, msg("ali", "stale", now_ms() - 2 * 3600'000));
        put(*o, msg("ali", "fresh"));  // the stale row goes at this enqueue
        loop_.run_once(0ms);
        EXPECT_EQ(payloads(o->next("ali", 0, 10)), std::vector<std::string>{"fresh"});
        EXPECT_EQ(dropped_, std::vector<std::string>{"ali:1:max_age"});
        put(*o, msg("ali", "stale2", now_ms() - 2 * 3600'000));
    }
    {
        dropped_.clear();
        auto o = open();
        loop_.run_once(0ms);
        EXPECT_EQ(payloads(o->next("ali", 0, 10)), std::vector<std::string>{"fresh"});
        EXPECT_EQ(dropped_, std::vector<std::string>{"ali:1:max_age"});
    }
    // Nothing but the periodic sweep can drop a row accepted after open with no enqueue after it.
    cfg_.max_age = 300ms;
    auto o = open();
    put(*o, msg("ali", "new"));
    ASSERT_TRUE(loop_.run_until([&] { return o->next("ali", 0, 10).empty(); }, 3000ms));
    loop_.run_once(0ms);
    ASSERT_FALSE(dropped_.empty());
    EXPECT_TRUE(dropped_.back().ends_with(":max_age")) << dropped_.back();
    EXPECT_EQ(o->counters("ali").queued, 0u);
}

TEST_F(OutboxTest, RowsStampedBeforeTheClockWasSetAreNotAgedOut) {
    cfg_.max_age = 200ms;
    auto o = open();
    put(*o, msg("ali", "from-1970", 5'000));
    loop_.run_for(800ms);
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), std::vector<std::string>{"from-1970"});
    EXPECT_TRUE(dropped_.empty());
}

TEST_F(OutboxTest, RefusesAFileThatIsNotAnSqliteDatabase) {
    const std::string junk(8192, 'j');
    std::ofstream(cfg_.path) << junk;
    const auto error = refused();
    EXPECT_NE(error.find(cfg_.path), std::string::npos) << error;
    EXPECT_NE(error.find("not a database"), std::string::npos) << error;
    std::ifstream in(cfg_.path);
    const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(after, junk) << "a refused file must be left alone";
}

TEST_F(OutboxTest, RefusesAForeignSqliteDatabase) {
    sql_text(cfg_.path, "CREATE TABLE contacts(name TEXT)");
    const auto error = refused();
    EXPECT_NE(error.find("not a cellgate outbox"), std::string::npos) << error;
    EXPECT_EQ(sql_text(cfg_.path, "SELECT count(*) FROM sqlite_schema"), "1");
}

TEST_F(OutboxTest, RefusesAnOutboxOfAnotherSchemaVersion) {
    { auto o = open(); }
    sql_text(cfg_.path, "PRAGMA user_version = 7");
    const auto error = refused();
    EXPECT_NE(error.find("schema version 7"), std::string::npos) << error;
}

TEST_F(OutboxTest, RefusesAnOutboxWithADamagedHeader) {
    {
        auto o = open();
        put(*o, msg("ali", "x"));
    }
    {
        std::fstream f(cfg_.path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(0);
        f << "garbage, not SQLite";
    }
    EXPECT_NE(refused().find("not a database"), std::string::npos);
}

// The child enqueues as fast as it can and writes (id, sequence) to a pipe for every completion it
// saw as durable; it is SIGKILLed at a random moment. Every id it saw must be there, with its
// payload, after reopening, and ids keep increasing across the kills.
TEST_F(OutboxTest, KillNineLosesNothingThatWasReportedDurable) {
    std::mt19937 rng(std::random_device{}());
    uint64_t seq = 0;
    uint64_t last_round_max = 0;
    for (int round = 0; round < 3; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            PollScheduler loop;
            std::string error;
            auto o = open_outbox(loop, cfg_, error);
            if (!o) ::_exit(2);
            uint64_t n = seq;
            int inflight = 0;
            for (;;) {
                while (inflight < 32) {
                    ++inflight;
                    const uint64_t k = n++;
                    o->enqueue(msg("k", "payload-" + std::to_string(k)), [&, k](std::expected<uint64_t, OutboxError> r) {
                        --inflight;
                        if (!r) ::_exit(3);
                        const uint64_t rec[2] = {*r, k};
                        if (::write(fds[1], rec, sizeof rec) != sizeof rec) ::_exit(4);
                    });
                }
                loop.run_once(10ms);
            }
        }
        ::close(fds[1]);
        std::vector<std::pair<uint64_t, uint64_t>> seen;
        auto read_some = [&] {
            uint64_t rec[2];
            const auto r = ::read(fds[0], rec, sizeof rec);
            if (r == static_cast<ssize_t>(sizeof rec)) seen.emplace_back(rec[0], rec[1]);
            return r > 0;
        };
        const size_t threshold = std::uniform_int_distribution<size_t>(20, 400)(rng);
        while (seen.size() < threshold && read_some()) {
        }
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        while (read_some()) {
        }
        ::close(fds[0]);
        ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
        ASSERT_GE(seen.size(), threshold);

        auto o = open();
        std::map<uint64_t, std::string> present;
        for (const auto& m : o->next("k", 0, 1'000'000)) present[m.id] = m.payload;
        for (const auto& [id, k] : seen) {
            ASSERT_TRUE(present.contains(id)) << "round " << round << ": durable id " << id << " lost";
            EXPECT_EQ(present[id], "payload-" + std::to_string(k));
            EXPECT_GT(id, last_round_max);
            seq = std::max(seq, k + 1);
        }
        last_round_max = present.rbegin()->first;
    }
}

// A write error (here the file size limit, as good as a full disk) fails the commit's callers
// with why; the daemon goes on, and commits succeed again once there is room.
TEST_F(OutboxTest, AWriteErrorReachesTheCallerAndTheOutboxRecovers) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        PollScheduler loop;
        std::string error;
        auto o = open_outbox(loop, cfg_, error);
        if (!o) ::_exit(2);
        auto put_child = [&](std::string payload) -> std::expected<uint64_t, OutboxError> {
            std::optional<std::expected<uint64_t, OutboxError>> res;
            o->enqueue(msg("ali", std::move(payload)), [&](auto r) { res = r; });
            while (!res) loop.run_once(10ms);
            return *res;
        };
        const auto first = put_child("before");
        if (!first) ::_exit(3);
        rlimit lim{};
        ::getrlimit(RLIMIT_FSIZE, &lim);
        const rlimit small{512 * 1024, lim.rlim_max};
        ::setrlimit(RLIMIT_FSIZE, &small);
        bool failed = false;
        for (int i = 0; i < 64 && !failed; ++i) {
            const auto r = put_child(std::string(32 * 1024, 'x'));
            failed = !r && !r.error().message.empty();
        }
        if (!failed) ::_exit(4);
        ::setrlimit(RLIMIT_FSIZE, &lim);
        if (!put_child("after")) ::_exit(5);
        const auto all = o->next("ali", 0, 1000);
        if (all.empty() || all.front().payload != "before" || all.back().payload != "after") ::_exit(6);
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "the child crashed (signal " << WTERMSIG(status) << ")";
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---- rows that cannot be read back ----

// Rows recovered at open are read back from the file as they are handed out.
TEST_F(OutboxTest, ARowDeletedBehindItsBackIsDroppedNotABlockage) {
    {
        auto o = open();
        for (const char* p : {"a1", "a2", "a3"}) put(*o, msg("ali", p));
    }
    auto o = open();
    sql_text(cfg_.path, "DELETE FROM messages WHERE payload = CAST('a2' AS BLOB)");
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), (std::vector<std::string>{"a1", "a3"}));
    loop_.run_once(0ms);
    EXPECT_EQ(dropped_, std::vector<std::string>{"ali:1:unreadable"});
    EXPECT_EQ(o->counters("ali").queued, 2u);
    EXPECT_EQ(o->counters("ali").dropped, 1u);
}

// A VFS over the default one whose reads fail while `failing` is set: an SD card returning I/O
// errors for a while, seen exactly where SQLite sees it.
struct FailingReads {
    static inline std::atomic<bool> failing{false};
    static inline sqlite3_vfs* base = nullptr;
    static inline sqlite3_vfs vfs{};
    static inline sqlite3_io_methods methods{};

    struct File {
        sqlite3_file header;  // first: SQLite hands us a sqlite3_file*
        sqlite3_file* real;   // the base VFS's file, allocated right behind this struct
    };
    static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

    static int open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
        auto* file = reinterpret_cast<File*>(f);
        file->real = reinterpret_cast<sqlite3_file*>(file + 1);
        const int rc = base->xOpen(base, name, file->real, flags, out);
        if (rc != SQLITE_OK || !file->real->pMethods) {
            f->pMethods = nullptr;
            return rc;
        }
        // Everything but xRead goes straight to the base file.
        methods = *file->real->pMethods;
        methods.xRead = [](sqlite3_file* g, void* buf, int n, sqlite3_int64 off) {
            return failing ? SQLITE_IOERR_READ : real(g)->pMethods->xRead(real(g), buf, n, off);
        };
#define CELLGATE_FORWARD(member)                                                                   \
    methods.member = [](sqlite3_file* g, auto... a) { return real(g)->pMethods->member(real(g), a...); };
        CELLGATE_FORWARD(xClose)
        CELLGATE_FORWARD(xWrite)
        CELLGATE_FORWARD(xTruncate)
        CELLGATE_FORWARD(xSync)
        CELLGATE_FORWARD(xFileSize)
        CELLGATE_FORWARD(xLock)
        CELLGATE_FORWARD(xUnlock)
        CELLGATE_FORWARD(xCheckReservedLock)
        CELLGATE_FORWARD(xFileControl)
        CELLGATE_FORWARD(xSectorSize)
        CELLGATE_FORWARD(xDeviceCharacteristics)
        CELLGATE_FORWARD(xShmMap)
        CELLGATE_FORWARD(xShmLock)
        CELLGATE_FORWARD(xShmBarrier)
        CELLGATE_FORWARD(xShmUnmap)
        CELLGATE_FORWARD(xFetch)
        CELLGATE_FORWARD(xUnfetch)
#undef CELLGATE_FORWARD
        f->pMethods = &methods;
        return SQLITE_OK;
    }

    // The default VFS (the outbox opens with the default) while it exists.
    struct Installed {
        Installed() {
            base = sqlite3_vfs_find(nullptr);
            vfs = *base;
            vfs.zName = "cellgate-failing-reads";
            vfs.szOsFile = static_cast<int>(sizeof(File)) + base->szOsFile;
            vfs.xOpen = open;
            sqlite3_vfs_register(&vfs, 1);
        }
        ~Installed() {
            failing = false;
            sqlite3_vfs_unregister(&vfs);
            sqlite3_vfs_register(base, 1);
        }
    };
};

// The card returns read errors for a while: delivery stops at that row, keeps its order, and
// resumes by itself once reads work again; nothing is dropped.
TEST_F(OutboxTest, ARowThatCannotBeReadNowIsTriedAgainLater) {
    FailingReads::Installed vfs;
    auto o = reopened_with("ali", {"a1", "a2"});
    available_.clear();
    FailingReads::failing = true;
    EXPECT_TRUE(o->next("ali", 0, 10).empty());
    FailingReads::failing = false;
    ASSERT_TRUE(loop_.run_until([&] { return !available_.empty(); }, 3000ms)) << "no retry came";
    EXPECT_EQ(available_, std::vector<std::string>{"ali"});
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), (std::vector<std::string>{"a1", "a2"}));
    EXPECT_TRUE(dropped_.empty());
}

// A row that never reads (a bad sector) is dropped after a few tries and counted; the rows
// behind it are delivered.
TEST_F(OutboxTest, ARowThatNeverReadsIsDroppedAfterAFewTries) {
    FailingReads::Installed vfs;
    auto o = reopened_with("ali", {"a1", "a2"});
    int tries = 0;
    while (dropped_.empty() && tries < 10) {
        ++tries;
        available_.clear();
        FailingReads::failing = true;
        EXPECT_TRUE(o->next("ali", 0, 10).empty());  // a2 fails too while the card fails
        FailingReads::failing = false;
        loop_.run_once(0ms);  // the drop report is deferred
        ASSERT_TRUE(loop_.run_until([&] { return !available_.empty(); }, 3000ms)) << "no retry after try " << tries;
    }
    EXPECT_EQ(tries, 5);
    EXPECT_EQ(dropped_, std::vector<std::string>{"ali:1:unreadable"});
    EXPECT_EQ(payloads(o->next("ali", 0, 10)), std::vector<std::string>{"a2"});
}

}  // namespace
}  // namespace cellgate::bridge
