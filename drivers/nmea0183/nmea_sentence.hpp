#pragma once
// One NMEA 0183 sentence, from its text to its address and fields: structure and checksum only.
//
// Pure and allocation-light: the fields are views into the caller's text, so the text must outlive the
// Sentence. Whether the sentence means anything is nmea_decode's business.

#include <cstdint>
#include <string_view>
#include <vector>

namespace loopgate::nmea {

enum class SentenceStatus {
    ok,
    bad_checksum,      // *hh present but does not match
    missing_checksum,  // no *hh and the caller did not allow that
    truncated,         // '*' with fewer than two characters after it: the end of the sentence was lost
    malformed,         // no start character, bad address, non-printable bytes, junk after *hh
};

struct Sentence {
    char start = '$';              // '$' (parametric) or '!' (encapsulated, e.g. AIS)
    std::string_view address;      // "GPGGA", "PGRME"
    std::string_view talker;       // "GP"; empty for proprietary sentences
    std::string_view type;         // "GGA"; for proprietary, everything after the 'P' ("GRME")
    bool proprietary = false;
    bool had_checksum = false;
    std::string_view text;         // the whole sentence as received, start character to checksum
    std::vector<std::string_view> fields;  // fields[0] is the address; data fields follow

    // Data field i (1-based like the NMEA tables); missing trailing fields read as empty, because
    // talkers routinely drop trailing empty fields and an empty field means "no value" anyway.
    std::string_view field(std::size_t i) const { return i < fields.size() ? fields[i] : std::string_view(); }
    std::size_t field_count() const { return fields.empty() ? 0 : fields.size() - 1; }
};

struct ParsedSentence {
    SentenceStatus status = SentenceStatus::malformed;
    Sentence sentence;  // meaningful only when status == ok
};

// XOR of the bytes between the start character and '*'.
std::uint8_t nmea_checksum(std::string_view body);

// `line` is one sentence without its CR/LF, starting at '$' or '!'.
ParsedSentence parse_sentence(std::string_view line, bool allow_missing_checksum);

}  // namespace loopgate::nmea
