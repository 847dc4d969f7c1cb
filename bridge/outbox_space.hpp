// Private to the outbox: how much room its files may take. A full disk must never be met by SQLite
// itself: a WAL that fills the disk can be neither checkpointed (the database would have to grow)
// nor written (deletes need new frames), so the outbox would stay stuck with the disk full. The
// writer therefore measures before every commit and caps the database (PRAGMA max_page_count) so
// that the WAL, its index and a checkpoint always still fit, and max_bytes holds for what is on
// the disk, WAL included.
#pragma once

#include <cstdint>
#include <string>

namespace cellgate::bridge::detail {

// Bytes, as the filesystem counts them (allocated, not just written).
struct DiskUse {
    uint64_t db = 0;
    uint64_t wal = 0;
    uint64_t shm = 0;
    uint64_t fs_free = 0;  // what an unprivileged writer may still allocate
    uint64_t fs_size = 0;
};

// The outbox's files and their filesystem. A file that is not there counts 0; a filesystem that
// cannot be asked counts as unlimited (the limit then is max_bytes alone).
DiskUse measure_disk(const std::string& db_path);

// The largest the WAL may grow between checkpoints: an eighth of the budget (max_bytes or the
// filesystem, whichever is smaller), 32 KiB to 8 MiB. Checkpoints start at half of it.
uint64_t wal_budget(uint64_t max_bytes, uint64_t fs_size);

struct PageCap {
    uint64_t pages = 0;  // for PRAGMA max_page_count
    bool disk = false;   // the filesystem binds (refuse: "full"), not max_bytes (drop the oldest)
};

// The most pages the database may have so that it, a WAL of `wal_budget` and the WAL's index fit
// both below max_bytes (0: no limit) and on the filesystem.
PageCap page_cap(const DiskUse& use, uint64_t max_bytes, uint64_t wal_budget, uint64_t page_size);

}  // namespace cellgate::bridge::detail
