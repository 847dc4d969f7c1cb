#include "bridge/outbox_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "base/log.hpp"
#include "bridge/outbox_file.hpp"

namespace cellgate::bridge::detail {

namespace {

constexpr std::chrono::seconds kEraseWarningInterval{60};

void rollback(sqlite::Db& db) noexcept {
    if (!db.in_transaction()) return;
    try {
        db.exec("ROLLBACK");
    } catch (const sqlite::Error&) {
    }
}

}  // namespace

OutboxWriter::OutboxWriter(std::unique_ptr<sqlite::Db> db, std::chrono::milliseconds insert_window,
                           std::chrono::milliseconds erase_window, int notify_fd, WriterSpace space)
    : db_(std::move(db)),
      insert_(std::make_unique<sqlite::Stmt>(
          *db_, "INSERT INTO messages(session, topic, format, qos, created_ms, payload) VALUES(?1,?2,?3,?4,?5,?6)")),
      erase_(std::make_unique<sqlite::Stmt>(*db_, "DELETE FROM messages WHERE id = ?1")),
      insert_window_(insert_window),
      erase_window_(erase_window),
      notify_fd_(notify_fd),
      room_(*db_, std::move(space)),
      max_batch_bytes_(room_.batch_bytes(kMaxBatchBytes)),
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
        queued_bytes_ += op.msg ? op.msg->payload.size() : op.bytes;
        if (op.msg) {
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
    return queue_.size() >= kMaxBatchOps || queued_bytes_ >= max_batch_bytes_;
}

Clock::time_point OutboxWriter::deadline_locked() const {
    auto d = queue_.empty() ? Clock::time_point::max() : queue_.front().at + erase_window_;
    if (queued_inserts_ > 0) d = std::min(d, std::max(first_insert_at_, last_commit_at_ + insert_window_));
    if (!stalled_.empty()) d = std::min(d, stalled_until_);
    return d;
}

void OutboxWriter::run() noexcept {
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [&] { return stop_ || !queue_.empty() || !stalled_.empty(); });
        if (queue_.empty() && stalled_.empty()) return;  // stopping, nothing left
        // The window counts from the previous commit's start: ops that queued up during its
        // fsync have waited long enough already, and a lone insert after a quiet spell goes now.
        while (!stop_ && !full_locked() && Clock::now() < deadline_locked())
            cv_.wait_until(lk, deadline_locked());
        last_commit_at_ = Clock::now();

        std::vector<OutboxOp> batch;
        uint64_t bytes = 0;
        // Deletes that failed go again once their wait is over (at shutdown, once more at least).
        if (!stalled_.empty() && (stop_ || last_commit_at_ >= stalled_until_)) {
            for (auto& op : stalled_) bytes += op.bytes;
            batch = std::exchange(stalled_, {});
        }
        while (!queue_.empty() && batch.size() < kMaxBatchOps && bytes < max_batch_bytes_) {
            auto& op = queue_.front();
            const uint64_t n = op.msg ? op.msg->payload.size() : op.bytes;
            bytes += n;
            queued_bytes_ -= n;
            if (op.msg) --queued_inserts_;
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
                if (op.msg) out.push_back({op.ticket, 0, "outbox: out of memory", OutboxResult::Outcome::failed});
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
    room_.cap_for_insert();
    const auto& m = *op.msg;
    sqlite::Stmt::Use q(*insert_);
    q->bind_text(1, m.session).bind_text(2, m.topic).bind_text(3, m.format).bind(4, m.qos);
    q->bind(5, m.created_ms).bind_blob(6, m.payload);
    q->step();
    out.push_back({op.ticket, static_cast<uint64_t>(db_->last_insert_rowid()), {}});
}

// false: no room for it (its "full" result is recorded); the rows dropped for it are reported.
bool OutboxWriter::insert_fitting(const OutboxOp& op, std::vector<OutboxResult>& out) {
    std::vector<uint64_t> dropped;
    const bool room = room_.make_room(*op.msg, [this](uint64_t id) { erase_one(id); }, dropped);
    for (const uint64_t id : dropped) out.push_back({0, id, {}, OutboxResult::Outcome::dropped});
    if (!room) {
        out.push_back({op.ticket, 0, room_.refusal(), OutboxResult::Outcome::full});
        return false;
    }
    insert_one(op, out);
    return true;
}

void OutboxWriter::erase_one(uint64_t id) {
    room_.uncap();
    sqlite::Stmt::Use q(*erase_);
    q->bind(1, static_cast<int64_t>(id));
    q->step();
}

// Queued work goes first, deletes too: while a backlog drains, giving space back at each halving
// of the file would vacuum and checkpoint again and again; once the queue is idle, once will do.
void OutboxWriter::shrink() {
    room_.shrink([this] {
        std::lock_guard lk(mu_);
        return !queue_.empty() && !stop_;
    });
}

void OutboxWriter::commit(std::vector<OutboxOp>& batch, std::vector<OutboxResult>& out) {
    bool inserts = false, erases = false;
    for (const auto& op : batch) (op.msg ? inserts : erases) = true;
    try {
        if (inserts) room_.measure();
        db_->exec("BEGIN IMMEDIATE");
        // Deletes first: they are of rows committed earlier, they free pages for the inserts,
        // and the page cap is switched once per batch instead of at every change of kind.
        for (const auto& op : batch)
            if (!op.msg) {
                erase_one(op.erase_id);
                room_.freed(op.bytes);
            }
        bool room = true;
        for (const auto& op : batch) {
            if (!op.msg) continue;
            if (!room)  // keeps the order: nothing later may pass one refused
                out.push_back({op.ticket, 0, room_.refusal(), OutboxResult::Outcome::full});
            else
                room = insert_fitting(op, out);
        }
        bool dropped = false;
        for (const auto& r : out) dropped = dropped || r.outcome == OutboxResult::Outcome::dropped;
        const bool give_back = (erases || dropped || room_.shrinking()) && room_.worth_shrinking();
        db_->exec("COMMIT");
        commits_.fetch_add(1, std::memory_order_relaxed);
        if (erases) erases_done();
        if (give_back) shrink();
        return;
    } catch (const std::exception& e) {
        rollback(*db_);
        out.clear();
        const bool full = is_full(e);
        const std::string why = std::string("outbox commit failed: ") + e.what();
        log::debug(why);
        for (const auto& op : batch)
            if (op.msg)
                out.push_back({op.ticket, 0, why, full ? OutboxResult::Outcome::full : OutboxResult::Outcome::failed});
        // A WAL that could not grow can start over once it is checkpointed: then deletes fit in it.
        if (full) (void)sqlite3_wal_checkpoint_v2(db_->get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    // Deletes free space, which is what a full disk needs; retry them without the inserts.
    erase_only(batch);
}

void OutboxWriter::erase_only(const std::vector<OutboxOp>& batch) {
    std::vector<OutboxOp> erases;
    for (const auto& op : batch)
        if (!op.msg) erases.push_back(op);
    if (erases.empty()) return;
    try {
        db_->exec("BEGIN IMMEDIATE");
        for (const auto& op : erases) {
            erase_one(op.erase_id);
            room_.freed(op.bytes);
        }
        db_->exec("COMMIT");
        commits_.fetch_add(1, std::memory_order_relaxed);
        erases_done();
        shrink();
    } catch (const std::exception& e) {
        rollback(*db_);
        erases_failed(std::move(erases), e.what());
    }
}

// A delivered row whose delete is lost is sent again at the next start: keep trying, and say so.
void OutboxWriter::erases_failed(std::vector<OutboxOp> erases, const std::string& why) {
    ++erase_failures_;
    const auto now = Clock::now();
    std::lock_guard lk(mu_);
    if (stop_) {
        log::warning("outbox: deleting ", erases.size(), " delivered message", erases.size() == 1 ? "" : "s",
                     " failed at shutdown (", why, "); the next start sends ", erases.size() == 1 ? "it" : "them",
                     " again");
        return;
    }
    if (erase_failures_ == 1 || now >= next_erase_warning_) {
        log::warning("outbox: deleting ", erases.size(), " delivered message", erases.size() == 1 ? "" : "s",
                     " failed (attempt ", erase_failures_, "): ", why, "; trying again every ",
                     erase_window_.count(), " ms");
        next_erase_warning_ = now + kEraseWarningInterval;
    }
    stalled_.insert(stalled_.end(), std::make_move_iterator(erases.begin()), std::make_move_iterator(erases.end()));
    stalled_until_ = now + erase_window_;
}

void OutboxWriter::erases_done() {
    if (erase_failures_ == 0) return;
    log::notice("outbox: deleting delivered messages works again (after ", erase_failures_, " failed attempt",
                erase_failures_ == 1 ? "" : "s", ")");
    erase_failures_ = 0;
}

}  // namespace cellgate::bridge::detail
