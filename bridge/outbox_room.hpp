// Private to the outbox writer: keeping its files within their room (outbox_space.hpp) on the
// writer's connection. Before a batch of inserts it measures the files and their filesystem; near
// the room they leave, it caps the database (PRAGMA max_page_count) so that the WAL and its index
// always still fit. Room for an insert is made before it is written, since SQLite answers an
// insert beyond the cap by rolling the whole transaction back: over max_bytes the oldest rows are
// dropped; over what the filesystem has, nothing is (freed rows do not shrink the file) and the
// insert is refused as full. Deletes are never capped. Once most of the file is free, the free
// pages are cut off its end and the WAL truncated: a drained outbox gives the disk back.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bridge/outbox.hpp"
#include "bridge/outbox_space.hpp"
#include "bridge/sqlite.hpp"

namespace cellgate::bridge::detail {

// An SQLite error that says "no room" (SQLITE_FULL: the disk, or the page cap).
bool is_full(const std::exception& e);

struct WriterSpace {
    uint64_t max_bytes = 0;  // 0: only the filesystem limits the files
    // Test seam: what the files and their filesystem hold (measure_disk).
    std::function<DiskUse(const std::string& db_path)> measure = measure_disk;
};

class OutboxRoom {
public:
    // Sets the connection's WAL limits (checkpoint at half the WAL's budget, truncate to it).
    OutboxRoom(sqlite::Db& db, WriterSpace space);

    // The most bytes one batch may insert or delete: a quarter of the WAL's budget.
    uint64_t batch_bytes(uint64_t at_most) const;

    // Before a batch of inserts.
    void measure();
    // Within a transaction: room for `m` below the cap, made if max_bytes binds by deleting the
    // oldest rows through `erase` (their ids appended to `dropped`). false: no room (refusal()).
    bool make_room(const OutboxMessage& m, const std::function<void(uint64_t id)>& erase,
                   std::vector<uint64_t>& dropped);
    const std::string& refusal() const { return refusal_; }
    // SQLite's page cap: on for an insert, off for a delete (which may need a page for a moment,
    // while the tree rebalances; a delete that cannot be written leaves a full outbox stuck).
    void cap_for_insert();
    void uncap();

    // A row of this payload was deleted (the shrink heuristic's count).
    void freed(uint64_t payload_bytes);
    // After a commit that deleted rows: gives the free pages back once most of the file is free.
    // `interrupted` (work waiting) stops it between steps; the next call goes on.
    void shrink(const std::function<bool()>& interrupted);
    // Whether shrink() has work: asked inside the transaction that deleted, under its lock (on
    // its own, each page count would take a read lock of its own), once enough was deleted.
    bool worth_shrinking() noexcept;
    bool shrinking() const { return shrinking_; }

private:
    void set_max_pages(uint64_t pages);
    bool drop_oldest(const std::function<void(uint64_t id)>& erase, std::vector<uint64_t>& dropped);

    static constexpr uint64_t kNoCap = 4294967294;  // SQLite's own most pages

    sqlite::Db& db_;
    const WriterSpace space_;
    const std::string path_;
    const uint64_t page_size_;
    const uint64_t wal_budget_;
    std::unique_ptr<sqlite::Stmt> oldest_;
    // Asked before inserts and after deletes (SQLite compiles a PRAGMA again at each step).
    std::unique_ptr<sqlite::Stmt> page_count_, freelist_count_;
    uint64_t cap_pages_ = kNoCap;
    uint64_t pages_bound_ = kNoCap;  // the file's pages at most: asked, plus what inserts since can add
    bool bound_asked_ = false;       // asked within this batch
    uint64_t freed_bytes_ = 0;       // deleted since worth_shrinking() last asked
    uint64_t max_pages_set_ = 0;
    bool cap_disk_ = false;  // the filesystem binds, not max_bytes
    uint64_t fs_free_ = 0;
    std::string refusal_;
    bool shrinking_ = false;  // interrupted: go on after the next commit
};

}  // namespace cellgate::bridge::detail
