// The thin RAII over SQLite the outbox uses: failures become sqlite::Error with SQLite's own words
// and code, values round-trip byte for byte, and Stmt::Use leaves no statement running.
#include "bridge/sqlite.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace cellgate::bridge::sqlite {
namespace {

constexpr int kMemory = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY | SQLITE_OPEN_EXRESCODE;

class SqliteTest : public ::testing::Test {
protected:
    SqliteTest() : db_(":memory:", kMemory) {
        db_.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data BLOB)");
    }

    Db db_;
};

TEST(SqliteDb, AFileThatCannotBeOpenedThrowsWithSqlitesCode) {
    const std::string path = "/nonexistent-dir-cellgate/x.db";
    ASSERT_FALSE(std::filesystem::exists("/nonexistent-dir-cellgate"));
    try {
        Db db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        FAIL() << "opened " << path;
    } catch (const Error& e) {
        EXPECT_EQ(e.code() & 0xff, SQLITE_CANTOPEN);
        EXPECT_NE(std::string(e.what()).find("open"), std::string::npos) << e.what();
    }
}

TEST_F(SqliteTest, ExecFailuresCarrySqlitesMessage) {
    try {
        db_.exec("SELECT * FROM missing");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), SQLITE_ERROR);
        EXPECT_NE(std::string(e.what()).find("no such table: missing"), std::string::npos) << e.what();
    }
}

TEST_F(SqliteTest, PrepareAndStepFailuresSayWhichCallFailed) {
    try {
        Stmt s(db_, "SELEKT 1");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("prepare: ", 0), 0u) << e.what();
    }
    Stmt insert(db_, "INSERT INTO t(name) VALUES(?1)");
    try {
        insert.step();  // ?1 unbound: NULL into a NOT NULL column
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_NOTNULL);  // extended codes are on
        EXPECT_EQ(std::string(e.what()).rfind("step: ", 0), 0u) << e.what();
    }
}

TEST_F(SqliteTest, TextAndBlobsRoundTripByteForByte) {
    const std::string name("na\0me", 5);
    const std::string data("\x00\x01\xff payload", 11);
    Stmt insert(db_, "INSERT INTO t(name, data) VALUES(?1, ?2)");
    insert.bind_text(1, name).bind_blob(2, data);
    EXPECT_FALSE(insert.step());
    const int64_t id = db_.last_insert_rowid();
    EXPECT_GT(id, 0);

    Stmt select(db_, "SELECT name, data, id FROM t WHERE id = ?1");
    select.bind(1, id);
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.text(0), name);
    EXPECT_EQ(select.blob(1), data);
    EXPECT_EQ(select.int64(2), id);
    EXPECT_FALSE(select.step());
}

// sqlite3_bind_blob with a null pointer binds NULL; an empty payload must stay an empty blob.
TEST_F(SqliteTest, AnEmptyBlobIsABlobNotNull) {
    Stmt insert(db_, "INSERT INTO t(name, data) VALUES('e', ?1)");
    insert.bind_blob(1, std::string_view());
    insert.step();
    Stmt type(db_, "SELECT typeof(data), length(data) FROM t WHERE name = 'e'");
    ASSERT_TRUE(type.step());
    EXPECT_EQ(type.text(0), "blob");
    EXPECT_EQ(type.int64(1), 0);
}

TEST_F(SqliteTest, UseStartsAfreshAndClearsTheBindings) {
    db_.exec("INSERT INTO t(name) VALUES('a'); INSERT INTO t(name) VALUES('b')");
    Stmt select(db_, "SELECT name FROM t WHERE ?1 IS NULL OR name = ?1 ORDER BY id");
    {
        Stmt::Use q(select);
        q->bind_text(1, "b");
        ASSERT_TRUE(q->step());
        EXPECT_EQ(q->text(0), "b");
    }
    {
        Stmt::Use q(select);  // the binding is gone: every row again, from the first
        ASSERT_TRUE(q->step());
        EXPECT_EQ(q->text(0), "a");
    }
}

TEST_F(SqliteTest, InTransactionFollowsBeginAndCommit) {
    EXPECT_FALSE(db_.in_transaction());
    db_.exec("BEGIN IMMEDIATE");
    EXPECT_TRUE(db_.in_transaction());
    db_.exec("COMMIT");
    EXPECT_FALSE(db_.in_transaction());
}

}  // namespace
}  // namespace cellgate::bridge::sqlite
