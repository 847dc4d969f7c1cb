// The outbox's writer thread against a real file: inserts complete in order through the eventfd,
// inserts that arrive within the commit window share one commit, deletes wait for theirs (or ride
// along), nothing queued is lost at destruction, and a failed commit fails its inserts but still
// deletes. And its room: a full filesystem fails inserts as "full" and leaves every row alone,
// max_bytes drops the oldest rows and keeps the files below it, a failed delete is tried again,
// and a drained outbox gives its space back.
#include "bridge/outbox_writer.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.hpp"
#include "bridge/outbox_file.hpp"
#include "bridge/sqlite.hpp"
#include "unit/support/temp_dir.hpp"

namespace cellgate::bridge::detail {
namespace {

using namespace std::chrono_literals;

class OutboxWriterTest : public ::testing::Test {
protected:
    void SetUp() override {
        file_ = open_outbox_file(path_);
        ASSERT_TRUE(notify_);
    }

    OutboxWriter& start(std::chrono::milliseconds insert_window, std::chrono::milliseconds erase_window,
                        WriterSpace space = {}) {
        writer_ = std::make_unique<OutboxWriter>(std::move(file_.writer), insert_window, erase_window, notify_.get(),
                                                 std::move(space));
        return *writer_;
    }

    static OutboxOp insert(uint64_t ticket, std::string payload) {
        auto m = std::make_shared<OutboxMessage>();
        m->session = "ali";
        m->topic = "/sys/pk/dn/thing/event/property/post";
        m->format = "property";
        m->payload = std::move(payload);
        m->created_ms = 1'700'000'000'000;
        return OutboxOp{ticket, std::move(m), 0, Clock::now()};
    }

    // As the outbox posts it: with the row's payload bytes, which the writer counts.
    static OutboxOp erase(uint64_t id, uint64_t bytes = 1) { return OutboxOp{0, nullptr, id, Clock::now(), bytes}; }

    // Collects results as the eventfd announces them, until `n` inserts have theirs (or 5 s
    // passed); rows dropped for max_bytes come along.
    std::vector<OutboxResult> results(size_t n) {
        std::vector<OutboxResult> out;
        size_t inserts = 0;
        const auto end = Clock::now() + 5s;
        while (inserts < n && Clock::now() < end) {
            pollfd p{notify_.get(), POLLIN, 0};
            if (::poll(&p, 1, 100) != 1) continue;
            eventfd_t ignored = 0;
            (void)eventfd_read(notify_.get(), &ignored);
            for (auto& r : writer_->take_results()) {
                inserts += r.outcome != OutboxResult::Outcome::dropped;
                out.push_back(std::move(r));
            }
        }
        return out;
    }

    // A connection of the test's own that waits for the writer's transactions.
    sqlite::Db test_db() const {
        sqlite::Db db(path_, SQLITE_OPEN_READWRITE);
        sqlite3_busy_timeout(db.get(), 5000);
        return db;
    }

    // SQLite refuses `what` (INSERT, DELETE) on messages while `when` holds: as good as a failing
    // disk, exactly where the writer meets it.
    void refuse(const std::string& what, const std::string& when) const {
        test_db().exec(("CREATE TRIGGER refuse_" + what + " BEFORE " + what + " ON messages WHEN " + when +
                        " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
                           .c_str());
    }

    int64_t pragma(const std::string& name) const {
        auto db = test_db();
        return query_int(db, ("PRAGMA " + name).c_str());
    }

    static bool eventually(const std::function<bool()>& pred) {
        for (const auto end = Clock::now() + 5s; Clock::now() < end; std::this_thread::sleep_for(20ms))
            if (pred()) return true;
        return pred();
    }

    // Posts one insert and waits for its commit: the new row's id (0 when it failed).
    uint64_t put(uint64_t ticket, std::string payload) {
        writer_->post(insert(ticket, std::move(payload)));
        const auto r = results(1);
        EXPECT_EQ(r.size(), 1u);
        if (r.empty()) return 0;
        EXPECT_TRUE(r[0].error.empty()) << r[0].error;
        return r[0].id;
    }

    // Through a connection of the test's own, as the next start would see the file.
    int64_t rows_on_disk() {
        sqlite::Db db(path_, SQLITE_OPEN_READONLY);
        sqlite::Stmt s(db, "SELECT count(*) FROM messages");
        return s.step() ? s.int64(0) : -1;
    }

    cellgate::testing::TempDir dir_{"cellgate-writer"};
    const std::string path_ = dir_ / "outbox.db";
    OutboxFile file_;
    UniqueFd notify_{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    std::unique_ptr<OutboxWriter> writer_;
};

TEST_F(OutboxWriterTest, InsertsCompleteInOrderWithIncreasingIds) {
    auto& w = start(0ms, 1s);
    for (uint64_t t = 1; t <= 3; ++t) w.post(insert(t, "p" + std::to_string(t)));
    const auto r = results(3);
    ASSERT_EQ(r.size(), 3u);
    for (size_t i = 0; i < r.size(); ++i) {
        EXPECT_EQ(r[i].ticket, i + 1);
        EXPECT_TRUE(r[i].error.empty()) << r[i].error;
        if (i > 0) {
            EXPECT_GT(r[i].id, r[i - 1].id);
        }
    }
    EXPECT_EQ(rows_on_disk(), 3);
}

// The first insert after a quiet spell goes at once; what arrives while its commit is young
// waits for the window and shares the next commit.
TEST_F(OutboxWriterTest, InsertsArrivingWithinTheWindowShareOneCommit) {
    auto& w = start(500ms, 1s);
    ASSERT_NE(put(1, "first"), 0u);
    EXPECT_EQ(w.commits(), 1u);
    for (uint64_t t = 2; t <= 11; ++t) w.post(insert(t, "burst"));
    ASSERT_EQ(results(10).size(), 10u);
    EXPECT_EQ(w.commits(), 2u);
}

TEST_F(OutboxWriterTest, DeletesWaitForTheirWindowOrRideAlongWithAnInsert) {
    auto& w = start(0ms, 60s);
    const uint64_t a = put(1, "a");
    ASSERT_NE(a, 0u);
    w.post(erase(a));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(rows_on_disk(), 1) << "a delete alone waits for its window";
    EXPECT_EQ(w.commits(), 1u);
    ASSERT_NE(put(2, "b"), 0u);
    EXPECT_EQ(w.commits(), 2u);
    EXPECT_EQ(rows_on_disk(), 1) << "the delete went with the insert";
}

TEST_F(OutboxWriterTest, DestroyingCommitsWhatIsStillQueued) {
    auto& w = start(0ms, 60s);
    const uint64_t a = put(1, "a");
    ASSERT_NE(a, 0u);
    w.post(erase(a));
    writer_.reset();
    EXPECT_EQ(rows_on_disk(), 0);
}

// Deletes free space, which is what a full disk needs: they are committed on their own when the
// inserts they were batched with fail.
TEST_F(OutboxWriterTest, AFailedCommitFailsItsInsertsButStillDeletes) {
    refuse("INSERT", "NEW.payload = CAST('poison' AS BLOB)");
    auto& w = start(0ms, 60s);
    const uint64_t a = put(1, "a");
    ASSERT_NE(a, 0u);
    w.post(erase(a));
    w.post(insert(2, "poison"));
    const auto r = results(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].ticket, 2u);
    EXPECT_EQ(r[0].id, 0u);
    EXPECT_NE(r[0].error.find("outbox commit failed"), std::string::npos) << r[0].error;
    EXPECT_NE(r[0].error.find("refused by the test"), std::string::npos) << r[0].error;
    EXPECT_EQ(rows_on_disk(), 0);
}

// The disk is full: inserts fail as "full" (a later one too, however small: order), no row is
// dropped for them, and inserts succeed again once there is room, without reopening.
TEST_F(OutboxWriterTest, AFullFilesystemFailsInsertsAsFullAndRecovers) {
    std::atomic<uint64_t> free_bytes{64u << 20};
    WriterSpace space;
    space.measure = [&](const std::string& p) {
        auto u = measure_disk(p);
        u.fs_free = free_bytes.load();
        return u;
    };
    auto& w = start(300ms, 1s, std::move(space));
    ASSERT_NE(put(1, std::string(8192, 'a')), 0u);
    free_bytes = 0;
    w.post(insert(2, std::string(8192, 'b')));
    w.post(insert(3, "c"));
    const auto r = results(2);
    ASSERT_EQ(r.size(), 2u);
    for (const auto& x : r) {
        EXPECT_EQ(x.outcome, OutboxResult::Outcome::full) << x.error;
        EXPECT_NE(x.error.find("is full"), std::string::npos) << x.error;
    }
    EXPECT_EQ(rows_on_disk(), 1);
    free_bytes = 64u << 20;
    EXPECT_NE(put(4, std::string(8192, 'd')), 0u);
    EXPECT_EQ(rows_on_disk(), 2);
}

TEST_F(OutboxWriterTest, OverMaxBytesTheOldestRowsGoAndTheFilesStayBelowIt) {
    WriterSpace space;
    space.max_bytes = 256 * 1024;
    auto& w = start(0ms, 1s, space);
    uint64_t last_dropped = 0, newest = 0;
    int64_t drops = 0;
    for (uint64_t t = 1; t <= 100; ++t) {
        w.post(insert(t, std::string(4000, static_cast<char>('a' + t % 26))));
        for (const auto& r : results(1)) {
            if (r.outcome == OutboxResult::Outcome::dropped) {
                EXPECT_GT(r.id, last_dropped) << "the oldest first";
                last_dropped = r.id;
                ++drops;
            } else {
                ASSERT_EQ(r.outcome, OutboxResult::Outcome::committed) << r.error;
                newest = r.id;
            }
        }
        const auto u = measure_disk(path_);
        ASSERT_LE(u.db + u.wal + u.shm, space.max_bytes) << "after insert " << t << ": db " << u.db << ", wal "
                                                         << u.wal << ", shm " << u.shm;
    }
    EXPECT_GT(drops, 40);
    EXPECT_EQ(rows_on_disk() + drops, 100);
    EXPECT_LT(last_dropped, newest);
}

// A delete that fails (here a trigger, as good as a failing disk) is tried again, every erase
// window, until it succeeds: a delivered row must not come back at the next start.
TEST_F(OutboxWriterTest, AFailedDeleteIsTriedAgainUntilItSucceeds) {
    test_db().exec("CREATE TABLE test_block(x); INSERT INTO test_block VALUES(1)");
    refuse("DELETE", "(SELECT count(*) FROM test_block) > 0");
    auto& w = start(0ms, 100ms);
    const uint64_t a = put(1, "a");
    ASSERT_NE(a, 0u);
    w.post(erase(a));
    std::this_thread::sleep_for(450ms);
    EXPECT_EQ(rows_on_disk(), 1);
    test_db().exec("DELETE FROM test_block");
    EXPECT_TRUE(eventually([&] { return rows_on_disk() == 0; }));
}

TEST_F(OutboxWriterTest, ADrainedOutboxGivesItsSpaceBack) {
    auto& w = start(0ms, 10ms);
    for (uint64_t t = 1; t <= 200; ++t) w.post(insert(t, std::string(4000, 'x')));
    const auto r = results(200);
    ASSERT_EQ(r.size(), 200u);
    const auto before = measure_disk(path_);
    ASSERT_GT(before.db + before.wal, 600u * 1024);
    for (const auto& x : r) w.post(erase(x.id, 4000));
    ASSERT_TRUE(eventually([&] { return rows_on_disk() == 0; }));
    EXPECT_TRUE(eventually([&] {
        const auto u = measure_disk(path_);
        return u.db < 64 * 1024 && u.wal == 0;
    })) << "db " << measure_disk(path_).db << " (was " << before.db << "), wal " << measure_disk(path_).wal;
}

// A file from before incremental auto-vacuum is converted once it is drained (small): from then on
// it gives its space back too.
TEST_F(OutboxWriterTest, AnOlderFileIsConvertedOnceDrained) {
    {
        auto db = test_db();
        db.exec("PRAGMA auto_vacuum = NONE");
        db.exec("VACUUM");
        sqlite::Stmt s(db, "PRAGMA auto_vacuum");
        ASSERT_TRUE(s.step());
        ASSERT_EQ(s.int64(0), 0);
    }
    auto& w = start(0ms, 10ms);
    for (uint64_t t = 1; t <= 100; ++t) w.post(insert(t, std::string(4000, 'x')));
    const auto r = results(100);
    ASSERT_EQ(r.size(), 100u);
    for (const auto& x : r) w.post(erase(x.id, 4000));
    ASSERT_TRUE(eventually([&] { return rows_on_disk() == 0; }));
    EXPECT_TRUE(eventually([&] { return pragma("auto_vacuum") == 2 && pragma("page_count") < 16; }))
        << "auto_vacuum " << pragma("auto_vacuum") << ", " << pragma("page_count") << " pages";
}

}  // namespace
}  // namespace cellgate::bridge::detail
