#include "drivers/nmea0183/ais_receiver.hpp"

#include <string>

#include "drivers/nmea0183/ais_messages.hpp"
#include "drivers/nmea0183/ais_sixbit.hpp"

namespace loopgate::nmea::ais {

AisReceiver::AisReceiver(const AisSettings& s)
    : enabled_(s.enabled), track_online_(s.offline_after.has_value()), vessels_(s.max_vessels, s.offline_after) {}

void AisReceiver::on_sentence(const Sentence& sentence, const DriverClock& now, std::vector<Reading>& out) {
    if (!enabled_) {
        ++ignored_;
        return;
    }
    ++sentences_;
    auto fragment = parse_fragment(sentence);
    if (!fragment) {
        ++bad_fragment_;
        return;
    }
    auto payload = reassembler_.add(*fragment);
    if (!payload) return;
    auto bits = SixBits::from_armoured(payload->armoured, payload->fill_bits);
    if (!bits) {
        ++bad_payload_;
        return;
    }
    Message m = decode_message(*bits);
    switch (m.status) {
        case MessageStatus::bad_length: ++bad_length_; return;
        case MessageStatus::other_type: ++other_types_[m.type]; return;
        case MessageStatus::decoded: break;
    }
    ++messages_;
    const bool back = vessels_.heard(m.mmsi, now.steady);
    if (back && track_online_) online(m.mmsi, true, now.wall_ns, out);
    const std::string device = vessel_device(m.mmsi);
    const std::int64_t when = source_time(m, now.wall_ns);
    out.reserve(out.size() + m.readings.size());
    for (Reading& r : m.readings) {
        r.device = device;
        r.source_time_ns = when;
        r.receive_time_ns = now.wall_ns;
        out.push_back(std::move(r));
    }
}

void AisReceiver::on_timer(const DriverClock& now, std::vector<Reading>& out) {
    for (std::uint32_t mmsi : vessels_.expire(now.steady)) online(mmsi, false, now.wall_ns, out);
}

void AisReceiver::online(std::uint32_t mmsi, bool is_online, std::int64_t wall_ns, std::vector<Reading>& out) const {
    Reading r;
    r.device = vessel_device(mmsi);
    r.metric = "online";
    r.value = is_online;
    r.receive_time_ns = wall_ns;
    out.push_back(std::move(r));
}

void AisReceiver::add_counters(Counters& c) const {
    c["ais_sentences"] = sentences_;
    c["ais_messages"] = messages_;
    c["ais_bad_fragment"] = bad_fragment_;
    c["ais_bad_payload"] = bad_payload_;
    c["ais_bad_length"] = bad_length_;
    c["ais_incomplete"] = reassembler_.dropped();
    c["ais_vessels_forgotten"] = vessels_.forgotten();
    c["ais_ignored"] = ignored_;
    for (const auto& [type, n] : other_types_) c["ais_other_type_" + std::to_string(type)] = n;
}

}  // namespace loopgate::nmea::ais
