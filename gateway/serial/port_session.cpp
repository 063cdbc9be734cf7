#include "gateway/serial/port_session.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"

namespace loopgate {

namespace {

std::string loss_reason(const boost::system::error_code& ec, bool network) {
    if (network && ec == boost::asio::error::eof) return "the server closed the connection";
    return ec.message();
}

}  // namespace

PortSession::PortSession(boost::asio::io_context& io, const PortConfig& config, std::unique_ptr<Driver> driver,
                         Sink sink)
    : io_(io),
      config_(config),
      driver_(std::move(driver)),
      sink_(std::move(sink)),
      stream_(make_byte_stream(io, config)),
      reopen_timer_(io),
      driver_timer_(io),
      silence_timer_(io),
      backoff_(config.reopen_min_ms, config.reopen_max_ms, false),
      read_buffer_(std::make_unique_for_overwrite<std::uint8_t[]>(read_burst_bytes)) {
    if (config.endpoint) stats_.transport = config.endpoint->scheme == "rfc2217" ? "rfc2217" : "tcp";
}

DriverClock PortSession::now() const { return {std::chrono::steady_clock::now(), wall_now_ns()}; }

void PortSession::start() {
    stopped_ = false;
    try_open();
}

void PortSession::stop() {
    stopped_ = true;
    reopen_timer_.cancel();
    close_line();
    close_driver("the port stopped");
}

// Everything under way on the line ends with it. A write cut short must not leave `writing_` set
// nor its queue behind: a stopped port is started again on the same session (a store that was
// full resumes reading), and its first frame must go out, not wait for a write that never ends.
void PortSession::close_line() {
    ++generation_;
    stream_->close();
    driver_timer_.cancel();
    silence_timer_.cancel();
    unanswered_since_.reset();
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
    stream_->open([this, gen = generation_](const std::string& error) {
        if (gen != generation_ || stopped_) return;
        opened(error);
    });
}

void PortSession::opened(const std::string& error) {
    if (!error.empty()) {
        ++stats_.failures;
        stats_.last_error = error;
        early_close_ = false;
        if (!in_trouble_) {
            log::warning("port ", log::subject(config_.name), ": ", error, "; retrying with backoff up to ", config_.reopen_max_ms,
                         " ms");
            in_trouble_ = true;
        }
        schedule_reopen();
        return;
    }
    ++stats_.opens;
    stats_.open = true;
    proven_ = false;
    connected_at_ = std::chrono::steady_clock::now();
    if (!stream_->is_network()) {
        backoff_.reset();
        in_trouble_ = false;
        log::info("port ", config_.name, ": opened ", stream_->resolved_path(), " at ", config_.baud, " baud");
    } else if (!(in_trouble_ && early_close_)) {
        // A connection that works is known by the bytes it brings (got_bytes resets the backoff);
        // a server that accepts and closes at once must not reconnect at the shortest interval.
        in_trouble_ = false;
        log::info("port ", config_.name, ": connected to ", config_.path, " (", stream_->resolved_path(), ")");
    }
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
    stream_->read_some(read_buffer_.get(), tty_read_bytes,
                       [this, gen = generation_](const boost::system::error_code& ec, std::size_t n) {
                           if (gen != generation_ || stopped_) return;
                           if (ec) {
                               lost(loss_reason(ec, stream_->is_network()));
                               return;
                           }
                           if (n >= burst_threshold_bytes)
                               n += stream_->read_ready(read_buffer_.get() + n, read_burst_bytes - n);
                           got_bytes(n);
                           DriverOutput out;
                           driver_->on_bytes(std::span<const std::uint8_t>(read_buffer_.get(), n), now(), out);
                           handle(out);
                           if (gen == generation_) read();
                       });
}

void PortSession::got_bytes(std::size_t n) {
    if (n == 0) return;
    stats_.bytes_read += n;
    unanswered_since_.reset();
    if (proven_) return;
    // A connection proves itself by bytes that come once it has lasted a moment: a server that
    // greets and hangs up (ser2net's "Port already in use") must not reset the backoff each time.
    if (stream_->is_network() && std::chrono::steady_clock::now() - connected_at_ < kProvenAfter) return;
    proven_ = true;
    if (!stream_->is_network()) return;
    backoff_.reset();
    if (in_trouble_) {
        in_trouble_ = false;
        log::info("port ", config_.name, ": connected to ", config_.path, " (", stream_->resolved_path(),
                  ") and receiving again");
    }
}

// Half-open detection: the driver wrote (a poll, a command) and nothing at all came back for
// reconnect_after_silence. A dead peer whose kernel still holds the connection, a NAT that forgot
// it, a device server whose serial side hung: reconnecting is what a technician would do. A
// listener never writes, so it is never reconnected for silence (keepalive covers its peer).
void PortSession::wrote_bytes(std::size_t n) {
    stats_.bytes_written += n;
    const std::int64_t limit_ms = config_.network.reconnect_after_silence_ms;
    if (!stream_->is_network() || limit_ms <= 0 || unanswered_since_) return;
    unanswered_since_ = std::chrono::steady_clock::now();
    silence_timer_.expires_at(*unanswered_since_ + std::chrono::milliseconds(limit_ms));
    silence_timer_.async_wait([this, gen = generation_](const boost::system::error_code& ec) {
        if (ec || gen != generation_ || stopped_) return;
        check_silence();
    });
}

void PortSession::check_silence() {
    if (!unanswered_since_) return;  // an answer came; the next write arms the timer again
    const auto limit = std::chrono::milliseconds(config_.network.reconnect_after_silence_ms);
    if (std::chrono::steady_clock::now() - *unanswered_since_ < limit) return;
    ++stats_.silence_reconnects;
    lost("no byte back for " + std::to_string(limit.count() / 1000) + " s although the driver wrote; taken for "
         "half-open");
}

void PortSession::lost(const std::string& why) {
    ++stats_.failures;
    stats_.last_error = "lost: " + why;
    close_line();
    const bool repeat = in_trouble_ && !proven_;
    early_close_ = !proven_;
    if (!repeat)
        log::warning("port ", log::subject(config_.name), ": lost ", config_.path, " (", why, "); ",
                     stream_->is_network() ? "reconnecting" : "reopening");
    close_driver("the line was lost");
    in_trouble_ = true;  // the reopen attempts that follow are part of this one event
    schedule_reopen();
}

WriteResult PortSession::submit_write(WriteRequest request, WriteDone done) {
    request.id = next_write_id_++;
    if (stopped_ || !stream_->is_open()) {
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
    for (const std::string& w : out.warnings) log::warning("port ", log::subject(config_.name), ": ", w);
    // Readings first: a write's read-back reaches the bridge before whoever waits on the write hears.
    if (!out.readings.empty()) sink_(out.readings);
    if (!out.to_write.empty() && stream_->is_open()) {
        write_queue_.push_back(std::move(out.to_write));
        write_next();
    }
    if (out.wake_at && stream_->is_open()) {
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
    writing_ = true;
    auto frame = std::move(write_queue_.front());
    write_queue_.pop_front();
    stream_->write(std::move(frame), [this, gen = generation_](const boost::system::error_code& ec, std::size_t n) {
        if (gen != generation_) return;
        writing_ = false;
        if (ec) {
            lost(loss_reason(ec, stream_->is_network()));
            return;
        }
        wrote_bytes(n);
        write_next();
    });
}

}  // namespace loopgate
