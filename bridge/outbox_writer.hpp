// Private to the outbox: the writer thread that owns the write connection and turns everything
// queued within the commit window into one transaction, so the event loop never waits for fsync.
//
// It also keeps the files within their room (outbox_room.hpp): an insert over max_bytes drops the
// oldest rows first; one the filesystem cannot take fails as "full" and leaves every row alone;
// a drained outbox gives its space back. Deletes that fail (a full or failing disk) are tried
// again until they succeed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bridge/outbox.hpp"
#include "bridge/outbox_room.hpp"
#include "bridge/sqlite.hpp"

namespace cellgate::bridge::detail {

struct OutboxOp {
    uint64_t ticket = 0;                        // insert: the loop's handle for the completion
    std::shared_ptr<const OutboxMessage> msg;   // insert: immutable, shared with the loop's cache
    uint64_t erase_id = 0;                      // delete (acknowledged or dropped row) when no msg
    Clock::time_point at{};
    uint64_t bytes = 0;                         // delete: the row's payload bytes (what its WAL costs)
};

struct OutboxResult {
    enum class Outcome { committed, full, failed, dropped };
    uint64_t ticket = 0;  // the insert's (not for `dropped`)
    uint64_t id = 0;      // committed: the new row; dropped: the row max_bytes removed; else 0
    std::string error;    // full, failed: why
    Outcome outcome = Outcome::committed;
};


class OutboxWriter {
public:
    // Inserts are committed at once, but no sooner than `insert_window` after the previous commit
    // began, so whatever arrives meanwhile shares it; deletes only cost duplicates if lost, so they
    // wait `erase_window` (or ride along with the next insert's commit), and a failed delete is
    // tried again after as long. `notify_fd` (an eventfd) is written after every batch whose
    // results are ready for take_results(); the results of one batch come in one take.
    OutboxWriter(std::unique_ptr<sqlite::Db> db, std::chrono::milliseconds insert_window,
                 std::chrono::milliseconds erase_window, int notify_fd, WriterSpace space = {});
    // Commits everything still queued (a delete that still fails is given up, with a warning:
    // the next start sends that row again), then joins.
    ~OutboxWriter();
    OutboxWriter(const OutboxWriter&) = delete;
    OutboxWriter& operator=(const OutboxWriter&) = delete;

    void post(OutboxOp op);
    std::vector<OutboxResult> take_results();
    uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }

    static constexpr std::size_t kMaxBatchOps = 500;
    // At most, and at most a quarter of the WAL's budget: one batch (inserted or deleted bytes)
    // must fit in the WAL.
    static constexpr uint64_t kMaxBatchBytes = 4u << 20;

private:
    void run() noexcept;
    Clock::time_point deadline_locked() const;
    bool full_locked() const;
    void commit(std::vector<OutboxOp>& batch, std::vector<OutboxResult>& out);
    void erase_only(const std::vector<OutboxOp>& batch);
    void insert_one(const OutboxOp& op, std::vector<OutboxResult>& out);
    bool insert_fitting(const OutboxOp& op, std::vector<OutboxResult>& out);
    void erase_one(uint64_t id);
    void shrink();
    void erases_failed(std::vector<OutboxOp> erases, const std::string& why);
    void erases_done();

    std::unique_ptr<sqlite::Db> db_;
    std::unique_ptr<sqlite::Stmt> insert_, erase_;
    const std::chrono::milliseconds insert_window_, erase_window_;
    const int notify_fd_;
    OutboxRoom room_;  // the writer thread's own, as the connection is
    const uint64_t max_batch_bytes_;

    // The writer thread's own.
    unsigned erase_failures_ = 0;         // failed attempts in a row
    Clock::time_point next_erase_warning_{};

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<OutboxOp> queue_;
    std::vector<OutboxOp> stalled_;          // deletes that failed, tried again at stalled_until_
    Clock::time_point stalled_until_{};
    uint64_t queued_bytes_ = 0;
    std::size_t queued_inserts_ = 0;
    Clock::time_point first_insert_at_{};
    Clock::time_point last_commit_at_{};  // when the last batch was taken
    bool stop_ = false;
    std::vector<OutboxResult> results_;
    std::atomic<uint64_t> commits_{0};

    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace cellgate::bridge::detail
