// The durable outbox: every message cellgate accepts for the cloud, in SQLite (WAL) until the
// cloud's PUBACK. "Accepted" means "its insert is committed and fsynced": callers learn it through
// the completion of enqueue(), never earlier.
//
// Commits are grouped (an fsync on an SD card costs milliseconds) and run on a writer thread that
// owns the write connection, so the event loop never waits for the disk; completions come back to
// the loop through an eventfd. Delivery order is the row id order per session.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/loop.hpp"

namespace cellgate::bridge {

// The smallest outbox SQLite works in: the database's first pages, the WAL and the WAL's index.
inline constexpr uint64_t kMinOutboxBytes = 128 * 1024;

struct OutboxConfig {
    std::string path = "/var/lib/cellgate/outbox.db";
    uint64_t max_messages = 100'000;                 // over it, the oldest rows are dropped
    // Over it the oldest rows are dropped: payload bytes, and the files on disk (database, WAL and
    // its index) stay below it too, or below kMinOutboxBytes, the least SQLite can work in.
    uint64_t max_bytes = 64ull * 1024 * 1024;
    std::chrono::milliseconds max_age{std::chrono::hours(24 * 7)};  // older rows are dropped
    // Commits of inserts start at most once per window (one fsync per window however fast
    // messages come: an SD card's wear and time), and at once when the previous one began at
    // least a window ago (a sparse message waits for nothing but its own fsync).
    std::chrono::milliseconds commit_window{std::chrono::milliseconds(5)};
    bool operator==(const OutboxConfig&) const = default;
};

struct OutboxMessage {
    uint64_t id = 0;            // row id: unique, increasing; also the platform message id
    std::string session;        // cloud session name
    std::string topic;          // cloud topic
    std::string format;         // how the payload is wrapped at send time: "raw", "property", "event:<id>"
    std::string payload;        // the local payload as accepted
    int qos = 1;
    int64_t created_ms = 0;     // wall clock at acceptance (ms since the epoch)
};

// Why an insert was not committed. `full`: no room now (the filesystem is full, or the message is
// larger than max_bytes); room may come back as the cloud drains the outbox. `failed`: anything
// else (an I/O error, a file that became unreadable).
enum class OutboxErrorKind { full, failed };

struct OutboxError {
    OutboxErrorKind kind = OutboxErrorKind::failed;
    std::string message;
    // The message that was not taken, handed back: a caller that offers it again later needs no
    // copy of its own of every message on its way to the disk.
    std::shared_ptr<const OutboxMessage> refused;
};

struct OutboxCounters {
    uint64_t queued = 0;        // rows waiting (committed, not yet acknowledged)
    uint64_t queued_bytes = 0;
    uint64_t dropped = 0;       // removed by a limit (oldest first) since start
    uint64_t delivered = 0;     // removed on PUBACK (acknowledge()) since start
};

class Outbox {
public:
    using Done = std::function<void(std::expected<uint64_t, OutboxError> id_or_error)>;

    virtual ~Outbox() = default;

    // Queues `m` (its id is ignored). `done` runs on the loop once the group commit holding the
    // insert is durable (with the new id), or failed (with why: disk full, I/O error). Never runs
    // inside enqueue(). Nothing is retried here: a caller that must not lose `m` takes it back
    // from the error (`refused`) and enqueues it again later.
    virtual void enqueue(OutboxMessage m, Done done) = 0;
    // Up to `max` committed messages of `session` with id > `after_id`, oldest first.
    virtual std::vector<OutboxMessage> next(const std::string& session, uint64_t after_id, size_t max) = 0;
    // The cloud acknowledged `id`: delete it (grouped; a crash before the delete only means the
    // message is sent again, at least once). Counted as delivered.
    virtual void acknowledge(uint64_t id) = 0;
    // The caller gave up on `id` (it can never be sent): delete it the same way. Counted by the
    // caller, which knows why; neither delivered nor a limit's drop here.
    virtual void drop(uint64_t id) = 0;
    virtual OutboxCounters counters(const std::string& session) const = 0;
    // Every session with committed rows waiting.
    virtual std::vector<std::string> sessions() const = 0;

    // New committed messages for `session` (after enqueue completions, and once at open for every
    // session with a backlog).
    std::function<void(const std::string& session)> on_available;
    // Rows dropped by a limit, for the log and the counters.
    std::function<void(const std::string& session, uint64_t count, const std::string& why)> on_dropped;
};

// Opens (creating the file and schema if needed) and recovers what a previous run left. The file
// is locked for as long as the outbox lives: a second process (another cellgated) is refused.
// nullptr with `error` set when the database cannot be opened, is not ours or is locked.
std::unique_ptr<Outbox> open_outbox(Scheduler& sched, const OutboxConfig& config, std::string& error);

}  // namespace cellgate::bridge
