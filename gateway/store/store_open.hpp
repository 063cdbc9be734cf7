#pragma once
// What the store does once, when it opens (gateway/store/store.hpp, Store::Store): look at the
// write-ahead log before SQLite replays it, move a damaged store aside, upgrade an older layout.
// The Store's own opening steps (open_or_recover, open_database, adopt_id_marks) are defined in
// store_open.cpp beside these, apart from the hot path in store.cpp.

#include <optional>
#include <string>

struct sqlite3;

namespace loopgate {

// Why the write-ahead log of the store at `path` is damaged in the middle (gateway/store/wal_check.hpp),
// or nothing when it is not (or there is none).
std::optional<std::string> wal_damage(const std::string& path);

// At open, an error with this SQLite code means the file is not a store SQLite can read.
bool is_corruption(int code);

// Moves the store at `path` (with its -wal and -shm) aside to <path>.corrupt-<time>, or, when
// `keep_using`, copies only its log and index there; logs it with `why`, keeps the three newest
// such sets and returns where it went.
std::string move_aside(const std::string& path, const std::string& why, bool keep_using);

// Brings an open database to the current layout (gateway/store/store_layout.hpp) in one
// transaction; throws sql::Error (SQLITE_CANTOPEN for a layout newer than this build knows).
void upgrade_layout(sqlite3* db, const std::string& path);

}  // namespace loopgate
