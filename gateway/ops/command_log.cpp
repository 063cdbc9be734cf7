#include "gateway/ops/command_log.hpp"

namespace loopgate {

void CommandLog::record(CommandLogEntry outcome) {
    if (recent_.size() == capacity) recent_.pop_front();
    recent_.push_back(std::move(outcome));
}

}  // namespace loopgate
