#include "drivers/framing/line_framer.hpp"

namespace loopgate {

LineFramer::LineFramer(std::string terminator, std::size_t max_line)
    : terminator_(std::move(terminator)), max_line_(max_line) {
    if (terminator_.empty()) terminator_.push_back('\n');
    buffer_.reserve(max_line_ + terminator_.size());
}

void LineFramer::reset() {
    buffer_.clear();
    discarding_ = false;
}

void LineFramer::feed(std::span<const std::uint8_t> bytes, const std::function<void(std::string_view)>& on_line) {
    const char last = terminator_.back();
    for (std::uint8_t b : bytes) {
        buffer_.push_back(static_cast<char>(b));
        bool ended = static_cast<char>(b) == last && buffer_.size() >= terminator_.size() &&
                     std::string_view(buffer_).substr(buffer_.size() - terminator_.size()) == terminator_;
        if (ended) {
            if (!discarding_) {
                std::string_view line(buffer_.data(), buffer_.size() - terminator_.size());
                if (terminator_ == "\n" && !line.empty() && line.back() == '\r') line.remove_suffix(1);
                ++lines_;
                on_line(line);
            }
            discarding_ = false;
            buffer_.clear();
            continue;
        }
        if (buffer_.size() > max_line_ + terminator_.size() - 1) {
            if (!discarding_) ++overlong_;
            discarding_ = true;
            // Keep just enough tail to recognise a terminator split across the boundary.
            buffer_ = buffer_.substr(buffer_.size() - (terminator_.size() - 1));
        }
    }
}

}  // namespace loopgate
