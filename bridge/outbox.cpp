// The loop side of the outbox. Everything here runs on the event loop; the only disk writes
// happen on the OutboxWriter thread.
//
// Where payloads live: the in-memory index holds every committed row's id, size and age, so
// counters, limits and next() never touch the disk for bookkeeping. Payloads of messages accepted
// in this run stay in memory (shared with the writer, no copy) while the cache holds less than
// kCacheBytes, which covers delivery while the link is up. Rows recovered at open, or accepted
// while the cache was full (a backlog), are read back by primary key on a read-only connection
// when next() hands them out; a WAL reader never waits for the writer, and draining a backlog is
// paced by the platform's rate limit, so those reads are few and small.
//
// Limits are global, over all sessions (the issue's `outbox: { max_messages, max_bytes, max_age }`
// is one budget for one file on one SD card): the oldest rows overall are dropped first, and each
// drop is counted against the session that owned the row.
#include "bridge/outbox.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "bridge/outbox_stats.hpp"
#include "base/wall_clock.hpp"
#include "bridge/outbox_writer.hpp"
#include "bridge/sqlite.hpp"
#include "base/log.hpp"

namespace cellgate::bridge {

using detail::OutboxOp;
using detail::OutboxResult;
using detail::OutboxWriter;
using std::chrono::milliseconds;

namespace {

constexpr int64_t kApplicationId = 0x43474f42;  // "CGOB": tells our file from any other SQLite file
constexpr int64_t kSchemaVersion = 1;
constexpr uint64_t kCacheBytes = 4u << 20;
// Deletes (acknowledged or dropped rows) only cost duplicates if a crash loses them: one fsync a
// second at most for them alone, instead of one per PUBACK.
constexpr milliseconds kEraseWindow{1000};
// A row that cannot be read back (an I/O error, a busy reader) is tried again this often, this
// many times, before it is dropped: one bad sector must not stop a session's delivery for good.
constexpr milliseconds kReadRetry{1000};
constexpr unsigned kReadTries = 5;
// Rows stamped (or judged) before kPlausibleEpochMs have no trustworthy age and are left to the
// count and byte limits.

constexpr const char* kSchema = R"sql(
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the ids are the platform message ids
    session TEXT NOT NULL,
    topic TEXT NOT NULL,
    format TEXT NOT NULL,
    qos INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    payload BLOB NOT NULL
);
)sql";


class EventFd {
public:
    EventFd() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~EventFd() { ::close(fd_); }
    EventFd(const EventFd&) = delete;
    EventFd& operator=(const EventFd&) = delete;
    int get() const { return fd_; }
    void drain() const {
        uint64_t n = 0;
        if (::read(fd_, &n, sizeof n) < 0) {
            // EAGAIN: a spurious wake-up; nothing to do.
        }
    }

private:
    int fd_;
};

int64_t pragma_int(const sqlite::Db& db, const char* sql) {
    sqlite::Stmt s(db, sql);
    return s.step() ? s.int64(0) : 0;
}

// Refuses anything that is not a cellgate outbox of a version we read; creates the schema in an
// empty file.
void check_or_create_schema(sqlite::Db& db) {
    int64_t app = 0;
    try {
        app = pragma_int(db, "PRAGMA application_id");  // the first read of the file's header
    } catch (const sqlite::Error& e) {
        throw sqlite::Error(e.code(), std::string("cannot read it as an SQLite database: ") + sqlite3_errstr(e.code()));
    }
    const int64_t version = pragma_int(db, "PRAGMA user_version");
    if (app == 0 && version == 0) {
        if (pragma_int(db, "SELECT count(*) FROM sqlite_schema") != 0)
            throw sqlite::Error(SQLITE_MISMATCH, "not a cellgate outbox (an SQLite database with other tables)");
        db.exec("BEGIN IMMEDIATE");
        db.exec(kSchema);
        db.exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
        db.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
        db.exec("COMMIT");
        return;
    }
    if (app != kApplicationId)
        throw sqlite::Error(SQLITE_MISMATCH,
                            "not a cellgate outbox (SQLite application_id " + std::to_string(app) + ")");
    if (version != kSchemaVersion)
        throw sqlite::Error(SQLITE_MISMATCH, "outbox schema version " + std::to_string(version) +
                                                 ", this cellgated reads version " +
                                                 std::to_string(kSchemaVersion));
}

void set_durable_wal(sqlite::Db& db) {
    // The writer thread may wait for a second process (a backup, the sqlite3 shell); the loop never does.
    sqlite3_busy_timeout(db.get(), 5000);
    sqlite::Stmt wal(db, "PRAGMA journal_mode = WAL");
    if (!wal.step() || wal.text(0) != "wal")
        throw sqlite::Error(SQLITE_CANTOPEN, "cannot switch the outbox to WAL mode");
    // FULL: the WAL is fsynced at every commit, which is what "accepted" promises.
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA journal_size_limit = 4194304");
}

// The new file's directory entry must survive a power cut too.
void sync_parent_dir(const std::string& path) {
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

class SqliteOutbox final : public Outbox {
public:
    struct Row {
        uint64_t id;
        std::string session;
        uint64_t bytes;
        int64_t created_ms;
    };

    SqliteOutbox(Scheduler& sched, const OutboxConfig& config, std::unique_ptr<sqlite::Db> writer_db,
                 std::unique_ptr<sqlite::Db> reader_db, std::vector<Row> recovered);
    ~SqliteOutbox() override;

    void enqueue(OutboxMessage m, Done done) override;
    std::vector<OutboxMessage> next(const std::string& session, uint64_t after_id, size_t max) override;
    void acknowledge(uint64_t id) override;
    OutboxCounters counters(const std::string& session) const override;
    std::vector<std::string> sessions() const override;

    uint64_t commits() const { return writer_->commits(); }

private:
    struct Entry {
        uint64_t bytes = 0;
        int64_t created_ms = 0;
        std::shared_ptr<const OutboxMessage> cached;  // null: read it back from the file
    };
    struct SessionRows {
        std::map<uint64_t, Entry> rows;  // id order is delivery order
        uint64_t bytes = 0;
        uint64_t dropped = 0;
        uint64_t delivered = 0;
    };
    struct Pending {
        Done done;
        std::shared_ptr<const OutboxMessage> msg;
        const char* doomed = nullptr;  // dropped by this limit as soon as its commit lands
    };
    struct ReadFailure {
        bool missing = false;  // no such row any more (deleted behind our back)
        std::string why;
    };

    bool over_limits(uint64_t extra_rows, uint64_t extra_bytes) const;
    const char* which_limit(uint64_t extra_rows) const;
    void make_room(uint64_t extra_rows, uint64_t extra_bytes);
    void drop_expired(bool whole);
    void drop(SessionRows& s, const std::string& session, std::map<uint64_t, Entry>::iterator it, const char* why);
    void forget(SessionRows& s, std::map<uint64_t, Entry>::iterator it);
    void report_drop(const std::string& session, const char* why);
    void fail_later(Done done, std::string why);
    void on_results();
    void take_result(OutboxResult& r, std::vector<std::string>& available);
    std::expected<OutboxMessage, ReadFailure> read_back(uint64_t id);
    // false: stop here and try again later (the row stays); true: the row was dropped.
    bool unreadable(const std::string& session, SessionRows& s, std::map<uint64_t, Entry>::iterator it,
                    const ReadFailure& why);
    void arm_sweep();

    Scheduler& sched_;
    const OutboxConfig cfg_;
    std::map<std::string, SessionRows, std::less<>> sessions_;
    uint64_t rows_ = 0, bytes_ = 0;                  // committed, not acknowledged or dropped
    uint64_t pending_rows_ = 0, pending_bytes_ = 0;  // handed to the writer, not yet committed, not doomed
    uint64_t cache_bytes_ = 0;
    uint64_t next_ticket_ = 1;
    std::map<uint64_t, Pending> pending_;  // by ticket: acceptance order
    std::map<std::pair<std::string, std::string>, uint64_t> drop_reports_;
    std::map<uint64_t, unsigned> read_failures_;       // row id -> failed reads so far
    std::vector<std::string> read_retry_sessions_;      // told on_available when retry_ fires
    std::shared_ptr<char> alive_ = std::make_shared<char>(0);

    // Destroyed bottom-up: timer and watch first, then the reader (so the writer's connection is
    // the last one and checkpoints the WAL away), then the writer (flush, join), then the eventfd
    // it signals.
    EventFd notify_;
    std::unique_ptr<OutboxWriter> writer_;
    std::unique_ptr<sqlite::Db> reader_;
    std::unique_ptr<sqlite::Stmt> read_one_;
    std::unique_ptr<IoWatch> watch_;
    std::unique_ptr<Timer> sweep_;
    std::unique_ptr<Timer> retry_;
};

SqliteOutbox::SqliteOutbox(Scheduler& sched, const OutboxConfig& config, std::unique_ptr<sqlite::Db> writer_db,
                           std::unique_ptr<sqlite::Db> reader_db, std::vector<Row> recovered)
    : sched_(sched), cfg_(config) {
    for (auto& r : recovered) {
        auto& s = sessions_[r.session];
        s.rows.emplace(r.id, Entry{r.bytes, r.created_ms, nullptr});
        s.bytes += r.bytes;
        ++rows_;
        bytes_ += r.bytes;
    }
    writer_ = std::make_unique<OutboxWriter>(std::move(writer_db), cfg_.commit_window, kEraseWindow, notify_.get());
    reader_ = std::move(reader_db);
    read_one_ = std::make_unique<sqlite::Stmt>(
        *reader_, "SELECT session, topic, format, qos, created_ms, payload FROM messages WHERE id = ?1");
    watch_ = sched_.watch_fd(notify_.get(), EPOLLIN, [this](uint32_t) { on_results(); });
    retry_ = sched_.make_timer([this] {
        for (const auto& name : std::exchange(read_retry_sessions_, {}))
            if (on_available) on_available(name);
    });

    // The limits may have shrunk since the last run.
    make_room(0, 0);
    drop_expired(true);
    std::weak_ptr<char> alive = alive_;
    sched_.defer([this, alive] {
        if (alive.expired() || !on_available) return;
        std::vector<std::string> backlog;
        for (const auto& [name, s] : sessions_)
            if (!s.rows.empty()) backlog.push_back(name);
        for (const auto& name : backlog) {
            on_available(name);
            if (alive.expired()) return;
        }
    });
    if (cfg_.max_age.count() > 0) {
        sweep_ = sched_.make_timer([this] {
            drop_expired(true);
            arm_sweep();
        });
        arm_sweep();
    }
}

SqliteOutbox::~SqliteOutbox() = default;

void SqliteOutbox::arm_sweep() {
    sweep_->arm(std::clamp(cfg_.max_age / 4, milliseconds(100), milliseconds(60'000)));
}

bool SqliteOutbox::over_limits(uint64_t extra_rows, uint64_t extra_bytes) const {
    const uint64_t n = rows_ + pending_rows_ + extra_rows;
    const uint64_t b = bytes_ + pending_bytes_ + extra_bytes;
    return (cfg_.max_messages > 0 && n > cfg_.max_messages) || (cfg_.max_bytes > 0 && b > cfg_.max_bytes);
}

const char* SqliteOutbox::which_limit(uint64_t extra_rows) const {
    return cfg_.max_messages > 0 && rows_ + pending_rows_ + extra_rows > cfg_.max_messages ? "max_messages"
                                                                                          : "max_bytes";
}

// Drops the oldest rows overall until `extra` more fit. Committed rows are always older than rows
// still on their way to the disk; when those alone are over the limit (a burst faster than the
// disk), the oldest of them are doomed: their callers still learn the commit (the message was
// accepted), and the row is dropped and counted right after it.
void SqliteOutbox::make_room(uint64_t extra_rows, uint64_t extra_bytes) {
    while (rows_ > 0 && over_limits(extra_rows, extra_bytes)) {
        SessionRows* oldest = nullptr;
        const std::string* name = nullptr;
        for (auto& [n, s] : sessions_)
            if (!s.rows.empty() && (!oldest || s.rows.begin()->first < oldest->rows.begin()->first)) {
                oldest = &s;
                name = &n;
            }
        drop(*oldest, *name, oldest->rows.begin(), which_limit(extra_rows));
    }
    for (auto it = pending_.begin(); it != pending_.end() && over_limits(extra_rows, extra_bytes); ++it) {
        if (it->second.doomed) continue;
        it->second.doomed = which_limit(extra_rows);
        --pending_rows_;
        pending_bytes_ -= it->second.msg->payload.size();
    }
}

// `whole`: look at every row, not just up to the first young one, for rows stamped by a caller
// (or before a clock step) out of id order.
void SqliteOutbox::drop_expired(bool whole) {
    const int64_t now = wall_ms();
    if (cfg_.max_age.count() <= 0 || now < kPlausibleEpochMs) return;
    const int64_t cutoff = now - cfg_.max_age.count();
    for (auto& [name, s] : sessions_) {
        for (auto it = s.rows.begin(); it != s.rows.end();) {
            const int64_t t = it->second.created_ms;
            if (t < kPlausibleEpochMs) {
                ++it;
                continue;
            }
            if (t >= cutoff) {
                if (!whole) break;  // ids mostly follow acceptance time: the rest is younger
                ++it;
                continue;
            }
            auto victim = it++;
            drop(s, name, victim, "max_age");
        }
    }
}

void SqliteOutbox::forget(SessionRows& s, std::map<uint64_t, Entry>::iterator it) {
    if (it->second.cached) cache_bytes_ -= it->second.bytes;
    s.bytes -= it->second.bytes;
    bytes_ -= it->second.bytes;
    --rows_;
    read_failures_.erase(it->first);
    writer_->post(OutboxOp{0, nullptr, it->first, Clock::now()});
    s.rows.erase(it);
}

void SqliteOutbox::drop(SessionRows& s, const std::string& session, std::map<uint64_t, Entry>::iterator it,
                        const char* why) {
    forget(s, it);
    ++s.dropped;
    report_drop(session, why);
}

// Reported from the loop, coalesced: never from inside enqueue().
void SqliteOutbox::report_drop(const std::string& session, const char* why) {
    const bool first = drop_reports_.empty();
    ++drop_reports_[{session, why}];
    if (!first) return;
    std::weak_ptr<char> alive = alive_;
    sched_.defer([this, alive] {
        if (alive.expired()) return;
        auto reports = std::exchange(drop_reports_, {});
        for (const auto& [key, count] : reports) {
            if (on_dropped) on_dropped(key.first, count, key.second);
            if (alive.expired()) return;
        }
    });
}

void SqliteOutbox::fail_later(Done done, std::string why) {
    std::weak_ptr<char> alive = alive_;
    sched_.defer([alive, done = std::move(done), why = std::move(why)] {
        if (!alive.expired() && done) done(std::unexpected(why));
    });
}

void SqliteOutbox::enqueue(OutboxMessage m, Done done) {
    const uint64_t bytes = m.payload.size();
    if (m.session.empty()) return fail_later(std::move(done), "outbox: message without a session");
    if (cfg_.max_bytes > 0 && bytes > cfg_.max_bytes)
        return fail_later(std::move(done), "outbox: a payload of " + std::to_string(bytes) +
                                               " bytes is larger than the whole outbox (max_bytes " +
                                               std::to_string(cfg_.max_bytes) + ")");
    drop_expired(false);
    make_room(1, bytes);
    if (m.created_ms == 0) m.created_ms = wall_ms();
    m.id = 0;
    auto msg = std::make_shared<const OutboxMessage>(std::move(m));
    const uint64_t ticket = next_ticket_++;
    pending_.emplace(ticket, Pending{std::move(done), msg});
    ++pending_rows_;
    pending_bytes_ += bytes;
    writer_->post(OutboxOp{ticket, std::move(msg), 0, Clock::now()});
}

void SqliteOutbox::on_results() {
    notify_.drain();
    auto results = writer_->take_results();
    std::weak_ptr<char> alive = alive_;
    std::vector<std::string> available;
    for (auto& r : results) {
        // The results are taken: one that fails (out of memory) must not lose the others, and
        // nothing may escape to sd-event, which would disable this watch for good.
        try {
            take_result(r, available);
        } catch (const std::exception& e) {
            log::error("outbox: completing message ", r.id, ": ", e.what());
        }
        if (alive.expired()) return;
    }
    for (const auto& name : available) {
        if (on_available) on_available(name);
        if (alive.expired()) return;
    }
}

void SqliteOutbox::take_result(OutboxResult& r, std::vector<std::string>& available) {
    auto pit = pending_.find(r.ticket);
    if (pit == pending_.end()) return;
    Pending p = std::move(pit->second);
    pending_.erase(pit);
    const uint64_t bytes = p.msg->payload.size();
    if (!p.doomed) {
        --pending_rows_;
        pending_bytes_ -= bytes;
    }
    if (!r.error.empty()) {
        if (p.done) p.done(std::unexpected(r.error));
    } else if (p.doomed) {
        writer_->post(OutboxOp{0, nullptr, r.id, Clock::now()});
        ++sessions_[p.msg->session].dropped;
        report_drop(p.msg->session, p.doomed);
        if (p.done) p.done(r.id);
    } else {
        const std::string& name = p.msg->session;
        auto& s = sessions_[name];
        Entry e{bytes, p.msg->created_ms, nullptr};
        if (cache_bytes_ + bytes <= kCacheBytes) {
            e.cached = p.msg;
            cache_bytes_ += bytes;
        }
        s.rows.emplace(r.id, std::move(e));
        s.bytes += bytes;
        ++rows_;
        bytes_ += bytes;
        if (std::find(available.begin(), available.end(), name) == available.end()) available.push_back(name);
        if (p.done) p.done(r.id);
    }
}

std::expected<OutboxMessage, SqliteOutbox::ReadFailure> SqliteOutbox::read_back(uint64_t id) {
    try {
        sqlite::Stmt::Use q(*read_one_);
        q->bind(1, static_cast<int64_t>(id));
        if (!q->step()) return std::unexpected(ReadFailure{true, "it is no longer in the database"});
        OutboxMessage m;
        m.id = id;
        m.session = q->text(0);
        m.topic = q->text(1);
        m.format = q->text(2);
        m.qos = static_cast<int>(q->int64(3));
        m.created_ms = q->int64(4);
        m.payload = q->blob(5);
        return m;
    } catch (const sqlite::Error& e) {
        return std::unexpected(ReadFailure{false, e.what()});
    }
}

bool SqliteOutbox::unreadable(const std::string& session, SessionRows& s, std::map<uint64_t, Entry>::iterator it,
                              const ReadFailure& why) {
    const uint64_t id = it->first;
    const unsigned tries = ++read_failures_[id];
    if (!why.missing && tries < kReadTries) {
        log::warning("outbox: reading message ", id, " of ", session, " back failed (", tries, " of ", kReadTries,
                     "): ", why.why, "; trying again in ", kReadRetry.count(), " ms");
        if (std::find(read_retry_sessions_.begin(), read_retry_sessions_.end(), session) == read_retry_sessions_.end())
            read_retry_sessions_.push_back(session);
        retry_->arm(kReadRetry);
        return false;
    }
    log::error("outbox: dropping message ", id, " of ", session, ": ",
               why.missing ? why.why : "it could not be read back " + std::to_string(tries) + " times: " + why.why);
    read_failures_.erase(id);
    drop(s, session, it, "unreadable");
    return true;
}

std::vector<OutboxMessage> SqliteOutbox::next(const std::string& session, uint64_t after_id, size_t max) {
    std::vector<OutboxMessage> out;
    auto sit = sessions_.find(session);
    if (sit == sessions_.end()) return out;
    auto& rows = sit->second.rows;
    for (auto it = rows.upper_bound(after_id); it != rows.end() && out.size() < max;) {
        if (it->second.cached) {
            out.push_back(*it->second.cached);
            out.back().id = it->first;
            ++it;
            continue;
        }
        auto m = read_back(it->first);
        if (m) {
            read_failures_.erase(it->first);
            out.push_back(std::move(*m));
            ++it;
            continue;
        }
        // Keep the order: a row that may still be read is never skipped, only one that cannot.
        auto victim = it++;
        if (!unreadable(session, sit->second, victim, m.error())) break;
    }
    return out;
}

void SqliteOutbox::acknowledge(uint64_t id) {
    for (auto& [name, s] : sessions_) {
        auto it = s.rows.find(id);
        if (it == s.rows.end()) continue;
        forget(s, it);
        ++s.delivered;
        return;
    }
    // Unknown: dropped by a limit while in flight, or acknowledged twice.
}

std::vector<std::string> SqliteOutbox::sessions() const {
    std::vector<std::string> out;
    for (const auto& [name, s] : sessions_)
        if (!s.rows.empty()) out.push_back(name);
    return out;
}

OutboxCounters SqliteOutbox::counters(const std::string& session) const {
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return {};
    const auto& s = it->second;
    return OutboxCounters{s.rows.size(), s.bytes, s.dropped, s.delivered};
}

std::vector<SqliteOutbox::Row> load_rows(const sqlite::Db& db) {
    std::vector<SqliteOutbox::Row> rows;
    // length() of a blob reads the record header only, not the payload's overflow pages.
    sqlite::Stmt s(db, "SELECT id, session, length(payload), created_ms FROM messages ORDER BY id");
    while (s.step())
        rows.push_back({static_cast<uint64_t>(s.int64(0)), s.text(1), static_cast<uint64_t>(s.int64(2)), s.int64(3)});
    return rows;
}

}  // namespace

std::unique_ptr<Outbox> open_outbox(Scheduler& sched, const OutboxConfig& config, std::string& error) {
    try {
        constexpr int kFlags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
        auto writer = std::make_unique<sqlite::Db>(config.path, kFlags | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        check_or_create_schema(*writer);
        set_durable_wal(*writer);
        auto rows = load_rows(*writer);
        sync_parent_dir(config.path);
        auto reader = std::make_unique<sqlite::Db>(config.path, kFlags | SQLITE_OPEN_READONLY);
        // A WAL reader only waits while another connection recovers the WAL: never for long.
        sqlite3_busy_timeout(reader->get(), 50);
        log::debug("outbox: ", config.path, ": ", rows.size(), " messages recovered");
        return std::make_unique<SqliteOutbox>(sched, config, std::move(writer), std::move(reader), std::move(rows));
    } catch (const std::exception& e) {
        error = config.path + ": " + e.what();
        return nullptr;
    }
}

uint64_t outbox_commit_count(const Outbox& outbox) {
    const auto* o = dynamic_cast<const SqliteOutbox*>(&outbox);
    return o ? o->commits() : 0;
}

}  // namespace cellgate::bridge
