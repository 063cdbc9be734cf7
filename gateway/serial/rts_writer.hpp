#pragma once
// Software RS-485 direction control (rs485.mode: rts) as one asynchronous operation: RTS up, the
// configured delay, the frame, the wait until the UART has shifted out its last stop bit, the delay
// after, RTS down. Every wait is a timer on the event loop, never a sleep: a long configured delay
// or a slow line must not hold up the other ports, the uplink or the status page.

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "gateway/serial/serial_line.hpp"

namespace loopgate {

class RtsWriter {
public:
    using Done = std::function<void(const boost::system::error_code&, std::size_t bytes)>;

    RtsWriter(boost::asio::io_context& io, SerialLine& line, const Rs485Config& rs485);

    // One frame at a time; `done` runs on the event loop once RTS is down again (or the write failed).
    void write(std::vector<std::uint8_t> frame, Done done);
    // The line closed: whatever is under way ends without touching the line, `done` is not called.
    void cancel();

private:
    void after(std::chrono::nanoseconds delay, std::function<void()> next);
    void await_sent(std::chrono::steady_clock::time_point give_up);
    void finish(const boost::system::error_code& ec);

    SerialLine& line_;
    const Rs485Config& rs485_;
    boost::asio::steady_timer timer_;
    std::vector<std::uint8_t> frame_;
    Done done_;
    std::uint64_t generation_ = 0;  // bumped by cancel(), so a stale continuation does nothing
};

}  // namespace loopgate
