#include "bridge/sqlite.hpp"

#include <climits>

namespace cellgate::bridge::sqlite {

namespace {

int checked_size(std::string_view s) {
    if (s.size() > static_cast<std::size_t>(INT_MAX)) throw Error(SQLITE_TOOBIG, "value too large for SQLite");
    return static_cast<int>(s.size());
}

}  // namespace

Db::Db(const std::string& path, int flags) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
        if (raw) fail(rc, "open");
        throw Error(rc, std::string("open: ") + sqlite3_errstr(rc));
    }
    sqlite3_extended_result_codes(raw, 1);
}

void Db::exec(const char* sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg);
    if (rc == SQLITE_OK) return;
    std::string what = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    throw Error(rc, what);
}

void Db::fail(int code, std::string_view what) const {
    std::string text(what);
    text += ": ";
    text += db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(code);
    throw Error(code, text);
}

Stmt::Stmt(const Db& db, const char* sql) : db_(db) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    stmt_.reset(raw);
    if (rc != SQLITE_OK) db.fail(rc, "prepare");
}

Stmt& Stmt::bind(int index, int64_t value) {
    const int rc = sqlite3_bind_int64(stmt_.get(), index, value);
    if (rc != SQLITE_OK) db_.fail(rc, "bind");
    return *this;
}

Stmt& Stmt::bind_text(int index, std::string_view text) {
    const int rc = sqlite3_bind_text(stmt_.get(), index, text.data(), checked_size(text), SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) db_.fail(rc, "bind");
    return *this;
}

Stmt& Stmt::bind_blob(int index, std::string_view bytes) {
    // A zero-length blob must still be a blob, not NULL: sqlite3_bind_blob(nullptr) binds NULL.
    const int rc = sqlite3_bind_blob(stmt_.get(), index, bytes.empty() ? "" : bytes.data(), checked_size(bytes),
                                     SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) db_.fail(rc, "bind");
    return *this;
}

bool Stmt::step() {
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail(rc, "step");
}

std::string Stmt::text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
    const int n = sqlite3_column_bytes(stmt_.get(), col);
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::string Stmt::blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), col));
    const int n = sqlite3_column_bytes(stmt_.get(), col);
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

void Stmt::reset() noexcept {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
}

}  // namespace cellgate::bridge::sqlite
