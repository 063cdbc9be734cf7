#pragma once
// The last lines the gateway logged, for the status page: a technician at the cabinet sees why a port
// is closed without a shell on the box. The log is process-wide, so the ring is too; lines arrive
// from any thread (Paho's, the TLS probe's), hence the lock.

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "core/log.hpp"

namespace loopgate {

struct LogLine {
    std::uint64_t number = 0;  // 1, 2, ... since start: a client asks for what came after the last it saw
    std::int64_t time_ns = 0;
    log::Level level = log::Level::info;
    std::string text;
};

class LogRing {
public:
    static constexpr std::size_t capacity = 200;

    // The ring the log feeds once install() ran.
    static LogRing& process();
    static void install();

    void push(log::Level level, const std::string& text);
    // Lines numbered above `after`, oldest first (all that are still held).
    std::vector<LogLine> since(std::uint64_t after) const;
    std::uint64_t last_number() const;

private:
    mutable std::mutex mutex_;
    std::deque<LogLine> lines_;
    std::uint64_t next_number_ = 1;
};

}  // namespace loopgate
