#pragma once
// Splits a byte stream into lines at a terminator, bounded in length.
//
// A line longer than the bound is discarded whole (counted once) and the framer resyncs at the next
// terminator, so a stuck sensor or binary noise can never grow memory without limit.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace loopgate {

class LineFramer {
public:
    LineFramer(std::string terminator, std::size_t max_line);

    // Calls on_line for each complete line (terminator removed, trailing '\r' kept off when the
    // terminator is "\n" so CRLF and LF senders both work).
    void feed(std::span<const std::uint8_t> bytes, const std::function<void(std::string_view)>& on_line);
    void reset();  // drop a partial line (the port closed)

    std::uint64_t lines() const { return lines_; }
    std::uint64_t overlong() const { return overlong_; }

private:
    std::string terminator_;
    std::size_t max_line_;
    std::string buffer_;
    bool discarding_ = false;
    std::uint64_t lines_ = 0;
    std::uint64_t overlong_ = 0;
};

}  // namespace loopgate
