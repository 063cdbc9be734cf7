#pragma once
// One port and its driver: reads asynchronously, hands bytes and time to the driver, writes what the
// driver asks for, runs the driver's timer, and reopens the line with capped backoff when it fails
// to open or vanishes (USB adapter unplugged, device server gone), while the rest of the gateway
// keeps running. The line is a ByteStream: a serial device, or a TCP or RFC 2217 connection to a
// serial device server, driven the same way.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/backoff.hpp"
#include "drivers/driver.hpp"
#include "gateway/config.hpp"
#include "gateway/serial/byte_stream.hpp"

namespace loopgate {

struct PortStats {
    std::uint64_t bytes_read = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t opens = 0;
    std::uint64_t failures = 0;  // failed opens and lost lines
    bool open = false;
    std::string last_error;  // why the line last failed to open or was lost; empty until it did
    const char* transport = "serial";  // serial | tcp | rfc2217
    // Network ports: connections dropped because the driver's writes brought no byte back for
    // ports[].network.reconnect_after_silence (taken for half-open).
    std::uint64_t silence_reconnects = 0;
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
    // The device node the path led to when last opened (a /dev/serial/by-id link resolved), or the
    // address a network port last connected to.
    const std::string& resolved_path() const { return stream_->resolved_path(); }
    // What an RFC 2217 server confirmed of the port's line settings (empty for other transports).
    const RemotePortState& remote_port() const { return stream_->remote_port(); }
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
    void opened(const std::string& error);
    void schedule_reopen();
    void read();
    void got_bytes(std::size_t n);
    void wrote_bytes(std::size_t n);
    void check_silence();
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
    std::unique_ptr<ByteStream> stream_;
    boost::asio::steady_timer reopen_timer_;
    boost::asio::steady_timer driver_timer_;
    boost::asio::steady_timer silence_timer_;
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
    // Logging each state change once: `in_trouble_` from a logged failure until the port works again;
    // `proven_` once the current connection brought a byte; `early_close_` when the last loss came
    // before that (a server that accepts and closes at once is one event, not one per retry).
    bool in_trouble_ = false;
    bool proven_ = false;
    bool early_close_ = false;
    // Since when the driver's writes wait for a byte back (network ports: half-open detection).
    std::optional<SteadyTime> unanswered_since_;
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
