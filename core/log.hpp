#pragma once
// Logging fit for journald: each line starts with a syslog priority prefix (<3>, <4>, <6>, <7>) that
// journald turns into the entry's priority; on a terminal a word is printed instead.

#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>

namespace loopgate::log {

enum class Level { error = 3, warning = 4, info = 6, debug = 7 };

void set_min_level(Level level);
// Warnings and errors are rate-limited per `kind` (see kind_of); an empty kind: the message's own
// text, digits ignored.
void write(Level level, const std::string& message, const std::string& kind = {});

// Sees every line that is emitted (after the level filter and the rate limit), from whichever thread
// logged it, under the log's own lock: it must be quick and must not log. One observer; empty: none.
using Observer = void (*)(Level level, const std::string& message);
void set_observer(Observer observer);

template <typename... Args>
std::string concat(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

// A name the config chose, such as a port's: logged as its text and, unlike other arguments, part of
// the kind, so each port has a rate limit of its own and one that fails every poll does not hide
// another's first error. Only for names there are few of: never for text from a device or the broker.
struct Subject {
    const std::string& name;
};
inline Subject subject(const std::string& name) { return {name}; }
inline std::ostream& operator<<(std::ostream& out, const Subject& s) { return out << s.name; }

// The kind of a logged event, which the rate limit counts by: the call's string literals and
// subjects, with every other argument a slot ("{}"), like a format string. Names, reasons and payload
// fields vary without end (a sender on the broker chooses them), so they must not make a new kind
// each time.
template <typename... Args>
std::string kind_of(const Args&... args) {
    std::string kind;
    auto add = [&kind](const auto& a) {
        using T = std::remove_cv_t<std::remove_reference_t<decltype(a)>>;
        if constexpr (std::is_array_v<T> && std::is_same_v<std::remove_cv_t<std::remove_extent_t<T>>, char>)
            kind += a;
        else if constexpr (std::is_same_v<T, Subject>)
            kind += a.name;
        else
            kind += "{}";
    };
    (add(args), ...);
    return kind;
}

template <typename... Args> void error(const Args&... a) { write(Level::error, concat(a...), kind_of(a...)); }
template <typename... Args> void warning(const Args&... a) { write(Level::warning, concat(a...), kind_of(a...)); }
template <typename... Args> void info(const Args&... a) { write(Level::info, concat(a...)); }
template <typename... Args> void debug(const Args&... a) { write(Level::debug, concat(a...)); }

}  // namespace loopgate::log
