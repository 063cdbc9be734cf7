#pragma once
// AIS messages longer than one sentence arrive as numbered fragments (!AIVDM,2,1,7,A,...). A message
// is rebuilt from the fragments of one stream: the same sentence address (talker and VDM/VDO), radio
// channel and sequential message id. A fragment that is not the next one expected - out of order, after
// a lost one, of a message with another fragment count - drops its message, counted, and is never glued
// onto another message. Pure: no clock; the number of messages in progress is bounded.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/nmea0183/nmea_sentence.hpp"

namespace loopgate::nmea::ais {

// One !--VDM / !--VDO sentence's fields; views into the sentence.
struct Fragment {
    std::string_view address;   // "AIVDM", "BSVDM", "AIVDO"
    unsigned count = 1;         // fragments in the message, 1-9
    unsigned number = 1;        // this fragment, 1-based
    std::string_view sequence;  // sequential message id, empty for single-fragment messages
    std::string_view channel;   // "A", "B", "1", "2" or empty
    std::string_view payload;   // six-bit armoured characters
    unsigned fill_bits = 0;     // 0-5, meaningful in the last fragment
};

// Whether `s` is an AIS encapsulation sentence (VDM or VDO from any talker).
bool is_ais_sentence(const Sentence& s);

// nullopt when the fields do not make a fragment (count, number, fill or payload missing or out of range).
std::optional<Fragment> parse_fragment(const Sentence& s);

// A whole message's armoured payload; the view stays valid until the next call to add() or reset().
struct Payload {
    std::string_view armoured;
    unsigned fill_bits = 0;
};

class Reassembler {
public:
    // The longest message M.1371 allows is five slots (1,008 bits, 168 characters); a little slack.
    static constexpr std::size_t max_payload_chars = 176;

    explicit Reassembler(std::size_t max_in_progress = 16) : max_in_progress_(max_in_progress) {}

    // The complete message `fragment` finishes, or nullopt (more fragments to come, or dropped).
    std::optional<Payload> add(const Fragment& fragment);
    // The line closed: messages in progress are lost (counted).
    void reset();

    std::uint64_t dropped() const { return dropped_; }  // messages dropped for a broken fragment sequence
    std::size_t in_progress() const { return pending_.size(); }

private:
    struct Pending {
        std::string key;  // address, channel and sequential id
        unsigned count = 0;
        unsigned next = 0;  // the fragment number expected next
        std::string payload;
        std::uint64_t started = 0;  // for evicting the oldest when full
    };
    std::size_t max_in_progress_;
    std::vector<Pending> pending_;
    std::string complete_;
    std::uint64_t started_ = 0;
    std::uint64_t dropped_ = 0;
};

}  // namespace loopgate::nmea::ais
