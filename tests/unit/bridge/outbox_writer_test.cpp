// The outbox's writer thread against a real file: inserts complete in order through the eventfd,
// inserts that arrive within the commit window share one commit, deletes wait for theirs (or ride
// along), nothing queued is lost at destruction, and a failed commit fails its inserts but still
// deletes.
#include "bridge/outbox_writer.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
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

    OutboxWriter& start(std::chrono::milliseconds insert_window, std::chrono::milliseconds erase_window) {
        writer_ = std::make_unique<OutboxWriter>(std::move(file_.writer), insert_window, erase_window, notify_.get());
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

    static OutboxOp erase(uint64_t id) { return OutboxOp{0, nullptr, id, Clock::now()}; }

    // Collects results as the eventfd announces them, until there are `n` (or 5 s passed).
    std::vector<OutboxResult> results(size_t n) {
        std::vector<OutboxResult> out;
        const auto end = Clock::now() + 5s;
        while (out.size() < n && Clock::now() < end) {
            pollfd p{notify_.get(), POLLIN, 0};
            if (::poll(&p, 1, 100) != 1) continue;
            eventfd_t ignored = 0;
            (void)eventfd_read(notify_.get(), &ignored);
            for (auto& r : writer_->take_results()) out.push_back(std::move(r));
        }
        return out;
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
    {
        sqlite::Db db(path_, SQLITE_OPEN_READWRITE);
        db.exec("CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.payload = CAST('poison' AS BLOB) "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    }
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

}  // namespace
}  // namespace cellgate::bridge::detail
