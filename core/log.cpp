#include "core/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cctype>
#include <map>
#include <mutex>
#include <string>

namespace loopgate::log {

namespace {

Level min_level = Level::info;
Observer observer = nullptr;
std::mutex mutex;

// journald sets JOURNAL_STREAM for services whose stderr it collects.
bool to_journal() {
    static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    return journal;
}

const char* word(Level level) {
    switch (level) {
        case Level::error: return "error";
        case Level::warning: return "warning";
        case Level::info: return "info";
        case Level::debug: return "debug";
    }
    return "info";
}

void emit(Level level, const std::string& message) {
    if (observer) observer(level, message);
    if (to_journal()) std::fprintf(stderr, "<%d>%s\n", static_cast<int>(level), message.c_str());
    else std::fprintf(stderr, "loopgate %s: %s\n", word(level), message.c_str());
}

// A device that fails every poll, a disk that stays full or a sender flooding the broker with refused
// updates must not flood the journal of a box nobody watches: warnings and errors of the same kind
// are let through `burst` times per `window`, then counted, and the count is reported when the
// window ends. The kinds are the logging calls' shapes (log::kind_of), so there are about as many as
// there are calls; `max_kinds` bounds the table all the same, the rest sharing one entry.
struct RateLimit {
    static constexpr int burst = 5;
    static constexpr auto window = std::chrono::seconds(60);
    static constexpr std::size_t max_kinds = 1024;
    struct Entry {
        std::chrono::steady_clock::time_point start;
        int count = 0;
    };
    std::map<std::string, Entry> entries;

    bool allow(Level level, const std::string& message, const std::string& kind) {
        if (level == Level::info || level == Level::debug) return true;
        std::string key;
        if (!kind.empty()) {
            key = kind;
        } else {
            for (char c : message)
                if (!std::isdigit(static_cast<unsigned char>(c))) key += c;
        }
        if (entries.size() >= max_kinds && !entries.count(key)) key = "(any other kind)";
        auto now = std::chrono::steady_clock::now();
        Entry& e = entries[key];
        if (e.count == 0 || now - e.start >= window) {
            if (e.count > burst)
                emit(level, "(" + std::to_string(e.count - burst) + " more like the next were suppressed in the last minute)");
            e.start = now;
            e.count = 0;
        }
        return ++e.count <= burst;
    }
};

}  // namespace

void set_min_level(Level level) { min_level = level; }

void set_observer(Observer o) {
    std::lock_guard lock(mutex);
    observer = o;
}

void write(Level level, const std::string& message, const std::string& kind) {
    if (static_cast<int>(level) > static_cast<int>(min_level)) return;
    static RateLimit limit;
    std::lock_guard lock(mutex);
    if (limit.allow(level, message, kind)) emit(level, message);
}

}  // namespace loopgate::log
