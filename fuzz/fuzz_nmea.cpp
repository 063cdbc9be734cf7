// Feeds arbitrary bytes through the nmea0183 driver (framing, checksum, decoding, GSV assembly,
// dates, decimation) and, line by line, straight into the sentence parser and decoder with every
// option, so the decoder is also exercised on input whose checksum would never match.
#include <cstdint>
#include <map>
#include <span>
#include <string_view>

#include "drivers/nmea0183/nmea_decode.hpp"
#include "drivers/nmea0183/nmea_driver.hpp"
#include "drivers/nmea0183/nmea_sentence.hpp"

using namespace loopgate;

namespace {

// Fresh drivers per input keep runs reproducible; the YAML is parsed once, it is the slow part.
std::unique_ptr<Driver> make(const char* yaml) {
    static std::map<const char*, ConfigNode> roots;
    auto it = roots.find(yaml);
    if (it == roots.end()) it = roots.emplace(yaml, ConfigNode::load_string(yaml, "fuzz.yaml")).first;
    PortInfo port;
    port.name = "fuzz";
    DriverSpec spec{port, it->second["settings"], it->second["devices"]};
    return make_nmea_driver(spec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto plain = make("{}");
    auto lax = make(
        "settings: {proprietary: pass, allow_missing_checksum: true, speed_knots: true, max_length: 200,"
        " decimate: {latitude: 1s, default: 10ms}}");
    std::span<const std::uint8_t> bytes(data, size);
    std::int64_t ms = 0;
    // Whole, then in uneven chunks with advancing time.
    for (Driver* d : {plain.get(), lax.get()}) {
        DriverOutput out;
        d->on_bytes(bytes, {SteadyTime(std::chrono::milliseconds(ms)), ms}, out);
        for (std::size_t pos = 0, n = 1; pos < size; pos += n, n = n % 13 + 1) {
            ms += 7;
            d->on_bytes(bytes.subspan(pos, std::min(n, size - pos)), {SteadyTime(std::chrono::milliseconds(ms)), ms},
                        out);
        }
        DriverOutput closed;
        d->on_close(closed);
        (void)d->counters();
    }

    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        for (bool allow : {false, true}) {
            nmea::ParsedSentence p = nmea::parse_sentence(line, allow);
            if (p.status != nmea::SentenceStatus::ok) continue;
            (void)nmea::decode_sentence(p.sentence, {true, true});
        }
        // Random bytes almost never carry a matching checksum; strip it so the decoder sees them.
        if (!line.empty() && (line[0] == '$' || line[0] == '!')) {
            std::string body(line);
            if (auto star = body.find('*'); star != std::string::npos) body.resize(star);
            nmea::ParsedSentence p = nmea::parse_sentence(body, true);
            if (p.status == nmea::SentenceStatus::ok) (void)nmea::decode_sentence(p.sentence, {false, false});
        }
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return 0;
}
