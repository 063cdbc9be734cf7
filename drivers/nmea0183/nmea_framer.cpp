#include "drivers/nmea0183/nmea_framer.hpp"

namespace loopgate::nmea {

NmeaFramer::NmeaFramer(std::size_t max_length) : max_length_(max_length) { buffer_.reserve(max_length_); }

void NmeaFramer::reset() {
    if (state_ == State::in_sentence) ++counters_.truncated;
    buffer_.clear();
    state_ = State::idle;
}

void NmeaFramer::feed(std::span<const std::uint8_t> bytes,
                      const std::function<void(std::string_view)>& on_sentence) {
    for (std::uint8_t b : bytes) {
        const char c = static_cast<char>(b);
        const bool start = c == '$' || c == '!';
        const bool end = c == '\r' || c == '\n';
        switch (state_) {
            case State::idle:
                if (start) {
                    buffer_.assign(1, c);
                    state_ = State::in_sentence;
                } else if (!end) {
                    ++counters_.garbage_bytes;
                }
                break;
            case State::in_sentence:
                if (end) {
                    state_ = State::idle;
                    on_sentence(buffer_);
                    buffer_.clear();
                } else if (start) {
                    ++counters_.truncated;
                    buffer_.assign(1, c);
                } else if (b < 0x20 || b > 0x7e) {
                    // Binary noise inside a sentence: what came before is unusable, and so is this byte.
                    ++counters_.truncated;
                    ++counters_.garbage_bytes;
                    buffer_.clear();
                    state_ = State::idle;
                } else if (buffer_.size() >= max_length_) {
                    ++counters_.overlong;
                    buffer_.clear();
                    state_ = State::discarding;
                } else {
                    buffer_.push_back(c);
                }
                break;
            case State::discarding:
                // The rest of an overlong sentence is already accounted for by `overlong`.
                if (end) {
                    state_ = State::idle;
                } else if (start) {
                    buffer_.assign(1, c);
                    state_ = State::in_sentence;
                }
                break;
        }
    }
}

}  // namespace loopgate::nmea
