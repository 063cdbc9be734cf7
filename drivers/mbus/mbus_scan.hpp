#pragma once
// Which meters are on a line: a pure state machine for `loopgate mbus-scan` (no I/O, no clock of
// its own). Primary scan: SND_NKE to each address 0-250, and REQ_UD2 to each that acknowledges, for
// the header. Secondary search (EN 13757-3 wildcard selection, as libmbus does it): select
// "0FFFFFFF" .. "9FFFFFFF"; nobody answers: nothing there; an answer that reads as one telegram: one
// meter; a garbled one (several meters answering at once): fix the next digit and select again.

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/driver.hpp"
#include "drivers/mbus/mbus_config.hpp"
#include "drivers/mbus/mbus_record.hpp"

namespace loopgate::mbus {

struct FoundMeter {
    std::optional<std::uint8_t> address;  // primary scan: the address it answered at
    std::string id;                       // identification number, 8 digits
    std::string manufacturer;
    std::uint8_t version = 0;
    std::uint8_t medium = 0;
    bool collision = false;  // several meters answered at this address (or with this id): not told apart
};

class Scan {
public:
    Scan(const BusTiming& timing, bool secondary, int retries = 1);

    // What the line needs next: bytes to write now (may be empty), and the time to call on_timer.
    struct Step {
        std::vector<std::uint8_t> send;
        SteadyTime wake{};
        bool done = false;
    };
    Step start(SteadyTime now);
    Step on_bytes(std::span<const std::uint8_t> bytes, SteadyTime now);
    Step on_timer(SteadyTime now);

    const std::vector<FoundMeter>& found() const { return found_; }
    std::uint64_t probes() const { return probes_; }

private:
    enum class Ask { nke, select, request };
    Step advance(SteadyTime now);  // sends what is pending once the line has been quiet long enough
    Step send(SteadyTime now);
    void finish_exchange(SteadyTime now);
    void answered(bool garbled);
    void next_probe();
    bool pending_ = false;

    BusTiming timing_;
    bool secondary_;
    int retries_;
    bool done_ = false;

    // Primary: the address being probed. Secondary: the masks still to try, depth first.
    int address_ = -1;
    std::deque<std::string> masks_;
    std::string mask_;
    Ask ask_ = Ask::nke;
    int attempts_ = 0;
    bool awaiting_ = false;
    std::vector<std::uint8_t> rx_;
    SteadyTime deadline_{};
    SteadyTime last_rx_{};
    SteadyTime quiet_from_{};
    std::vector<FoundMeter> found_;
    std::uint64_t probes_ = 0;
};

}  // namespace loopgate::mbus
