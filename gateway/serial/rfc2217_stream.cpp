#include "gateway/serial/rfc2217_stream.hpp"

#include <boost/asio/error.hpp>

#include "core/log.hpp"

namespace loopgate {

namespace {

// How long a server has to answer the settings before what it did answer is reported.
constexpr std::chrono::seconds kConfirmWait{5};

ComPortRequest request_of(const PortConfig& c) {
    return {c.baud, c.data_bits, c.parity, c.stop_bits, c.flow_control};
}

}  // namespace

Rfc2217Stream::Rfc2217Stream(boost::asio::io_context& io, const PortConfig& config)
    : config_(config), tcp_(io, config), confirm_timer_(io), client_(request_of(config)) {}

void Rfc2217Stream::open(Opened done) {
    close();
    tcp_.open([this, connection = connection_, done = std::move(done)](const std::string& error) {
        if (connection != connection_) return;
        if (!error.empty()) {
            done(error);
            return;
        }
        decoder_.reset();
        reported_ = false;
        std::vector<std::uint8_t> opening;
        client_.start(opening);
        const std::uint64_t errors = state_.protocol_errors;
        state_ = client_.confirmed();
        state_.protocol_errors = errors;
        send_control(std::move(opening));
        confirm_timer_.expires_after(kConfirmWait);
        confirm_timer_.async_wait([this, connection](const boost::system::error_code& ec) {
            if (!ec && connection == connection_) report_confirmation(true);
        });
        done({});
    });
}

void Rfc2217Stream::close() {
    ++connection_;
    tcp_.close();
    confirm_timer_.cancel();
    outbox_.clear();
    sending_ = false;
}

void Rfc2217Stream::read_some(std::uint8_t* into, std::size_t size, Done done) {
    tcp_.read_some(into, size,
                   [this, into, size, connection = connection_, done = std::move(done)](
                       const boost::system::error_code& ec, std::size_t n) mutable {
                       if (ec || connection != connection_) {
                           done(ec ? ec : boost::asio::error::operation_aborted, 0);
                           return;
                       }
                       std::size_t data = absorb(into, n);
                       // Negotiation alone is no data for the driver: read on.
                       if (data == 0 && connection == connection_) {
                           read_some(into, size, std::move(done));
                           return;
                       }
                       done(ec, data);
                   });
}

std::size_t Rfc2217Stream::read_ready(std::uint8_t* into, std::size_t size) {
    return absorb(into, tcp_.read_ready(into, size));
}

std::size_t Rfc2217Stream::absorb(std::uint8_t* at, std::size_t n) {
    events_.clear();
    std::size_t data = decoder_.decode(std::span<std::uint8_t>(at, n), events_);
    std::vector<std::uint8_t> replies;
    for (const telnet::Event& e : events_) client_.on_event(e, replies);
    if (!replies.empty()) send_control(std::move(replies));
    const std::uint64_t errors = decoder_.protocol_errors() + client_.malformed();
    if (!events_.empty() || errors != state_.protocol_errors) {
        state_ = client_.confirmed();
        state_.protocol_errors = errors;
        if (!reported_ && (client_.all_confirmed() || state_.refused)) report_confirmation(false);
    }
    pump();  // a FLOWCONTROL-RESUME releases held data
    return data;
}

void Rfc2217Stream::report_confirmation(bool final) {
    if (reported_) return;
    reported_ = true;
    confirm_timer_.cancel();
    std::string report;
    if (state_.refused)
        report = "the server refused the COM-PORT-OPTION (RFC 2217); its serial port keeps the settings made on it";
    else if (!state_.com_port_option)
        report = "the server did not take up the COM-PORT-OPTION (RFC 2217) within " +
                 std::to_string(kConfirmWait.count()) + " s; its serial port keeps the settings made on it";
    else
        report = "the RFC 2217 server confirmed " + state_.text() +
                 (final && !client_.all_confirmed() ? " (and did not answer the rest)" : "");
    if (report == last_report_) return;  // the same as at the last connect: said already
    last_report_ = report;
    auto differences = client_.differences();
    if (!state_.com_port_option || !differences.empty()) {
        std::string why;
        for (const std::string& d : differences) why += "; " + d;
        log::warning("port ", log::subject(config_.name), ": ", report, why);
    } else {
        log::info("port ", config_.name, ": ", report);
    }
}

void Rfc2217Stream::send_control(std::vector<std::uint8_t> bytes) {
    // Negotiation goes ahead of held data, never behind a suspended queue; the item on the wire
    // stays first, earlier negotiation before this.
    auto at = outbox_.begin();
    if (sending_ && at != outbox_.end()) ++at;
    while (at != outbox_.end() && !at->done) ++at;
    outbox_.insert(at, Outgoing{std::move(bytes), 0, nullptr});
    pump();
}

void Rfc2217Stream::write(std::vector<std::uint8_t> bytes, Done done) {
    Outgoing item;
    item.data_size = bytes.size();
    telnet::escape(bytes, item.bytes);
    item.done = std::move(done);
    outbox_.push_back(std::move(item));
    pump();
}

void Rfc2217Stream::pump() {
    if (sending_ || outbox_.empty() || !tcp_.is_open()) return;
    if (outbox_.front().done && client_.suspended()) return;
    sending_ = true;
    tcp_.write(std::move(outbox_.front().bytes), [this, connection = connection_](const boost::system::error_code& ec, std::size_t) {
        if (connection != connection_) return;
        sending_ = false;
        Outgoing sent = std::move(outbox_.front());
        outbox_.pop_front();
        // A failed negotiation write has no one to tell; the read that follows reports the loss.
        if (sent.done) sent.done(ec, ec ? 0 : sent.data_size);
        if (!ec && connection == connection_) pump();
    });
}

}  // namespace loopgate
