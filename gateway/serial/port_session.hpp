#pragma once
// One serial line and its driver: reads asynchronously, hands bytes and time to the driver, writes
// what the driver asks for, runs the driver's timer, and reopens the line with capped backoff when
// it fails to open or vanishes (USB adapter unplugged), while the rest of the gateway keeps running.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/backoff.hpp"
#include "drivers/driver.hpp"
#include "gateway/config.hpp"
#include "gateway/serial/rts_writer.hpp"
#include "gateway/serial/serial_line.hpp"

namespace loopgate {

struct PortStats {
    std::uint64_t bytes_read = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t opens = 0;
    std::uint64_t failures = 0;  // failed opens and lost lines
    bool open = false;
    std::string last_error;  // why the line last failed to open or was lost; empty until it did
};

class PortSession {
public:
    using Sink = std::function<void(std::vector<Reading>&)>;
    using WriteDone = std::function<void(const WriteCompletion&)>;

    PortSession(boost::asio::io_context& io, const PortConfig& config, std::unique_ptr<Driver> driver, Sink sink);
    PortSession(const PortSession&) = delete;
    PortSession& operator=(const PortSession&) = delete;

    void start();
    void stop();

    const PortConfig& config() const { return config_; }
    const PortStats& stats() const { return stats_; }
    // The device node the path led to when last opened (a /dev/serial/by-id link resolved).
    const std::string& resolved_path() const { return line_.resolved_path(); }
    Driver& driver() { return *driver_; }
    // Hands a command's write to the driver with the current time and acts on its output at once, so
    // the frame leaves as soon as the line allows. Returns the driver's refusal, or accepted: then
    // `done` runs exactly once, on the event loop, with the outcome. A port that is not open (adapter
    // unplugged, stopped) completes it with port_closed; a line lost or a stop() while the write is
    // pending completes it with line_closed. Never an ok the device did not give.
    WriteResult submit_write(WriteRequest request, WriteDone done);
    std::size_t pending_writes() const { return pending_writes_.size(); }

private:
    void try_open();
    void schedule_reopen();
    void read();
    void lost(const std::string& why);
    void close_line();
    void handle(DriverOutput& out);
    void close_driver(const char* why);
    void write_next();
    DriverClock now() const;

    boost::asio::io_context& io_;
    const PortConfig& config_;
    std::unique_ptr<Driver> driver_;
    Sink sink_;
    SerialLine line_;
    boost::asio::steady_timer reopen_timer_;
    boost::asio::steady_timer driver_timer_;
    RtsWriter rts_writer_;
    Backoff backoff_;
    // What one async read asks for (a tty's line discipline holds 4 KiB), what counts as a burst,
    // and how much a burst may gather before it is handled. Allocated without being touched, so an
    // idle port's buffer costs no resident memory.
    static constexpr std::size_t tty_read_bytes = 4096;
    static constexpr std::size_t burst_threshold_bytes = 1024;
    static constexpr std::size_t read_burst_bytes = 64 * 1024;
    std::unique_ptr<std::uint8_t[]> read_buffer_;
    std::deque<std::vector<std::uint8_t>> write_queue_;
    bool writing_ = false;
    bool stopped_ = false;
    bool logged_open_failure_ = false;
    std::uint64_t generation_ = 0;  // bumps on every close, so stale completions are ignored
    std::uint64_t next_write_id_ = 1;
    std::unordered_map<std::uint64_t, WriteDone> pending_writes_;
    PortStats stats_;
};

// A running port and the configuration it runs with; a reload replaces whole slots.
struct PortSlot {
    std::unique_ptr<PortConfig> config;
    std::unique_ptr<PortSession> session;
};

}  // namespace loopgate
