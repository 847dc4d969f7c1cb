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
// Limits are global, over all sessions (`outbox: { max_messages, max_bytes, max_age }` is one
// budget for one file on one SD card): the oldest rows overall are dropped first, and each drop is
// counted against the session that owned the row. max_bytes is kept here for payload bytes and by
// the writer for the files on disk; the writer reports the rows it dropped for it.
#include "bridge/outbox.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string_view>
#include <system_error>
#include <utility>

#include "base/guarded.hpp"
#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "base/unique_fd.hpp"
#include "base/wall_clock.hpp"
#include "bridge/outbox_file.hpp"
#include "bridge/outbox_stats.hpp"
#include "bridge/outbox_writer.hpp"
#include "bridge/sqlite.hpp"

namespace cellgate::bridge {

using detail::OutboxFile;
using detail::OutboxOp;
using detail::OutboxResult;
using detail::OutboxWriter;
using std::chrono::milliseconds;

namespace {

constexpr uint64_t kCacheBytes = 4u << 20;
// Deletes (acknowledged or dropped rows) only cost duplicates if a crash loses them: one fsync a
// second at most for them alone, instead of one per PUBACK.
constexpr milliseconds kEraseWindow{1000};
// A row that cannot be read back (an I/O error, a busy reader) is tried again this often, this
// many times, before it is dropped: one bad sector must not stop a session's delivery for good.
constexpr milliseconds kReadRetry{1000};
constexpr unsigned kReadTries = 5;

// The writer's completions come back through this; read on the loop.
UniqueFd make_eventfd() {
    UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!fd) throw std::system_error(errno, std::generic_category(), "eventfd");
    return fd;
}

class SqliteOutbox final : public Outbox {
public:
    SqliteOutbox(Scheduler& sched, const OutboxConfig& config, OutboxFile file);
    ~SqliteOutbox() override;

    void enqueue(OutboxMessage m, Done done) override;
    std::vector<OutboxMessage> next(const std::string& session, uint64_t after_id, size_t max) override;
    void acknowledge(uint64_t id) override;
    void drop(uint64_t id) override;
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
    // Dropped by a limit (or unreadable): counted and reported through on_dropped.
    void evict(SessionRows& s, const std::string& session, std::map<uint64_t, Entry>::iterator it, const char* why);
    // `erase`: have the writer delete the row (not when the writer dropped it itself).
    void forget(SessionRows& s, std::map<uint64_t, Entry>::iterator it, bool erase = true);
    // Forgets row `id` wherever it is: the session it was in, nullptr when it is gone already.
    SessionRows* remove(uint64_t id);
    void report_drop(const std::string& session, const char* why);
    void fail_later(Done done, OutboxError why);
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
    Lifetime life_;

    // Destroyed bottom-up: timer and watch first, then the reader (so the writer's connection is
    // the last one and checkpoints the WAL away), then the writer (flush, join), then the eventfd
    // it signals, and the file's lock last.
    UniqueFd lock_;
    UniqueFd notify_ = make_eventfd();
    std::unique_ptr<OutboxWriter> writer_;
    std::unique_ptr<sqlite::Db> reader_;
    std::unique_ptr<sqlite::Stmt> read_one_;
    std::unique_ptr<IoWatch> watch_;
    std::unique_ptr<Timer> sweep_;
    std::unique_ptr<Timer> retry_;
};

SqliteOutbox::SqliteOutbox(Scheduler& sched, const OutboxConfig& config, OutboxFile file)
    : sched_(sched), cfg_(config), lock_(std::move(file.lock)) {
    for (auto& r : file.rows) {
        auto& s = sessions_[r.session];
        s.rows.emplace(r.id, Entry{r.bytes, r.created_ms, nullptr});
        s.bytes += r.bytes;
        ++rows_;
        bytes_ += r.bytes;
    }
    writer_ = std::make_unique<OutboxWriter>(std::move(file.writer), cfg_.commit_window, kEraseWindow, notify_.get(),
                                             detail::WriterSpace{cfg_.max_bytes});
    reader_ = std::move(file.reader);
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
    sched_.defer([this, alive = life_.token()] {
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
        evict(*oldest, *name, oldest->rows.begin(), which_limit(extra_rows));
    }
    for (auto it = pending_.begin(); it != pending_.end() && over_limits(extra_rows, extra_bytes); ++it) {
        if (it->second.doomed) continue;
        it->second.doomed = which_limit(extra_rows);
        --pending_rows_;
        pending_bytes_ -= it->second.msg->payload.size();
    }
}

// `whole`: look at every row, not just up to the first young one, for rows stamped by a caller
// (or before a clock step) out of id order. Rows stamped (or judged) before kPlausibleEpochMs have
// no trustworthy age and are left to the count and byte limits.
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
            evict(s, name, victim, "max_age");
        }
    }
}

void SqliteOutbox::forget(SessionRows& s, std::map<uint64_t, Entry>::iterator it, bool erase) {
    if (it->second.cached) cache_bytes_ -= it->second.bytes;
    s.bytes -= it->second.bytes;
    bytes_ -= it->second.bytes;
    --rows_;
    read_failures_.erase(it->first);
    if (erase) writer_->post(OutboxOp{0, nullptr, it->first, Clock::now(), it->second.bytes});
    s.rows.erase(it);
}

void SqliteOutbox::evict(SessionRows& s, const std::string& session, std::map<uint64_t, Entry>::iterator it,
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
    sched_.defer([this, alive = life_.token()] {
        if (alive.expired()) return;
        auto reports = std::exchange(drop_reports_, {});
        for (const auto& [key, count] : reports) {
            if (on_dropped) on_dropped(key.first, count, key.second);
            if (alive.expired()) return;
        }
    });
}

void SqliteOutbox::fail_later(Done done, OutboxError why) {
    sched_.defer([alive = life_.token(), done = std::move(done), why = std::move(why)] {
        if (!alive.expired() && done) done(std::unexpected(why));
    });
}

void SqliteOutbox::enqueue(OutboxMessage m, Done done) {
    const uint64_t bytes = m.payload.size();
    const auto refuse = [&](OutboxErrorKind kind, std::string why) {
        fail_later(std::move(done), {kind, std::move(why), std::make_shared<const OutboxMessage>(std::move(m))});
    };
    if (m.session.empty()) return refuse(OutboxErrorKind::failed, "outbox: message without a session");
    if (cfg_.max_bytes > 0 && bytes > cfg_.max_bytes)
        return refuse(OutboxErrorKind::full, "outbox: a payload of " + std::to_string(bytes) +
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
    eventfd_t ignored = 0;
    (void)eventfd_read(notify_.get(), &ignored);  // EAGAIN: a spurious wake-up
    auto results = writer_->take_results();
    const auto alive = life_.token();
    std::vector<std::string> available;
    // Rows the writer dropped for max_bytes may have been inserted in the same batch: the inserts
    // are taken first.
    for (const bool drops : {false, true}) {
        for (auto& r : results) {
            if ((r.outcome == OutboxResult::Outcome::dropped) != drops) continue;
            // The results are taken: one that fails (out of memory) must not lose the others, and
            // nothing may escape to sd-event, which would disable this watch for good.
            guarded("outbox: completing an enqueue", [&] { take_result(r, available); });
            if (alive.expired()) return;
        }
    }
    for (const auto& name : available) {
        if (on_available) on_available(name);
        if (alive.expired()) return;
    }
}

void SqliteOutbox::take_result(OutboxResult& r, std::vector<std::string>& available) {
    if (r.outcome == OutboxResult::Outcome::dropped) {
        for (auto& [name, s] : sessions_) {
            auto it = s.rows.find(r.id);
            if (it == s.rows.end()) continue;
            forget(s, it, /*erase=*/false);
            ++s.dropped;
            report_drop(name, "max_bytes");
            return;
        }
        return;
    }
    auto pit = pending_.find(r.ticket);
    if (pit == pending_.end()) return;
    Pending p = std::move(pit->second);
    pending_.erase(pit);
    const uint64_t bytes = p.msg->payload.size();
    if (!p.doomed) {
        --pending_rows_;
        pending_bytes_ -= bytes;
    }
    if (r.outcome != OutboxResult::Outcome::committed) {
        const auto kind = r.outcome == OutboxResult::Outcome::full ? OutboxErrorKind::full : OutboxErrorKind::failed;
        if (p.done) p.done(std::unexpected(OutboxError{kind, r.error, std::move(p.msg)}));
    } else if (p.doomed) {
        writer_->post(OutboxOp{0, nullptr, r.id, Clock::now(), bytes});
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
    evict(s, session, it, "unreadable");
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

SqliteOutbox::SessionRows* SqliteOutbox::remove(uint64_t id) {
    for (auto& [name, s] : sessions_) {
        auto it = s.rows.find(id);
        if (it == s.rows.end()) continue;
        forget(s, it);
        return &s;
    }
    // Unknown: dropped by a limit while in flight, or acknowledged twice.
    return nullptr;
}

void SqliteOutbox::acknowledge(uint64_t id) {
    if (SessionRows* s = remove(id)) ++s->delivered;
}

void SqliteOutbox::drop(uint64_t id) { remove(id); }

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

}  // namespace

std::unique_ptr<Outbox> open_outbox(Scheduler& sched, const OutboxConfig& config, std::string& error) {
    try {
        auto file = detail::open_outbox_file(config.path);
        log::debug("outbox: ", config.path, ": ", file.rows.size(), " messages recovered");
        return std::make_unique<SqliteOutbox>(sched, config, std::move(file));
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
