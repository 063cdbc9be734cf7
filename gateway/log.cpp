#include "gateway/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace loopgate::log {

namespace {

Level min_level = Level::info;

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

}  // namespace

void set_min_level(Level level) { min_level = level; }

void write(Level level, const std::string& message) {
    if (static_cast<int>(level) > static_cast<int>(min_level)) return;
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    if (to_journal()) std::fprintf(stderr, "<%d>%s\n", static_cast<int>(level), message.c_str());
    else std::fprintf(stderr, "loopgate %s: %s\n", word(level), message.c_str());
}

}  // namespace loopgate::log
