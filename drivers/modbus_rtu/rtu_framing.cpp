#include <utility>

#include "drivers/modbus_rtu/rtu_framing.hpp"

namespace loopgate::modbus {

namespace {

class RtuFraming final : public MasterFraming {
public:
    explicit RtuFraming(rtu::Timing timing) : timing_(timing) {}

    std::size_t max_in_flight() const override { return 1; }
    bool tags_answers() const override { return false; }
    std::vector<std::uint8_t> frame(const Request& request, std::uint16_t) const override { return rtu::frame(request); }
    std::chrono::nanoseconds wire_time(std::size_t bytes) const override {
        return timing_.char_time * static_cast<std::int64_t>(bytes);
    }
    std::chrono::nanoseconds silence() const override { return timing_.silence; }
    std::optional<SerialTiming> serial_timing() const override { return SerialTiming{timing_.char_time, timing_.silence}; }

    // Frames end by length and CRC, never by how the bytes were split: a frame cut across reads is
    // kept until its last byte comes, and a frame behind garbage is still found.
    std::size_t receive(std::span<const std::uint8_t> bytes, std::vector<Received>& out) override {
        buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
        std::size_t noise = 0;
        for (;;) {
            std::size_t dead = rtu::dead_prefix(buffer_, kinds);
            if (dead > 0) {
                // Only what stands where a frame should start is a damaged frame; the rest is noise.
                if (at_boundary_) out.push_back(damaged_front());
                noise += drop(dead);
            }
            if (buffer_.empty()) break;
            auto at = rtu::find_frame(buffer_, kinds);
            if (!at) break;
            if (*at > 0) noise += drop(*at);
            std::size_t length = rtu::response_size(buffer_).length;
            Received& r = out.emplace_back();
            r.response = rtu::parse_response(std::span(buffer_).first(length), r.error);
            r.length = length;
            buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(length));
            at_boundary_ = true;
        }
        return noise;
    }

    std::size_t partial() const override { return buffer_.size(); }

    std::size_t discard() override {
        std::size_t n = buffer_.size();
        buffer_.clear();
        at_boundary_ = true;
        return n;
    }

private:
    static constexpr rtu::FrameKinds kinds{true, false};

    Received damaged_front() const {
        Received r;
        rtu::FrameSize size = rtu::response_size(buffer_);
        std::span<const std::uint8_t> front(buffer_);
        if (size.status == rtu::FrameSize::known && size.length <= front.size()) front = front.first(size.length);
        rtu::parse_response(front, r.error);
        return r;
    }

    std::size_t drop(std::size_t n) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
        at_boundary_ = false;
        return n;
    }

    rtu::Timing timing_;
    std::vector<std::uint8_t> buffer_;
    bool at_boundary_ = true;
};

}  // namespace

std::unique_ptr<MasterFraming> make_rtu_framing(rtu::Timing timing) { return std::make_unique<RtuFraming>(timing); }

}  // namespace loopgate::modbus
