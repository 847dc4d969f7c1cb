#include "bridge/outbox_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "base/log.hpp"

namespace cellgate::bridge::detail {

OutboxWriter::OutboxWriter(std::unique_ptr<sqlite::Db> db, std::chrono::milliseconds insert_window,
                           std::chrono::milliseconds erase_window, int notify_fd)
    : db_(std::move(db)),
      insert_(std::make_unique<sqlite::Stmt>(
          *db_, "INSERT INTO messages(session, topic, format, qos, created_ms, payload) VALUES(?1,?2,?3,?4,?5,?6)")),
      erase_(std::make_unique<sqlite::Stmt>(*db_, "DELETE FROM messages WHERE id = ?1")),
      insert_window_(insert_window),
      erase_window_(erase_window),
      notify_fd_(notify_fd),
      thread_([this] { run(); }) {}

OutboxWriter::~OutboxWriter() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
}

void OutboxWriter::post(OutboxOp op) {
    bool wake = false;
    {
        std::lock_guard lk(mu_);
        // Only wake the writer when its deadline moves closer or the batch is full: one wake-up
        // per commit, not per message.
        wake = queue_.empty();
        if (op.msg) {
            queued_bytes_ += op.msg->payload.size();
            if (queued_inserts_++ == 0) {
                first_insert_at_ = op.at;
                wake = true;
            }
        }
        queue_.push_back(std::move(op));
        wake = wake || full_locked();
    }
    if (wake) cv_.notify_one();
}

std::vector<OutboxResult> OutboxWriter::take_results() {
    std::lock_guard lk(mu_);
    return std::exchange(results_, {});
}

bool OutboxWriter::full_locked() const {
    return queue_.size() >= kMaxBatchOps || queued_bytes_ >= kMaxBatchBytes;
}

Clock::time_point OutboxWriter::deadline_locked() const {
    auto d = queue_.front().at + erase_window_;
    if (queued_inserts_ > 0) d = std::min(d, std::max(first_insert_at_, last_commit_at_ + insert_window_));
    return d;
}

void OutboxWriter::run() noexcept {
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        // The window counts from the previous commit's start: ops that queued up during its
        // fsync have waited long enough already, and a lone insert after a quiet spell goes now.
        while (!stop_ && !full_locked() && Clock::now() < deadline_locked())
            cv_.wait_until(lk, deadline_locked());
        last_commit_at_ = Clock::now();

        std::vector<OutboxOp> batch;
        uint64_t bytes = 0;
        while (!queue_.empty() && batch.size() < kMaxBatchOps && bytes < kMaxBatchBytes) {
            auto& op = queue_.front();
            if (op.msg) {
                bytes += op.msg->payload.size();
                queued_bytes_ -= op.msg->payload.size();
                --queued_inserts_;
            }
            batch.push_back(std::move(op));
            queue_.pop_front();
        }
        if (queued_inserts_ > 0) {
            for (const auto& op : queue_)
                if (op.msg) {
                    first_insert_at_ = op.at;
                    break;
                }
        }
        lk.unlock();

        std::vector<OutboxResult> out;
        try {
            commit(batch, out);
        } catch (...) {
            // Only allocation can fail here; the inserts' callers must still hear back.
            out.clear();
            for (const auto& op : batch)
                if (op.msg) out.push_back({op.ticket, 0, "outbox: out of memory"});
        }
        batch.clear();  // drop our share of the payloads before the loop runs

        lk.lock();
        if (!out.empty()) {
            results_.insert(results_.end(), std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
            const uint64_t one = 1;
            if (::write(notify_fd_, &one, sizeof one) < 0) {
                // EAGAIN only: the counter is already non-zero, the loop will look.
            }
        }
    }
}

void OutboxWriter::insert_one(const OutboxOp& op, std::vector<OutboxResult>& out) {
    const auto& m = *op.msg;
    sqlite::Stmt::Use q(*insert_);
    q->bind_text(1, m.session).bind_text(2, m.topic).bind_text(3, m.format).bind(4, m.qos);
    q->bind(5, m.created_ms).bind_blob(6, m.payload);
    q->step();
    out.push_back({op.ticket, static_cast<uint64_t>(db_->last_insert_rowid()), {}});
}

void OutboxWriter::erase_one(const OutboxOp& op) {
    sqlite::Stmt::Use q(*erase_);
    q->bind(1, static_cast<int64_t>(op.erase_id));
    q->step();
}

void OutboxWriter::commit(std::vector<OutboxOp>& batch, std::vector<OutboxResult>& out) {
    try {
        db_->exec("BEGIN IMMEDIATE");
        for (const auto& op : batch) {
            if (op.msg)
                insert_one(op, out);
            else
                erase_one(op);
        }
        db_->exec("COMMIT");
        commits_.fetch_add(1, std::memory_order_relaxed);
        return;
    } catch (const std::exception& e) {
        if (db_->in_transaction()) {
            try {
                db_->exec("ROLLBACK");
            } catch (const sqlite::Error&) {
            }
        }
        out.clear();
        const std::string why = std::string("outbox commit failed: ") + e.what();
        log::debug(why);
        for (const auto& op : batch)
            if (op.msg) out.push_back({op.ticket, 0, why});
    }
    // Deletes free space, which is what a full disk needs; retry them without the inserts.
    erase_only(batch);
}

void OutboxWriter::erase_only(const std::vector<OutboxOp>& batch) {
    bool any = false;
    for (const auto& op : batch) any = any || !op.msg;
    if (!any) return;
    try {
        db_->exec("BEGIN IMMEDIATE");
        for (const auto& op : batch)
            if (!op.msg) erase_one(op);
        db_->exec("COMMIT");
        commits_.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::exception& e) {
        // Lost deletes only mean those rows are delivered again after a restart.
        log::debug("outbox: deleting acknowledged rows failed: ", e.what());
        if (db_->in_transaction()) {
            try {
                db_->exec("ROLLBACK");
            } catch (const sqlite::Error&) {
            }
        }
    }
}

}  // namespace cellgate::bridge::detail
