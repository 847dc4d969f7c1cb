#include "bridge/outbox_space.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <limits>

#include "bridge/outbox.hpp"

namespace cellgate::bridge::detail {

namespace {

constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();
// SQLite's WAL index: one 32 KiB block per 4096 frames, and the WAL budget stays below that.
constexpr uint64_t kShmBytes = 32 * 1024;
// Kept free beyond the WAL's budget: the pages a delete or a checkpoint may touch outside it.
constexpr uint64_t kMarginPages = 4;
// SQLite's own most pages: PRAGMA max_page_count takes no more.
constexpr uint64_t kMaxPages = 4294967294;

uint64_t minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

uint64_t on_disk(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return std::max(static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_blocks) * 512);
}

}  // namespace

DiskUse measure_disk(const std::string& db_path) {
    DiskUse u;
    u.db = on_disk(db_path);
    u.wal = on_disk(db_path + "-wal");
    u.shm = on_disk(db_path + "-shm");
    struct statvfs fs{};
    if (::statvfs(db_path.c_str(), &fs) == 0) {
        u.fs_free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
        u.fs_size = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
    } else {
        u.fs_free = u.fs_size = kUnlimited;
    }
    return u;
}

uint64_t wal_budget(uint64_t max_bytes, uint64_t fs_size) {
    uint64_t base = fs_size;
    if (max_bytes > 0) base = std::min(base, std::max(max_bytes, kMinOutboxBytes));
    // At most 8 MiB: checkpoints then start near SQLite's own default (1000 pages). Each one
    // holds up the commit that runs it, so a smaller WAL shows in the latency's tail.
    return std::clamp<uint64_t>(base / 8 / 4096 * 4096, 32 * 1024, 8 * 1024 * 1024);
}

PageCap page_cap(const DiskUse& use, uint64_t max_bytes, uint64_t wal, uint64_t page_size) {
    // The margin on this side too: a filesystem allocates a little beyond a file's size.
    const uint64_t limit = max_bytes > 0 ? minus(std::max(max_bytes, kMinOutboxBytes),
                                                 wal + kShmBytes + kMarginPages * page_size)
                                         : kUnlimited;
    // The database may take what it has plus what is free, less what the WAL and its index may
    // still grow into: those must always fit, or nothing (not even a delete) can be written.
    const uint64_t held_back = minus(wal, use.wal) + minus(kShmBytes, use.shm) + kMarginPages * page_size;
    const uint64_t disk = use.fs_free == kUnlimited ? kUnlimited : minus(use.db + use.fs_free, held_back);
    PageCap cap;
    cap.disk = disk < limit;
    cap.pages = std::clamp<uint64_t>(std::min(limit, disk) / std::max<uint64_t>(page_size, 1), 1, kMaxPages);
    return cap;
}

}  // namespace cellgate::bridge::detail
