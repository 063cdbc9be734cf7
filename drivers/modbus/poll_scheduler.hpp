#pragma once
// What to poll next: merges neighbouring points into as few requests as the protocol limits allow,
// and paces each device at its own interval.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "drivers/modbus/point_map.hpp"

namespace loopgate::modbus {

using Clock = std::chrono::steady_clock;

// One read request: a run of registers (or bits) of one table of one device, and the points it feeds.
struct PollBlock {
    std::size_t device = 0;
    Table table = Table::holding;
    std::uint16_t address = 0;
    std::uint16_t count = 0;
    std::vector<std::size_t> points;  // indexes into Device::points
};

// Merges the device's points into blocks. Points join a block when the unread hole between them is at
// most `max_gap` registers (`max_bit_gap` bits in the bit tables) and the block stays within the
// device's max_registers / max_bits. Reading a few unused registers costs two bytes each; another
// request costs the 8-byte request, 5 bytes of reply overhead and two 3.5-character silences.
std::vector<PollBlock> plan_blocks(const Device& dev, std::size_t device_index, std::uint16_t max_gap,
                                   std::uint16_t max_bit_gap);

class PollScheduler {
public:
    void add_device(std::size_t device, std::chrono::milliseconds interval, std::vector<PollBlock> blocks);

    // Makes every device due at `now` (the line just opened).
    void start(Clock::time_point now);

    // Queues the blocks of every device whose time has come, then hands out the next queued block.
    const PollBlock* next(Clock::time_point now);

    // Earliest time a device becomes due; none when nothing is ever polled.
    std::optional<Clock::time_point> next_due() const;

    // Drops the device's remaining blocks of this cycle (it stopped answering; don't spend the bus on it).
    void skip_rest_of_cycle(std::size_t device);
    // Polls the device at the next chance (read back after a write).
    void poll_soon(std::size_t device, Clock::time_point now);

    const std::vector<PollBlock>& blocks(std::size_t device) const;
    // Cycles skipped because the previous one had not finished when the next was due.
    std::uint64_t overruns() const { return overruns_; }
    // Fraction of bus time the configured polls need, in permille, from frame sizes and silences
    // alone (slave reply latency not included).
    std::uint64_t planned_load_permille(std::chrono::nanoseconds char_time, std::chrono::nanoseconds t35) const;

private:
    struct Entry {
        std::size_t device;
        std::chrono::milliseconds interval;
        std::vector<PollBlock> blocks;
        Clock::time_point due{};
        std::size_t queued = 0;
    };
    Entry* find(std::size_t device);
    const Entry* find(std::size_t device) const;

    std::vector<Entry> entries_;
    std::deque<std::pair<std::size_t, std::size_t>> queue_;  // (entry, block)
    std::uint64_t overruns_ = 0;
};

}  // namespace loopgate::modbus
