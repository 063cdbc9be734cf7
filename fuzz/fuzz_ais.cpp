// Feeds arbitrary bytes to the AIS decoder three ways: as sentences through the nmea0183 driver (with a
// tiny vessel bound and a silence limit, so forgetting and going offline run too), line by line through
// fragment parsing and reassembly without the checksum (random bytes almost never match one), and the
// whole input as one armoured payload straight into the message decoder with every fill.
#include <cstdint>
#include <span>
#include <string_view>

#include "drivers/nmea0183/ais_messages.hpp"
#include "drivers/nmea0183/ais_reassembly.hpp"
#include "drivers/nmea0183/ais_sixbit.hpp"
#include "drivers/nmea0183/nmea_driver.hpp"
#include "drivers/nmea0183/nmea_sentence.hpp"

using namespace loopgate;

namespace {

std::unique_ptr<Driver> make_driver() {
    static const ConfigNode root = ConfigNode::load_string(
        "settings: {ais: {max_vessels: 3}, max_length: 400}\ndevices: [{name: own, offline_after_silence: 1s}]",
        "fuzz.yaml");
    PortInfo port;
    port.name = "fuzz";
    DriverSpec spec{port, root["settings"], root["devices"]};
    return make_nmea_driver(spec);
}

void decode_armoured(std::string_view payload) {
    for (unsigned fill = 0; fill < 6; ++fill) {
        auto bits = nmea::ais::SixBits::from_armoured(payload, fill);
        if (!bits) continue;
        nmea::ais::Message m = nmea::ais::decode_message(*bits);
        (void)nmea::ais::source_time(m, 1'700'000'000'000'000'000);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> bytes(data, size);
    auto driver = make_driver();
    std::int64_t ms = 0;
    for (std::size_t pos = 0, n = 1; pos < size; pos += n, n = n % 17 + 1) {
        ms += 300;
        DriverClock now{SteadyTime(std::chrono::milliseconds(ms)), ms * 1'000'000};
        DriverOutput out;
        driver->on_bytes(bytes.subspan(pos, std::min(n, size - pos)), now, out);
        if (out.wake_at) driver->on_timer(now, out);
    }
    DriverOutput closed;
    driver->on_close(closed);
    (void)driver->counters();

    std::string_view text(reinterpret_cast<const char*>(data), size);
    nmea::ais::Reassembler reassembler(4);
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        std::string line(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (auto star = line.find('*'); star != std::string::npos) line.resize(star);
        nmea::ParsedSentence p = nmea::parse_sentence(line, true);
        if (p.status == nmea::SentenceStatus::ok && nmea::ais::is_ais_sentence(p.sentence)) {
            if (auto f = nmea::ais::parse_fragment(p.sentence)) {
                if (auto payload = reassembler.add(*f)) decode_armoured(payload->armoured);
            }
        }
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    reassembler.reset();

    decode_armoured(text.substr(0, nmea::ais::Reassembler::max_payload_chars));
    return 0;
}
