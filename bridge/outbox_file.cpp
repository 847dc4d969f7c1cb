#include "bridge/outbox_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/unique_fd.hpp"

namespace cellgate::bridge::detail {

namespace {

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

// Refuses anything that is not a cellgate outbox of a version we read; creates the schema in an
// empty file.
void check_or_create_schema(sqlite::Db& db) {
    int64_t app = 0;
    try {
        app = query_int(db, "PRAGMA application_id");  // the first read of the file's header
    } catch (const sqlite::Error& e) {
        throw sqlite::Error(e.code(), std::string("cannot read it as an SQLite database: ") + sqlite3_errstr(e.code()));
    }
    const int64_t version = query_int(db, "PRAGMA user_version");
    if (app == 0 && version == 0) {
        if (query_int(db, "SELECT count(*) FROM sqlite_schema") != 0)
            throw sqlite::Error(SQLITE_MISMATCH, "not a cellgate outbox (an SQLite database with other tables)");
        // Only before the first table: lets a drained outbox cut its free pages off the file.
        db.exec("PRAGMA auto_vacuum = INCREMENTAL");
        db.exec("BEGIN IMMEDIATE");
        db.exec(kSchema);
        db.exec(("PRAGMA application_id = " + std::to_string(kOutboxApplicationId)).c_str());
        db.exec(("PRAGMA user_version = " + std::to_string(kOutboxSchemaVersion)).c_str());
        db.exec("COMMIT");
        return;
    }
    if (app != kOutboxApplicationId)
        throw sqlite::Error(SQLITE_MISMATCH,
                            "not a cellgate outbox (SQLite application_id " + std::to_string(app) + ")");
    if (version != kOutboxSchemaVersion)
        throw sqlite::Error(SQLITE_MISMATCH, "outbox schema version " + std::to_string(version) +
                                                 ", this cellgated reads version " +
                                                 std::to_string(kOutboxSchemaVersion));
}

void set_durable_wal(sqlite::Db& db) {
    // The writer thread may wait for a second process (a backup, the sqlite3 shell); the loop never does.
    sqlite3_busy_timeout(db.get(), 5000);
    sqlite::Stmt wal(db, "PRAGMA journal_mode = WAL");
    if (!wal.step() || wal.text(0) != "wal")
        throw sqlite::Error(SQLITE_CANTOPEN, "cannot switch the outbox to WAL mode");
    // FULL: the WAL is fsynced at every commit, which is what "accepted" promises.
    db.exec("PRAGMA synchronous = FULL");
}

// Two processes on one outbox (a second cellgated on another bus) would both deliver every row.
// flock() rather than SQLite's exclusive locking mode, which would lock out the loop's reader
// connection too; the lock goes with the process, however it ends.
UniqueFd lock_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) throw sqlite::Error(SQLITE_CANTOPEN, std::string("cannot open it: ") + std::strerror(errno));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
    if (errno == EWOULDBLOCK)
        throw sqlite::Error(SQLITE_BUSY, "locked by another process (is another cellgated using this outbox?)");
    throw sqlite::Error(SQLITE_CANTOPEN, std::string("cannot lock it: ") + std::strerror(errno));
}

// The new file's directory entry must survive a power cut too.
void sync_parent_dir(const std::string& path) {
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) (void)::fsync(fd.get());
}

std::vector<RecoveredRow> load_rows(const sqlite::Db& db) {
    std::vector<RecoveredRow> rows;
    // length() of a blob reads the record header only, not the payload's overflow pages.
    sqlite::Stmt s(db, "SELECT id, session, length(payload), created_ms FROM messages ORDER BY id");
    while (s.step())
        rows.push_back({static_cast<uint64_t>(s.int64(0)), s.text(1), static_cast<uint64_t>(s.int64(2)), s.int64(3)});
    return rows;
}

}  // namespace

int64_t query_int(const sqlite::Db& db, const char* sql) {
    sqlite::Stmt s(db, sql);
    return s.step() ? s.int64(0) : 0;
}

OutboxFile open_outbox_file(const std::string& path) {
    constexpr int kFlags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    OutboxFile f;
    f.lock = lock_file(path);
    f.writer = std::make_unique<sqlite::Db>(path, kFlags | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    check_or_create_schema(*f.writer);
    set_durable_wal(*f.writer);
    f.rows = load_rows(*f.writer);
    sync_parent_dir(path);
    f.reader = std::make_unique<sqlite::Db>(path, kFlags | SQLITE_OPEN_READONLY);
    // A WAL reader only waits while another connection recovers the WAL: never for long.
    sqlite3_busy_timeout(f.reader->get(), 50);
    return f;
}

}  // namespace cellgate::bridge::detail
