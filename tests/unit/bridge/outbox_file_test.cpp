// The outbox's SQLite file on its own: a new file is made ours (header, schema, WAL), an old one is
// listed without its payloads, and the two connections are what the outbox relies on. Refusals of
// files that are not ours are tested through open_outbox() in outbox_test.cpp.
#include "bridge/outbox_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "unit/support/temp_dir.hpp"

namespace cellgate::bridge::detail {
namespace {

class OutboxFileTest : public ::testing::Test {
protected:
    static int64_t int_of(const sqlite::Db& db, const char* sql) {
        sqlite::Stmt s(db, sql);
        return s.step() ? s.int64(0) : -1;
    }

    cellgate::testing::TempDir dir_{"cellgate-outbox-file"};
    const std::string path_ = dir_ / "outbox.db";
};

TEST_F(OutboxFileTest, ANewFileIsMadeOursInDurableWalMode) {
    const auto f = open_outbox_file(path_);
    ASSERT_TRUE(f.writer);
    ASSERT_TRUE(f.reader);
    EXPECT_TRUE(f.rows.empty());
    EXPECT_TRUE(std::filesystem::exists(path_));
    EXPECT_EQ(int_of(*f.writer, "PRAGMA application_id"), kOutboxApplicationId);
    EXPECT_EQ(int_of(*f.writer, "PRAGMA user_version"), kOutboxSchemaVersion);
    EXPECT_EQ(int_of(*f.writer, "SELECT count(*) FROM sqlite_schema WHERE name = 'messages'"), 1);
    sqlite::Stmt mode(*f.writer, "PRAGMA journal_mode");
    ASSERT_TRUE(mode.step());
    EXPECT_EQ(mode.text(0), "wal");
    EXPECT_EQ(int_of(*f.writer, "PRAGMA synchronous"), 2);  // FULL: every commit is fsynced
}

TEST_F(OutboxFileTest, TheReaderCannotWrite) {
    const auto f = open_outbox_file(path_);
    EXPECT_THROW(f.reader->exec("DELETE FROM messages"), sqlite::Error);
}

TEST_F(OutboxFileTest, AnOldFileIsListedInIdOrderWithPayloadSizesNotPayloads) {
    {
        const auto f = open_outbox_file(path_);
        f.writer->exec("INSERT INTO messages(session, topic, format, qos, created_ms, payload) VALUES "
                       "('lab', 't', 'raw', 1, 1700000000000, zeroblob(300000)),"
                       "('ali', 't', 'property', 1, 1700000000001, CAST('{}' AS BLOB)),"
                       "('lab', 't', 'raw', 0, 0, CAST('' AS BLOB))");
        f.writer->exec("DELETE FROM messages WHERE session = 'ali'");
    }
    const auto f = open_outbox_file(path_);
    ASSERT_EQ(f.rows.size(), 2u);
    EXPECT_EQ(f.rows[0].id, 1u);
    EXPECT_EQ(f.rows[0].session, "lab");
    EXPECT_EQ(f.rows[0].bytes, 300000u);
    EXPECT_EQ(f.rows[0].created_ms, 1'700'000'000'000);
    EXPECT_EQ(f.rows[1].id, 3u);
    EXPECT_EQ(f.rows[1].bytes, 0u);
    EXPECT_EQ(f.rows[1].created_ms, 0);
}

TEST_F(OutboxFileTest, ADirectoryThatIsNotThereIsAnError) {
    EXPECT_THROW(open_outbox_file(dir_ / "missing/outbox.db"), sqlite::Error);
}

}  // namespace
}  // namespace cellgate::bridge::detail
