// The store's SQLite calls (gateway/store/sql.hpp): a transaction is a scope that rolls back unless
// committed, and a failed statement says which it was, with SQLite's error text and code.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <memory>
#include <stdexcept>

#include "gateway/store/sql.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;
using loopgate::testing::TempDir;

namespace {

struct Db {
    sqlite3* db = nullptr;
    explicit Db(const std::string& path) {
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        sqlite3_extended_result_codes(db, 1);
        sql::exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    }
    ~Db() { sqlite3_close_v2(db); }
    int rows() {
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, nullptr);
        int n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
        sqlite3_finalize(s);
        return n;
    }
    bool in_transaction() const { return sqlite3_get_autocommit(db) == 0; }
};

void insert(sqlite3* db, int id) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "INSERT INTO t (id, v) VALUES (?, 'x')", -1, &s, nullptr) == SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> owned(s, sqlite3_finalize);
    sql::Reset reset{s};
    sqlite3_bind_int(s, 1, id);
    sql::step_done(s);
}

}  // namespace

TEST_CASE("store sql: a transaction writes only once committed, and rolls back when its scope ends without",
          "[store][sql]") {
    TempDir dir("store-sql");
    Db d((dir.path / "t.db").string());
    {
        sql::Transaction transaction(d.db);
        insert(d.db, 1);
        CHECK(d.in_transaction());
    }
    CHECK_FALSE(d.in_transaction());
    CHECK(d.rows() == 0);

    {
        sql::Transaction transaction(d.db);
        insert(d.db, 1);
        transaction.commit();
    }
    CHECK(d.rows() == 1);

    // A step that throws inside the scope takes the whole transaction with it.
    try {
        sql::Transaction transaction(d.db);
        insert(d.db, 2);
        insert(d.db, 1);  // the primary key is taken
        transaction.commit();
        FAIL("the second insert should have thrown");
    } catch (const sql::Error&) {
    }
    CHECK_FALSE(d.in_transaction());
    CHECK(d.rows() == 1);
}

TEST_CASE("store sql: a failed step names the statement, SQLite's error and its code", "[store][sql]") {
    TempDir dir("store-sql");
    Db d((dir.path / "t.db").string());
    insert(d.db, 1);
    try {
        insert(d.db, 1);
        FAIL("a duplicate key should have thrown");
    } catch (const sql::Error& e) {
        CHECK(e.code == SQLITE_CONSTRAINT_PRIMARYKEY);
        std::string what = e.what();
        CHECK_THAT(what, Catch::Contains("t.db"));
        CHECK_THAT(what, Catch::Contains("INSERT INTO t (id, v) VALUES (?, 'x')"));
        CHECK_THAT(what, Catch::Contains("UNIQUE constraint failed: t.id"));
        CHECK_THAT(what, Catch::Contains("SQLite code 1555"));
    }
    try {
        sql::exec(d.db, "INSERT INTO nowhere VALUES (1)");
        FAIL("a missing table should have thrown");
    } catch (const sql::Error& e) {
        CHECK((e.code & 0xff) == SQLITE_ERROR);
        CHECK_THAT(e.what(), Catch::Contains("INSERT INTO nowhere VALUES (1): no such table: nowhere"));
    }
}

TEST_CASE("store sql: a transaction cannot begin inside another, and a COMMIT refused leaves nothing open",
          "[store][sql]") {
    TempDir dir("store-sql");
    Db d((dir.path / "t.db").string());
    sql::exec(d.db, "PRAGMA foreign_keys=ON");
    sql::exec(d.db,
              "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED)");
    {
        sql::Transaction outer(d.db);
        CHECK_THROWS_AS(sql::Transaction(d.db), sql::Error);
        CHECK(d.in_transaction());  // the failed BEGIN did not end the outer one
    }
    CHECK_FALSE(d.in_transaction());

    // A deferred foreign key fails at COMMIT, and SQLite leaves the transaction open then.
    {
        sql::Transaction transaction(d.db);
        sql::exec(d.db, "INSERT INTO child (id, parent) VALUES (1, 42)");
        try {
            transaction.commit();
            FAIL("the COMMIT should have been refused");
        } catch (const sql::Error& e) {
            CHECK(e.code == SQLITE_CONSTRAINT_FOREIGNKEY);
            CHECK_THAT(e.what(), Catch::Contains("COMMIT"));
        }
        CHECK(d.in_transaction());
    }
    CHECK_FALSE(d.in_transaction());
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(d.db, "SELECT count(*) FROM child", -1, &s, nullptr);
    REQUIRE(sql::step_row(s));
    CHECK(sqlite3_column_int(s, 0) == 0);
    CHECK_FALSE(sql::step_row(s));
    sqlite3_finalize(s);
}
