#pragma once
// The last commands the gateway was sent and what became of them, for the status page. The command
// path pushes an outcome here once it is decided; the page only reads.

#include <cstdint>
#include <deque>
#include <string>

namespace loopgate {

struct CommandLogEntry {
    std::int64_t time_ns = 0;
    std::string id;
    std::string status;  // OK, REFUSED or FAILED (CommandResult.Status)
    std::string detail;  // why, when refused
};

class CommandLog {
public:
    static constexpr std::size_t capacity = 20;

    void record(CommandLogEntry outcome);
    // Oldest first.
    const std::deque<CommandLogEntry>& recent() const { return recent_; }

private:
    std::deque<CommandLogEntry> recent_;
};

}  // namespace loopgate
