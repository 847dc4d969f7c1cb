// The outbox's room: the WAL's budget and the cap on the database's pages, from what the files and
// their filesystem hold. The cap must always leave the WAL and its index room on the disk, and keep
// the three files below max_bytes.
#include "bridge/outbox_space.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <string>

#include "bridge/outbox.hpp"
#include "unit/support/temp_dir.hpp"

namespace cellgate::bridge::detail {
namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

TEST(OutboxSpace, TheWalBudgetIsAnEighthOfTheSmallerOfMaxBytesAndTheDiskWithinBounds) {
    EXPECT_EQ(wal_budget(64 * MiB, kUnlimited), 8 * MiB);
    EXPECT_EQ(wal_budget(1024 * MiB, kUnlimited), 8 * MiB);
    EXPECT_EQ(wal_budget(16 * MiB, kUnlimited), 2 * MiB);
    EXPECT_EQ(wal_budget(64 * MiB, 2 * MiB), 256 * KiB);
    EXPECT_EQ(wal_budget(1 * MiB, 2 * MiB), 128 * KiB);
    EXPECT_EQ(wal_budget(0, 2 * MiB), 256 * KiB);
    EXPECT_EQ(wal_budget(1 * KiB, kUnlimited), 32 * KiB);  // max_bytes below the least an outbox needs
}

TEST(OutboxSpace, OnAFullishDiskTheDiskBindsAndTheWalKeepsItsRoom) {
    DiskUse u;
    u.db = 1 * MiB;
    u.wal = 64 * KiB;
    u.shm = 32 * KiB;
    u.fs_free = 512 * KiB;
    const uint64_t wal = 256 * KiB;
    const auto cap = page_cap(u, 64 * MiB, wal, kPage);
    EXPECT_TRUE(cap.disk);
    // Everything the database may grow into, with the WAL grown to its budget, still fits.
    const uint64_t db_growth = cap.pages * kPage - u.db;
    EXPECT_LE(db_growth + (wal - u.wal), u.fs_free);
    EXPECT_GE(db_growth + (wal - u.wal), u.fs_free - 8 * kPage) << "more held back than the WAL needs";
}

TEST(OutboxSpace, ADiskWithNothingLeftCapsBelowTheCurrentFile) {
    DiskUse u;
    u.db = 1 * MiB;
    u.fs_free = 0;
    const auto cap = page_cap(u, 64 * MiB, 256 * KiB, kPage);
    EXPECT_TRUE(cap.disk);
    EXPECT_LT(cap.pages * kPage, u.db);
    EXPECT_GE(cap.pages, 1u);
}

TEST(OutboxSpace, MaxBytesBindsOnAnAmpleDiskAndCountsTheWalAndItsIndex) {
    DiskUse u;
    u.fs_free = u.fs_size = 1024 * MiB;
    const uint64_t wal = wal_budget(1 * MiB, u.fs_size);
    const auto cap = page_cap(u, 1 * MiB, wal, kPage);
    EXPECT_FALSE(cap.disk);
    EXPECT_LE(cap.pages * kPage + wal + 32 * KiB, 1 * MiB);
    EXPECT_GT(cap.pages * kPage + wal + 32 * KiB, 1 * MiB - 8 * kPage) << "more held back than a margin";
}

TEST(OutboxSpace, ATinyMaxBytesStillLeavesTheLeastAnOutboxNeeds) {
    DiskUse u;
    u.fs_free = u.fs_size = kUnlimited;
    const uint64_t wal = wal_budget(1 * KiB, u.fs_size);
    const auto cap = page_cap(u, 1 * KiB, wal, kPage);
    EXPECT_EQ(cap.pages * kPage, kMinOutboxBytes - wal - 32 * KiB - 4 * kPage);
    const auto none = page_cap(u, 0, wal, kPage);  // no limit at all: neither binds
    EXPECT_FALSE(none.disk);
    EXPECT_EQ(none.pages, 4294967294u) << "SQLite's own most pages";
}

TEST(OutboxSpace, MeasuresTheThreeFilesAndTheirFilesystem) {
    cellgate::testing::TempDir dir{"cellgate-space"};
    const std::string db = dir / "outbox.db";
    std::ofstream(db) << std::string(10000, 'x');
    std::ofstream(db + "-wal") << std::string(5000, 'y');
    const auto u = measure_disk(db);
    EXPECT_GE(u.db, 10000u);
    EXPECT_GE(u.wal, 5000u);
    EXPECT_EQ(u.shm, 0u);
    EXPECT_GT(u.fs_size, 0u);
    EXPECT_LE(u.fs_free, u.fs_size);
}

}  // namespace
}  // namespace cellgate::bridge::detail
