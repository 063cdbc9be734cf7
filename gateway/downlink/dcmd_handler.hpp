#pragma once
// Sparkplug DCMD writes, once the Sparkplug stage has decoded them: the commands policy
// (commands.enabled, require_signature), then the same gate, rate and port write as native commands
// (gateway/downlink/command_path.hpp). Every write is verified: the read-back is a normal reading,
// so a completed write is confirmed to the host by a DDATA carrying the metric's new value. DCMD
// has no reply topic: a refused or failed write is in the audit log and the counters.

#include <string>
#include <utility>
#include <vector>

#include "core/reading.hpp"
#include "gateway/config.hpp"
#include "gateway/downlink/command_path.hpp"

namespace loopgate {

class DcmdHandler {
public:
    DcmdHandler(const Config& config, CommandPath& path);
    void handle(const std::string& device, const std::vector<std::pair<std::string, Value>>& writes);

private:
    const Config& config_;
    CommandPath& path_;
};

}  // namespace loopgate
