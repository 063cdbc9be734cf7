#include "gateway/serial/rts_writer.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include <boost/asio/write.hpp>

namespace loopgate {

namespace {

// How often the transmitter is asked whether it is empty, at the least: a poll costs one ioctl.
constexpr std::chrono::microseconds kMinPoll{200};
// Beyond the frame's own time on the wire: a UART whose FIFO never reports empty (or a driver that
// cannot say) must not keep RTS up, and the bus to itself, for ever.
constexpr std::chrono::milliseconds kDrainSlack{100};

}  // namespace

RtsWriter::RtsWriter(boost::asio::io_context& io, SerialLine& line, const Rs485Config& rs485)
    : line_(line), rs485_(rs485), timer_(io) {}

void RtsWriter::write(std::vector<std::uint8_t> frame, Done done) {
    frame_ = std::move(frame);
    done_ = std::move(done);
    line_.set_rts(true);
    after(std::chrono::milliseconds(rs485_.delay_before_send_ms), [this, gen = generation_] {
        boost::asio::async_write(line_.port(), boost::asio::buffer(frame_),
                                 [this, gen](const boost::system::error_code& ec, std::size_t) {
                                     if (gen != generation_) return;
                                     if (ec) return finish(ec);
                                     // async_write completes when the kernel has the bytes, not
                                     // when they are on the wire: RTS stays up until they are.
                                     auto on_wire = line_.char_time() * static_cast<std::int64_t>(frame_.size());
                                     await_sent(std::chrono::steady_clock::now() + on_wire + kDrainSlack);
                                 });
    });
}

void RtsWriter::await_sent(std::chrono::steady_clock::time_point give_up) {
    std::size_t queued = 0;
    if (line_.transmit_pending(queued) && std::chrono::steady_clock::now() < give_up) {
        // The bytes still queued need their time; the last one's stop bit at least one character.
        auto wait = line_.char_time() * static_cast<std::int64_t>(std::max<std::size_t>(queued, 1));
        after(std::max<std::chrono::nanoseconds>(wait, kMinPoll), [this, give_up] { await_sent(give_up); });
        return;
    }
    after(std::chrono::milliseconds(rs485_.delay_after_send_ms), [this] { finish({}); });
}

void RtsWriter::finish(const boost::system::error_code& ec) {
    line_.set_rts(false);
    std::size_t sent = ec ? 0 : frame_.size();
    frame_.clear();
    Done done = std::move(done_);
    done_ = nullptr;
    done(ec, sent);
}

void RtsWriter::after(std::chrono::nanoseconds delay, std::function<void()> next) {
    if (delay.count() <= 0) {
        next();
        return;
    }
    timer_.expires_after(delay);
    timer_.async_wait([this, gen = generation_, next = std::move(next)](const boost::system::error_code& ec) {
        if (ec || gen != generation_) return;
        next();
    });
}

void RtsWriter::cancel() {
    ++generation_;
    timer_.cancel();
    frame_.clear();
    done_ = nullptr;
}

}  // namespace loopgate
