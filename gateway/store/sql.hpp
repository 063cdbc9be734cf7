#pragma once
// SQLite's calls as the store makes them: a failure is an exception that says which statement failed,
// with SQLite's error text and result code, and a write transaction is a scope.
//
// Every write of the store goes through these, so that no path forgets a ROLLBACK (a transaction left
// open holds the write lock and a read snapshot, and keeps checkpoints from truncating the log) or
// reports a failed step without saying what it was.

#include <stdexcept>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace loopgate::sql {

// A failed SQLite call. `code` is SQLite's (extended) result code, so callers can tell a damaged
// file (SQLITE_CORRUPT, SQLITE_NOTADB, ...) from a full or failing disk (SQLITE_FULL, SQLITE_IOERR).
class Error : public std::runtime_error {
public:
    Error(const std::string& what, int code) : std::runtime_error(what), code(code) {}
    int code;
};

// Runs statements that return nothing (PRAGMAs, DDL); throws Error naming them.
void exec(sqlite3* db, const char* sql);
// Steps a statement that writes (or returns nothing): throws Error naming it unless SQLite says done.
void step_done(sqlite3_stmt* statement);
// Steps a statement that reads: true with a row, false once done; throws Error naming it otherwise.
bool step_row(sqlite3_stmt* statement);

// Resets a prepared statement and clears its bindings when the scope ends: a statement left mid-row
// holds a read snapshot, and a held snapshot keeps every checkpoint from getting past it.
class Reset {
public:
    explicit Reset(sqlite3_stmt* statement) : statement_(statement) {}
    ~Reset();
    Reset(const Reset&) = delete;
    Reset& operator=(const Reset&) = delete;

private:
    sqlite3_stmt* statement_;
};

// One write transaction: BEGIN IMMEDIATE when constructed (the write lock taken at once, so a busy
// database fails here rather than half-way), ROLLBACK when destroyed unless commit() succeeded.
// A COMMIT the disk refuses throws, and the destructor then rolls back what is left of it.
class Transaction {
public:
    explicit Transaction(sqlite3* db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

private:
    sqlite3* db_;
    bool committed_ = false;
};

}  // namespace loopgate::sql
