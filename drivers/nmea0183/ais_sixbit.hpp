#pragma once
// The AIS payload armour (ITU-R M.1371 via IEC 61162-1 / the AIVDM description): each printable
// character of a !--VDM/!--VDO payload carries six message bits; the last sentence's fill bits are
// padding that is not part of the message. Pure: a view over the caller's characters, no copy.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loopgate::nmea::ais {

// The six bits an armour character carries, or -1 for a character outside the alphabet
// ('0'-'W' and '`'-'w').
int armour_value(char c);

class SixBits {
public:
    // nullopt when a character is outside the armour alphabet or the fill is not 0-5 or longer than
    // the payload.
    static std::optional<SixBits> from_armoured(std::string_view payload, unsigned fill_bits);

    std::size_t size() const { return bits_; }

    // Unsigned and two's-complement fields of up to 32 bits, most significant bit first. Bits past the
    // end read as zero, as M.1371 pads a short slot.
    std::uint32_t u(std::size_t start, unsigned width) const;
    std::int32_t s(std::size_t start, unsigned width) const;

    // Six-bit text: up to `chars` characters, ending at the first '@' (the standard's padding), with
    // trailing spaces removed.
    std::string text(std::size_t start, std::size_t chars) const;
    // The same without removing trailing spaces (type 21 joins its name extension before trimming).
    std::string text_untrimmed(std::size_t start, std::size_t chars) const;

private:
    SixBits(std::string_view payload, std::size_t bits) : payload_(payload), bits_(bits) {}

    std::string_view payload_;
    std::size_t bits_ = 0;
};

// Removes trailing spaces (and '@', the padding) in place.
void trim_padding(std::string& text);

}  // namespace loopgate::nmea::ais
