#include "gateway/ops/config_reload.hpp"

#include <exception>
#include <utility>

#include "core/log.hpp"

namespace loopgate {

void reload_ports(const Config& running, PortSet& ports) {
    Config next;
    try {
        next = load_config(running.file);
    } catch (const std::exception& e) {
        log::error("reload: ", e.what(), "; keeping the running configuration");
        return;
    }
    if (next.fingerprint != running.fingerprint)
        log::warning("reload: changes to the gateway, uplink or store sections take effect at the next restart");
    PortChanges c = ports.replace_with(std::move(next.ports));
    log::info("reload: ", c.kept, " ports unchanged, ", c.restarted, " restarted, ", c.added, " added, ", c.removed,
              " removed");
}

}  // namespace loopgate
