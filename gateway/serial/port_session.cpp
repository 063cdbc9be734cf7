#include "gateway/serial/port_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"

namespace loopgate {

PortSession::PortSession(boost::asio::io_context& io, const PortConfig& config, std::unique_ptr<Driver> driver,
                         Sink sink)
    : io_(io),
      config_(config),
      driver_(std::move(driver)),
      sink_(std::move(sink)),
      line_(io, config),
      reopen_timer_(io),
      driver_timer_(io),
      rts_writer_(io, line_, config.rs485),
      backoff_(config.reopen_min_ms, config.reopen_max_ms, false),
      read_buffer_(std::make_unique_for_overwrite<std::uint8_t[]>(read_burst_bytes)) {}

DriverClock PortSession::now() const { return {std::chrono::steady_clock::now(), wall_now_ns()}; }

void PortSession::start() {
    stopped_ = false;
    try_open();
}

void PortSession::stop() {
    stopped_ = true;
    reopen_timer_.cancel();
    if (line_.is_open()) close_line();
    driver_timer_.cancel();
    close_driver("the port stopped");
}

// Everything under way on the line ends with it. A write cut short must not leave `writing_` set
// nor its queue behind: a stopped port is started again on the same session (a store that was
// full resumes reading), and its first frame must go out, not wait for a write that never ends.
void PortSession::close_line() {
    ++generation_;
    rts_writer_.cancel();
    line_.close();
    driver_timer_.cancel();
    write_queue_.clear();
    writing_ = false;
    stats_.open = false;
}

// The driver hears of the close and completes the writes it holds; any it did not (a driver that
// forgets one) are failed here, so no command waits for a line that is gone.
void PortSession::close_driver(const char* why) {
    DriverOutput out;
    driver_->on_close(out);
    handle(out);
    auto left = std::move(pending_writes_);
    pending_writes_.clear();
    for (auto& [id, done] : left) {
        WriteCompletion c;
        c.id = id;
        c.outcome = WriteOutcome::line_closed;
        c.error = why;
        done(c);
    }
}

void PortSession::try_open() {
    if (stopped_) return;
    try {
        line_.open();
    } catch (const boost::system::system_error& e) {
        ++stats_.failures;
        stats_.last_error = e.what();
        if (!logged_open_failure_) {
            log::warning("port ", config_.name, ": ", e.what(), "; retrying with backoff up to ",
                         config_.reopen_max_ms, " ms");
            logged_open_failure_ = true;
        }
        schedule_reopen();
        return;
    }
    ++stats_.opens;
    stats_.open = true;
    logged_open_failure_ = false;
    backoff_.reset();
    log::info("port ", config_.name, ": opened ", line_.resolved_path(), " at ", config_.baud, " baud");
    DriverOutput out;
    driver_->on_open(now(), out);
    handle(out);
    read();
}

void PortSession::schedule_reopen() {
    reopen_timer_.expires_after(backoff_.next());
    reopen_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) try_open();
    });
}

void PortSession::read() {
    // A tty hands out at most its line discipline's 4 KiB per read. A read that brings a kilobyte
    // or more means bytes arrive faster than they are handled (a record, an NMEA sentence or a
    // Modbus frame is far smaller): take everything already waiting, so that one commit to the
    // store covers the burst instead of one commit per 4 KiB.
    line_.port().async_read_some(
        boost::asio::buffer(read_buffer_.get(), tty_read_bytes),
        [this, gen = generation_](const boost::system::error_code& ec, std::size_t n) {
            if (gen != generation_ || stopped_) return;
            if (ec) {
                lost(ec.message());
                return;
            }
            if (n >= burst_threshold_bytes) n += line_.read_ready(read_buffer_.get() + n, read_burst_bytes - n);
            stats_.bytes_read += n;
            DriverOutput out;
            driver_->on_bytes(std::span<const std::uint8_t>(read_buffer_.get(), n), now(), out);
            handle(out);
            read();
        });
}

void PortSession::lost(const std::string& why) {
    ++stats_.failures;
    stats_.last_error = "lost: " + why;
    close_line();
    log::warning("port ", config_.name, ": lost ", config_.path, " (", why, "); reopening");
    close_driver("the line was lost");
    logged_open_failure_ = true;  // the reopen attempts that follow are part of this one event
    schedule_reopen();
}

WriteResult PortSession::submit_write(WriteRequest request, WriteDone done) {
    request.id = next_write_id_++;
    if (stopped_ || !line_.is_open()) {
        WriteCompletion c;
        c.id = request.id;
        c.outcome = WriteOutcome::port_closed;
        c.error = "port closed";
        boost::asio::post(io_, [done = std::move(done), c = std::move(c)] { done(c); });
        return {true, {}, false};
    }
    DriverOutput out;
    WriteResult r = driver_->write_point(request, now(), out);
    if (r.accepted) pending_writes_.emplace(request.id, std::move(done));
    handle(out);
    return r;
}

void PortSession::handle(DriverOutput& out) {
    for (const std::string& w : out.warnings) log::warning("port ", config_.name, ": ", w);
    // Readings first: a write's read-back reaches the bridge before whoever waits on the write hears.
    if (!out.readings.empty()) sink_(out.readings);
    if (!out.to_write.empty() && line_.is_open()) {
        write_queue_.push_back(std::move(out.to_write));
        write_next();
    }
    if (out.wake_at && line_.is_open()) {
        driver_timer_.expires_at(*out.wake_at);
        driver_timer_.async_wait([this, gen = generation_](const boost::system::error_code& ec) {
            if (ec || gen != generation_ || stopped_) return;
            DriverOutput next;
            driver_->on_timer(now(), next);
            handle(next);
        });
    }
    for (const WriteCompletion& c : out.completions) {
        auto it = pending_writes_.find(c.id);
        if (it == pending_writes_.end()) continue;
        WriteDone done = std::move(it->second);
        pending_writes_.erase(it);
        done(c);
    }
}

void PortSession::write_next() {
    if (writing_ || write_queue_.empty()) return;
    if (line_.software_rts()) {
        writing_ = true;
        auto frame = std::move(write_queue_.front());
        write_queue_.pop_front();
        rts_writer_.write(std::move(frame), [this, gen = generation_](const boost::system::error_code& ec, std::size_t n) {
            if (gen != generation_) return;
            writing_ = false;
            if (ec) {
                lost(ec.message());
                return;
            }
            stats_.bytes_written += n;
            write_next();
        });
        return;
    }
    writing_ = true;
    auto frame = std::make_shared<std::vector<std::uint8_t>>(std::move(write_queue_.front()));
    write_queue_.pop_front();
    boost::asio::async_write(line_.port(), boost::asio::buffer(*frame),
                             [this, frame, gen = generation_](const boost::system::error_code& ec, std::size_t n) {
                                 if (gen != generation_) return;
                                 writing_ = false;
                                 if (ec) {
                                     lost(ec.message());
                                     return;
                                 }
                                 stats_.bytes_written += n;
                                 write_next();
                             });
}

}  // namespace loopgate
