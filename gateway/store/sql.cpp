#include "gateway/store/sql.hpp"

#include <sqlite3.h>

#include <cctype>
#include <string_view>

namespace loopgate::sql {

namespace {

// The statement as a reader recognizes it: its text on one line, cut after 60 characters.
std::string statement_name(const char* sql) {
    std::string name;
    for (const char* c = sql ? sql : ""; *c && name.size() < 60; ++c) {
        bool space = std::isspace(static_cast<unsigned char>(*c)) != 0;
        if (space && (name.empty() || name.back() == ' ')) continue;
        name += space ? ' ' : *c;
    }
    while (!name.empty() && (name.back() == ' ' || name.back() == ';')) name.pop_back();
    if (sql && std::string_view(sql).size() > name.size() + 1) name += "...";
    return name;
}

[[noreturn]] void fail(sqlite3* db, const char* sql, int code, const char* message) {
    const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
    std::string what = "store ";
    what += file && *file ? file : "(no file)";
    what += ": ";
    what += statement_name(sql);
    what += ": ";
    what += message ? message : sqlite3_errstr(code);
    what += " (SQLite code " + std::to_string(code) + ")";
    throw Error(what, code);
}

}  // namespace

void exec(sqlite3* db, const char* sql) {
    char* message = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return;
    std::string text = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    fail(db, sql, rc, text.c_str());
}

void step_done(sqlite3_stmt* statement) {
    int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE) return;
    sqlite3* db = sqlite3_db_handle(statement);
    fail(db, sqlite3_sql(statement), rc, rc == SQLITE_ROW ? "returned a row where none was expected" : sqlite3_errmsg(db));
}

bool step_row(sqlite3_stmt* statement) {
    int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3* db = sqlite3_db_handle(statement);
    fail(db, sqlite3_sql(statement), rc, sqlite3_errmsg(db));
}

Reset::~Reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
}

Transaction::Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
    // A COMMIT that failed may have ended the transaction already (SQLite rolls back by itself after
    // some I/O errors): roll back only what is still open.
    if (!committed_ && !sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
    exec(db_, "COMMIT");
    committed_ = true;
}

}  // namespace loopgate::sql
