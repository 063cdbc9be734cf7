#pragma once
// When the bridge closes the open batch, besides its being full (Batcher::add). Pure: the caller
// supplies the uplink's state and the time.

#include <chrono>
#include <optional>

namespace loopgate {

struct BatchClosing {
    using Time = std::chrono::steady_clock::time_point;

    // max_delay passed. It bounds how long a reading waits to go out; while the uplink is down
    // nothing goes out, so the batch keeps gathering (up to max_readings or max_bytes) and closes
    // when the uplink is back. An outage then writes one row per commit instead of one per 100 ms
    // batch, and a larger row deflates better: 2.9 -> 2.2 bytes written per payload byte at 100
    // readings/s.
    static bool at_deadline(bool uplink_connected) { return uplink_connected; }
    // The uplink came up: a batch held open through the outage past its max_delay is due now, and
    // goes with the backlog.
    static bool at_uplink_up(std::optional<Time> deadline, Time now) { return deadline && *deadline <= now; }
    // Buffered, a batch goes out at once while the uplink has room for it (after a read, and when an
    // acknowledgement frees a slot); it gathers readings only while earlier ones are unacknowledged
    // (or for max_delay): low latency at low rates, large batches at high ones.
    static bool early(bool buffered, bool uplink_has_room) { return buffered && uplink_has_room; }
};

}  // namespace loopgate
