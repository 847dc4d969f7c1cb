// Thin RAII over sqlite3* and sqlite3_stmt* for the outbox. Failures throw sqlite::Error (with
// SQLite's own message); callers catch at their boundary (the writer's batch, next()).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cellgate::bridge::sqlite {

class Error : public std::runtime_error {
public:
    Error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    int code() const { return code_; }

private:
    int code_;
};

class Db {
public:
    // Throws Error (the handle SQLite hands back even on failure is closed here).
    Db(const std::string& path, int flags);
    sqlite3* get() const { return db_.get(); }
    void exec(const char* sql);
    int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }
    bool in_transaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }
    // Throws Error built from the connection's last error, prefixed with `what`.
    [[noreturn]] void fail(int code, std::string_view what) const;

private:
    struct Close {
        void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
    };
    std::unique_ptr<sqlite3, Close> db_;
};

class Stmt {
public:
    Stmt(const Db& db, const char* sql);
    Stmt& bind(int index, int64_t value);
    Stmt& bind_text(int index, std::string_view text);
    Stmt& bind_blob(int index, std::string_view bytes);
    // true when a row is ready, false when done.
    bool step();
    int64_t int64(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
    std::string text(int col) const;
    std::string blob(int col) const;
    // Ends the statement (and so the read transaction it holds) and clears the bindings.
    void reset() noexcept;

    // Resets `s` on scope exit, whatever happened, so no statement keeps a WAL snapshot open.
    class Use {
    public:
        explicit Use(Stmt& s) : s_(s) { s_.reset(); }
        ~Use() { s_.reset(); }
        Use(const Use&) = delete;
        Use& operator=(const Use&) = delete;
        Stmt* operator->() const { return &s_; }

    private:
        Stmt& s_;
    };

private:
    struct Finalize {
        void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
    };
    const Db& db_;
    std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
};

}  // namespace cellgate::bridge::sqlite
