#include "bridge/outbox_room.hpp"

#include <algorithm>
#include <exception>

#include "base/log.hpp"
#include "bridge/outbox_file.hpp"

namespace cellgate::bridge::detail {

namespace {

// Giving space back starts once at least this many pages, and half the file, are free.
constexpr int64_t kShrinkMinPages = 16;
// Whether it does is asked of SQLite once rows of at least this many pages' worth were deleted
// since it was last asked: fewer cannot have freed kShrinkMinPages pages (pages hold whole rows
// packed by id), and each ask compiles its PRAGMA again.
constexpr uint64_t kShrinkAskPages = kShrinkMinPages / 2;
// Per row, beside its payload: the cell's header, key and other columns.
constexpr uint64_t kRowOverhead = 64;
// A file made before incremental auto-vacuum is converted (VACUUM) only while this small.
constexpr int64_t kConvertMaxPages = 256;
// Rows dropped per step while an insert does not fit below max_bytes: a few pages' worth.
constexpr uint64_t kDropStepPages = 2;
// How far below the cap (at the batch's bound) SQLite's own cap is not needed: more than one
// batch (a quarter of an 8 MiB WAL) can add.
constexpr uint64_t kUncappedMarginPages = 1024;
// An empty outbox's own pages: the header and schema, the pointer map, the two tables' roots.
constexpr uint64_t kFilePages = 4;

uint64_t page_size_of(const sqlite::Db& db) {
    const int64_t n = query_int(db, "PRAGMA page_size");
    return n > 0 ? static_cast<uint64_t>(n) : 4096;
}

std::string path_of(const sqlite::Db& db) {
    const char* p = sqlite3_db_filename(db.get(), "main");
    return p ? p : "";
}

uint64_t value_of(sqlite::Stmt& pragma) {
    sqlite::Stmt::Use q(pragma);
    return q->step() ? static_cast<uint64_t>(std::max<int64_t>(0, q->int64(0))) : 0;
}

}  // namespace

bool is_full(const std::exception& e) {
    const auto* s = dynamic_cast<const sqlite::Error*>(&e);
    return s && (s->code() & 0xff) == SQLITE_FULL;
}

OutboxRoom::OutboxRoom(sqlite::Db& db, WriterSpace space)
    : db_(db),
      space_(std::move(space)),
      path_(path_of(db_)),
      page_size_(page_size_of(db_)),
      wal_budget_(wal_budget(space_.max_bytes, space_.measure(path_).fs_size)),
      oldest_(std::make_unique<sqlite::Stmt>(db_, "SELECT id, length(payload) FROM messages ORDER BY id LIMIT 256")),
      page_count_(std::make_unique<sqlite::Stmt>(db_, "PRAGMA page_count")),
      freelist_count_(std::make_unique<sqlite::Stmt>(db_, "PRAGMA freelist_count")) {
    // Debian builds SQLite with SECURE_DELETE, which overwrites every freed page: deleting a
    // drained backlog would then need as much WAL as the rows themselves, which a full disk does
    // not have. FAST only zeroes what is written anyway.
    db_.exec("PRAGMA secure_delete = FAST");
    db_.exec(("PRAGMA journal_size_limit = " + std::to_string(wal_budget_)).c_str());
    db_.exec(("PRAGMA wal_autocheckpoint = " + std::to_string(std::max<uint64_t>(1, wal_budget_ / 2 / page_size_)))
                 .c_str());
}

uint64_t OutboxRoom::batch_bytes(uint64_t at_most) const { return std::min(at_most, wal_budget_ / 4); }

void OutboxRoom::measure() {
    const DiskUse use = space_.measure(path_);
    const PageCap cap = page_cap(use, space_.max_bytes, wal_budget_, page_size_);
    cap_disk_ = cap.disk;
    fs_free_ = use.fs_free;
    cap_pages_ = cap.pages;
    bound_asked_ = false;
}

void OutboxRoom::set_max_pages(uint64_t pages) {
    if (pages == max_pages_set_) return;
    db_.exec(("PRAGMA max_page_count = " + std::to_string(pages)).c_str());
    max_pages_set_ = pages;
}

void OutboxRoom::cap_for_insert() {
    // Far below the cap, make_room's own bound keeps the file in it; SQLite's cap is then left
    // off, which spares two PRAGMA statements per batch. Near it, the cap is SQLite's to enforce.
    if (pages_bound_ < cap_pages_ && cap_pages_ - pages_bound_ > kUncappedMarginPages) set_max_pages(kNoCap);
    else set_max_pages(cap_pages_);
}
void OutboxRoom::uncap() { set_max_pages(kNoCap); }

bool OutboxRoom::make_room(const OutboxMessage& m, const std::function<void(uint64_t id)>& erase,
                           std::vector<uint64_t>& dropped) {
    // The cell (or its overflow chain), and a leaf and its parent should the tree split.
    const uint64_t record = m.payload.size() + m.topic.size() + m.session.size() + m.format.size() + kRowOverhead;
    const uint64_t need = (record + page_size_ - 41) / (page_size_ - 40) + 2;
    // Larger than the whole cap (beside the file's own first pages): dropping every row would not do.
    bool room = need + kFilePages <= cap_pages_;
    // The file grows by at most `need` per insert, and deletes do not grow it: while that bound
    // fits, no need to ask SQLite (each ask compiles its PRAGMA again). A bound carried over from
    // earlier batches has only grown; it is trusted while far from the cap, asked again near it.
    const uint64_t margin = bound_asked_ ? 0 : kUncappedMarginPages;
    if (room && pages_bound_ + need + margin <= cap_pages_) {
        pages_bound_ += need;
        return true;
    }
    while (room) {
        const uint64_t pages = value_of(*page_count_);
        const uint64_t free = value_of(*freelist_count_);
        pages_bound_ = pages + need;
        bound_asked_ = true;
        if (pages + (need > free ? need - free : 0) <= cap_pages_) return true;
        // Over the filesystem's room nothing is dropped: rows freed do not shrink the file.
        room = !cap_disk_ && drop_oldest(erase, dropped);
    }
    if (cap_disk_)
        refusal_ = "outbox: the filesystem of " + path_ + " is full (" + std::to_string(fs_free_ / 1024) +
                   " KiB free, kept for the WAL and deletes)";
    else
        refusal_ = "outbox: max_bytes (" + std::to_string(space_.max_bytes) + ") cannot hold the message";
    return false;
}

// The oldest rows overall go first, a few pages' worth at a time (rows inserted earlier in the
// same batch too: their callers still learn they were accepted).
bool OutboxRoom::drop_oldest(const std::function<void(uint64_t id)>& erase, std::vector<uint64_t>& dropped) {
    std::vector<uint64_t> ids;
    {
        sqlite::Stmt::Use q(*oldest_);
        uint64_t bytes = 0;
        while (bytes < kDropStepPages * page_size_ && q->step()) {
            ids.push_back(static_cast<uint64_t>(q->int64(0)));
            bytes += static_cast<uint64_t>(q->int64(1)) + kRowOverhead;
        }
        freed(bytes);
    }
    for (const uint64_t id : ids) {
        erase(id);
        dropped.push_back(id);
    }
    return !ids.empty();
}

void OutboxRoom::freed(uint64_t payload_bytes) { freed_bytes_ += payload_bytes + kRowOverhead; }

bool OutboxRoom::worth_shrinking() noexcept {
    if (shrinking_) return true;
    if (freed_bytes_ < kShrinkAskPages * page_size_) return false;
    freed_bytes_ = 0;
    try {
        const uint64_t pages = value_of(*page_count_);
        const uint64_t free = value_of(*freelist_count_);
        return free >= static_cast<uint64_t>(kShrinkMinPages) && free * 2 >= pages;
    } catch (const std::exception&) {
        return true;  // shrink() asks again, and reports
    }
}

// The live pages behind the holes move into them a quarter of the WAL's budget at a time, so
// that the WAL stays within its room (on a full disk there is no other).
void OutboxRoom::shrink(const std::function<bool()>& interrupted) {
    try {
        const auto pages = static_cast<int64_t>(value_of(*page_count_));
        const auto free = static_cast<int64_t>(value_of(*freelist_count_));
        if (!shrinking_ && (free < kShrinkMinPages || free * 2 < pages)) return;
        shrinking_ = false;
        if (free == 0) return;
        uncap();
        pages_bound_ = kNoCap;  // asked again at the next insert
        // Asked each time: another connection (the sqlite3 shell, a restore) may have changed it.
        if (query_int(db_, "PRAGMA auto_vacuum") == 2) {
            const std::string step = "PRAGMA incremental_vacuum(" +
                                     std::to_string(std::max<uint64_t>(1, wal_budget_ / 4 / page_size_)) + ")";
            for (int64_t left = free, before = free + 1; left > 0 && left < before;
                 before = left, left = static_cast<int64_t>(value_of(*freelist_count_))) {
                if (interrupted()) {
                    shrinking_ = true;
                    return;
                }
                db_.exec(step.c_str());
            }
        } else {
            // A file made before incremental auto-vacuum: VACUUM converts it, cheap while it is small.
            if (pages - free > kConvertMaxPages) return;
            db_.exec("PRAGMA auto_vacuum = INCREMENTAL");
            db_.exec("VACUUM");
        }
        const int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        log::debug("outbox: ", free, " of ", pages, " pages were free; given back",
                   rc == SQLITE_OK ? "" : " (the WAL is truncated later: a reader is busy)");
    } catch (const std::exception& e) {
        // The next commit of deletes tries again; on a full disk that is expected.
        shrinking_ = true;
        if (is_full(e)) log::debug("outbox: giving free space back failed: ", e.what());
        else log::warning("outbox: giving free space back failed: ", e.what());
    }
}

}  // namespace cellgate::bridge::detail
