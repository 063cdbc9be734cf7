#include "drivers/modbus_tcp/tcp_framing.hpp"

#include "drivers/modbus_tcp/mbap_frame.hpp"

namespace loopgate::modbus {

namespace {

class TcpFraming final : public MasterFraming {
public:
    explicit TcpFraming(std::size_t max_in_flight) : max_in_flight_(max_in_flight) {}

    std::size_t max_in_flight() const override { return max_in_flight_; }
    bool tags_answers() const override { return true; }
    std::vector<std::uint8_t> frame(const Request& request, std::uint16_t transaction) const override {
        return tcp::frame(request, transaction);
    }
    std::chrono::nanoseconds wire_time(std::size_t) const override { return {}; }
    std::chrono::nanoseconds silence() const override { return {}; }
    std::optional<SerialTiming> serial_timing() const override { return std::nullopt; }

    // The header's length delimits every ADU, so a frame split over segments or several in one are
    // the same stream. A header that is no header (a server that speaks something else, or bytes
    // lost) puts the stream out of step: then bytes are skipped up to the next header that is
    // plausible as a whole (protocol 0, a known function code whose length fills the header's).
    std::size_t receive(std::span<const std::uint8_t> bytes, std::vector<Received>& out) override {
        buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
        std::size_t noise = 0;
        while (!buffer_.empty()) {
            tcp::AduSize size = tcp::adu_size(buffer_);
            if (size.status == tcp::AduSize::invalid || (out_of_step_ && !plausible(size))) {
                if (!out_of_step_) {
                    Received& r = out.emplace_back();
                    tcp::Header ignored;
                    tcp::parse_response(buffer_, ignored, r.error);
                    out_of_step_ = true;
                }
                buffer_.erase(buffer_.begin());
                ++noise;
                continue;
            }
            if (size.status == tcp::AduSize::need_more || buffer_.size() < size.length) break;
            Received& r = out.emplace_back();
            tcp::Header header;
            r.response = tcp::parse_response(std::span(buffer_).first(size.length), header, r.error);
            r.transaction = header.transaction;
            r.length = size.length;
            if (r.response) out_of_step_ = false;
            buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(size.length));
        }
        return noise;
    }

    std::size_t partial() const override { return buffer_.size(); }

    std::size_t discard() override {
        std::size_t n = buffer_.size();
        buffer_.clear();
        out_of_step_ = false;  // a new connection starts in step
        return n;
    }

private:
    bool plausible(const tcp::AduSize& size) const {
        if (buffer_.size() <= tcp::kHeaderSize) return true;  // nothing to judge yet
        PduSize pdu = response_pdu_size(std::span(buffer_).subspan(tcp::kHeaderSize));
        if (pdu.status == PduSize::invalid) return false;
        return pdu.status == PduSize::need_more || pdu.length + 1 == size.header.length;
    }

    std::size_t max_in_flight_;
    std::vector<std::uint8_t> buffer_;
    bool out_of_step_ = false;
};

}  // namespace

std::unique_ptr<MasterFraming> make_tcp_framing(std::size_t max_in_flight) {
    return std::make_unique<TcpFraming>(max_in_flight);
}

}  // namespace loopgate::modbus
