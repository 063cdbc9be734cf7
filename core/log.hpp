#pragma once
// Logging fit for journald: each line starts with a syslog priority prefix (<3>, <4>, <6>, <7>) that
// journald turns into the entry's priority; on a terminal a word is printed instead.

#include <sstream>
#include <string>

namespace loopgate::log {

enum class Level { error = 3, warning = 4, info = 6, debug = 7 };

void set_min_level(Level level);
void write(Level level, const std::string& message);

// Sees every line that is emitted (after the level filter and the rate limit), from whichever thread
// logged it, under the log's own lock: it must be quick and must not log. One observer; empty: none.
using Observer = void (*)(Level level, const std::string& message);
void set_observer(Observer observer);

template <typename... Args>
std::string concat(Args&&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

template <typename... Args> void error(Args&&... a) { write(Level::error, concat(std::forward<Args>(a)...)); }
template <typename... Args> void warning(Args&&... a) { write(Level::warning, concat(std::forward<Args>(a)...)); }
template <typename... Args> void info(Args&&... a) { write(Level::info, concat(std::forward<Args>(a)...)); }
template <typename... Args> void debug(Args&&... a) { write(Level::debug, concat(std::forward<Args>(a)...)); }

}  // namespace loopgate::log
