// Private to the outbox: the SQLite file itself. Opening it locks it, makes sure it is ours (or
// makes it ours when empty), switches it to a WAL that is fsynced at every commit, makes the new
// file's directory entry durable, and lists what a previous run left. Nothing here touches the loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "bridge/sqlite.hpp"

namespace cellgate::bridge::detail {

// A committed row as found at open: everything but the payload, which stays on the disk.
struct RecoveredRow {
    uint64_t id = 0;
    std::string session;
    uint64_t bytes = 0;
    int64_t created_ms = 0;
};

struct OutboxFile {
    // flock()ed for the outbox's life; first, so it is closed after both connections: closing any
    // descriptor of the file drops the POSIX locks SQLite holds on it through the others.
    UniqueFd lock;
    std::unique_ptr<sqlite::Db> writer;  // read-write, WAL, synchronous FULL: the writer thread's
    std::unique_ptr<sqlite::Db> reader;  // read-only: the loop's, for rows read back by id
    std::vector<RecoveredRow> rows;      // in id order
};

// The first column of the first row of `sql` (a PRAGMA's value), 0 when there is none.
int64_t query_int(const sqlite::Db& db, const char* sql);

// Opens (creating the file and schema if needed). Throws sqlite::Error when the file cannot be
// opened, is locked by another process (SQLITE_BUSY), is not a cellgate outbox, or is one of
// another schema version.
OutboxFile open_outbox_file(const std::string& path);

// What the file's header says it is: cellgate's application id and the schema version it holds.
constexpr int64_t kOutboxApplicationId = 0x43474f42;  // "CGOB"
constexpr int64_t kOutboxSchemaVersion = 1;

}  // namespace cellgate::bridge::detail
