#pragma once
// Cuts an NMEA byte stream into sentence candidates, bounded and self-resyncing.
//
// Unlike a plain line splitter, a '$' or '!' always starts a new sentence, even in the middle of a
// line: after a dropout the receiver's next sentence is then never glued onto the broken one. Bytes
// outside sentences are counted, never buffered, so noise cannot grow memory.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace loopgate::nmea {

struct FramerCounters {
    std::uint64_t garbage_bytes = 0;  // bytes outside any sentence (not CR/LF)
    std::uint64_t truncated = 0;      // sentences cut short by a new start, binary noise or close
    std::uint64_t overlong = 0;       // sentences longer than the bound, dropped whole
};

class NmeaFramer {
public:
    explicit NmeaFramer(std::size_t max_length);

    // Calls on_sentence for each candidate ("$...", without CR/LF); checksum is not checked here.
    void feed(std::span<const std::uint8_t> bytes, const std::function<void(std::string_view)>& on_sentence);
    void reset();  // the line closed: a partial sentence is lost (counted as truncated)

    const FramerCounters& counters() const { return counters_; }

private:
    enum class State { idle, in_sentence, discarding };
    std::size_t max_length_;
    std::string buffer_;
    State state_ = State::idle;
    FramerCounters counters_;
};

}  // namespace loopgate::nmea
