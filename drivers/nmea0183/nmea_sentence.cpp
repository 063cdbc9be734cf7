#include "drivers/nmea0183/nmea_sentence.hpp"

namespace loopgate::nmea {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // the standard says upper case; some talkers differ
    return -1;
}

bool is_address_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

}  // namespace

std::uint8_t nmea_checksum(std::string_view body) {
    std::uint8_t sum = 0;
    for (char c : body) sum ^= static_cast<std::uint8_t>(c);
    return sum;
}

ParsedSentence parse_sentence(std::string_view line, bool allow_missing_checksum) {
    ParsedSentence out;
    // Trailing blanks are padding some talkers add after the checksum; they carry nothing.
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty() || (line.front() != '$' && line.front() != '!')) return out;
    for (char c : line)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return out;

    Sentence& s = out.sentence;
    s.start = line.front();
    s.text = line;
    std::string_view body = line.substr(1);
    std::size_t star = body.find('*');
    if (star != std::string_view::npos) {
        std::string_view sum = body.substr(star + 1);
        if (sum.size() < 2) {
            out.status = SentenceStatus::truncated;
            return out;
        }
        if (sum.size() != 2) return out;
        int hi = hex_value(sum[0]);
        int lo = hex_value(sum[1]);
        if (hi < 0 || lo < 0) return out;
        body = body.substr(0, star);
        s.had_checksum = true;
        if (nmea_checksum(body) != static_cast<std::uint8_t>(hi * 16 + lo)) {
            out.status = SentenceStatus::bad_checksum;
            return out;
        }
    } else if (!allow_missing_checksum) {
        out.status = SentenceStatus::missing_checksum;
        return out;
    }

    std::size_t start = 0;
    while (true) {
        std::size_t comma = body.find(',', start);
        if (comma == std::string_view::npos) {
            s.fields.push_back(body.substr(start));
            break;
        }
        s.fields.push_back(body.substr(start, comma - start));
        start = comma + 1;
    }
    s.address = s.fields.front();
    if (s.address.size() < 2 || s.address.size() > 16) return out;
    for (char c : s.address)
        if (!is_address_char(c)) return out;
    if (s.address.front() == 'P') {
        s.proprietary = true;
        s.type = s.address.substr(1);
    } else {
        // A standard address is a two-letter talker and a sentence formatter of three (or more) letters.
        if (s.address.size() < 5) return out;
        s.talker = s.address.substr(0, 2);
        s.type = s.address.substr(2);
    }
    out.status = SentenceStatus::ok;
    return out;
}

}  // namespace loopgate::nmea
