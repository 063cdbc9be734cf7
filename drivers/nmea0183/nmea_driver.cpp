#include "drivers/nmea0183/nmea_driver.hpp"

#include <algorithm>

#include "core/topic_name.hpp"
#include "drivers/nmea0183/ais_receiver.hpp"
#include "drivers/nmea0183/nmea_decimator.hpp"
#include "drivers/nmea0183/nmea_decode.hpp"
#include "drivers/nmea0183/nmea_framer.hpp"
#include "drivers/nmea0183/nmea_gsv.hpp"
#include "drivers/nmea0183/nmea_sentence.hpp"
#include "drivers/nmea0183/nmea_time.hpp"

namespace loopgate {

namespace {

struct NmeaSettings {
    std::string device;
    std::size_t max_length = 120;
    bool allow_missing_checksum = false;
    nmea::DecodeOptions decode;
    nmea::Decimator decimator;
    nmea::ais::AisSettings ais;
};

class NmeaDriver final : public Driver {
public:
    explicit NmeaDriver(NmeaSettings s)
        : device_(std::move(s.device)),
          allow_missing_checksum_(s.allow_missing_checksum),
          options_(s.decode),
          framer_(s.max_length),
          decimator_(std::move(s.decimator)),
          ais_(s.ais) {}

    void on_bytes(std::span<const std::uint8_t> bytes, const DriverClock& now, DriverOutput& out) override {
        framer_.feed(bytes, [&](std::string_view text) { on_sentence(text, now, out); });
        if (auto wake = ais_.wake_at()) out.wake_at = wake;
    }

    void on_timer(const DriverClock& now, DriverOutput& out) override {
        ais_.on_timer(now, out.readings);
        out.wake_at = ais_.wake_at();
    }

    void on_close(DriverOutput& /*out*/) override {
        framer_.reset();
        gsv_.reset();
        ais_.on_close();
        // The date stays: a reopened receiver is still on the same day, and the nearest-day rule
        // corrects a rollover that happened while the line was down.
    }

    std::vector<std::string> device_names() const override { return {device_}; }

    Counters counters() const override {
        const auto& f = framer_.counters();
        Counters c{{"sentences", sentences_},
                {"decoded", decoded_},
                {"bad_checksum", bad_checksum_},
                {"missing_checksum", missing_checksum_},
                {"malformed", malformed_},
                {"unknown_sentence", unknown_},
                {"proprietary", proprietary_},
                {"field_errors", field_errors_},
                {"garbage_bytes", f.garbage_bytes},
                {"truncated", f.truncated + truncated_},
                {"overlong", f.overlong},
                {"gsv_incomplete", gsv_.incomplete()},
                {"decimated", decimator_.dropped()},
                {"no_date", no_date_}};
        ais_.add_counters(c);
        return c;
    }

private:
    void on_sentence(std::string_view text, const DriverClock& now, DriverOutput& out) {
        nmea::ParsedSentence parsed = nmea::parse_sentence(text, allow_missing_checksum_);
        switch (parsed.status) {
            case nmea::SentenceStatus::bad_checksum: ++bad_checksum_; return;
            case nmea::SentenceStatus::missing_checksum: ++missing_checksum_; return;
            case nmea::SentenceStatus::malformed: ++malformed_; return;
            case nmea::SentenceStatus::truncated: ++truncated_; return;
            case nmea::SentenceStatus::ok: break;
        }
        ++sentences_;
        const nmea::Sentence& s = parsed.sentence;
        // AIS readings belong to the vessels heard (one device each), not to this port's device.
        if (nmea::ais::is_ais_sentence(s)) {
            ais_.on_sentence(s, now, out.readings);
            return;
        }
        nmea::Decoded d = nmea::decode_sentence(s, options_);
        field_errors_ += d.field_errors;
        if (s.proprietary) ++proprietary_;
        else if (!d.known) ++unknown_;
        else ++decoded_;

        std::optional<std::int64_t> source_time;
        if (d.time_of_day_ns) {
            if (d.day) source_time = dates_.dated(*d.day, *d.time_of_day_ns);
            else source_time = dates_.resolve(*d.time_of_day_ns);
            if (!source_time) ++no_date_;
        }
        if (d.gsv) {
            for (Reading& r : gsv_.add(*d.gsv)) d.readings.push_back(std::move(r));
        }
        for (Reading& r : d.readings) {
            if (!decimator_.admit(r.metric, now.steady)) continue;
            r.device = device_;
            r.source_time_ns = source_time;
            r.receive_time_ns = now.wall_ns;
            out.readings.push_back(std::move(r));
        }
    }

    std::string device_;
    bool allow_missing_checksum_;
    nmea::DecodeOptions options_;
    nmea::NmeaFramer framer_;
    nmea::Decimator decimator_;
    nmea::GsvAssembler gsv_;
    nmea::DateTracker dates_;
    nmea::ais::AisReceiver ais_;
    std::uint64_t sentences_ = 0;
    std::uint64_t decoded_ = 0;
    std::uint64_t bad_checksum_ = 0;
    std::uint64_t missing_checksum_ = 0;
    std::uint64_t malformed_ = 0;
    std::uint64_t truncated_ = 0;  // cut before the checksum ended; the framer counts the other cuts
    std::uint64_t unknown_ = 0;
    std::uint64_t proprietary_ = 0;
    std::uint64_t field_errors_ = 0;
    std::uint64_t no_date_ = 0;
};

bool decimatable(const std::string& metric) {
    const auto& names = nmea::static_metric_names();
    if (std::find(names.begin(), names.end(), metric) != names.end()) return true;
    for (const char* family : {"xdr.", "sky.", "proprietary."})
        if (metric.starts_with(family) && metric.size() > std::char_traits<char>::length(family)) return true;
    return false;
}

}  // namespace

std::unique_ptr<Driver> make_nmea_driver(const DriverSpec& spec) {
    const ConfigNode& s = spec.settings;
    s.allow_only({"proprietary", "max_length", "allow_missing_checksum", "speed_knots", "decimate", "ais"});

    NmeaSettings settings;
    auto devices = spec.devices.items();
    if (devices.size() > 1)
        spec.devices.fail("the nmea0183 driver serves one device per port; list at most one device with a name");
    if (devices.size() == 1) {
        devices[0].allow_only({"name", "report", "offline_after_silence", "labels", "descriptions"});  // all but name: the gateway's (report stage, catalog)
        settings.device = devices[0].str("name");
        require_topic_name(devices[0].need("name"), settings.device);
        if (devices[0]["offline_after_silence"].present())
            settings.ais.offline_after = std::chrono::milliseconds(devices[0]["offline_after_silence"].as_millis());
    } else {
        settings.device = spec.port.name.empty() ? "nmea" : spec.port.name;
    }

    settings.decode.pass_proprietary = s.choice("proprietary", {"pass", "ignore"}, "ignore") == "pass";
    // 82 is the standard's limit, but real receivers exceed it (long GSV with signal ids, vendor text).
    settings.max_length = static_cast<std::size_t>(s.integer("max_length", 16, 4096, 120));
    settings.allow_missing_checksum = s.boolean("allow_missing_checksum", false);
    settings.decode.speed_knots = s.boolean("speed_knots", false);

    ConfigNode ais = s["ais"];
    if (ais.present()) {
        if (ais.is_map()) {
            ais.allow_only({"max_vessels"});
            settings.ais.max_vessels = static_cast<std::size_t>(ais.integer("max_vessels", 1, 1'000'000, 2000));
        } else {
            settings.ais.enabled = s.boolean("ais", true);
        }
    }

    ConfigNode dec = s["decimate"];
    if (dec.present()) {
        if (!dec.is_map()) dec.fail("expected a map of metric: interval (and optionally default: interval)");
        std::map<std::string, std::chrono::milliseconds> per_metric;
        std::chrono::milliseconds fallback{0};
        ConfigErrors errors;  // every bad metric, not just the first
        for (const auto& kv : dec.yaml()) errors.check([&] {
            std::string metric = kv.first.Scalar();
            ConfigNode value = dec[metric];
            std::int64_t ms = value.as_millis(1000);  // a bare number is seconds
            if (ms < 0) value.fail("interval must not be negative");
            if (metric == "default") {
                fallback = std::chrono::milliseconds(ms);
                return;
            }
            if (!decimatable(metric))
                value.fail("unknown metric '" + metric +
                           "'; use a metric name from drivers/nmea0183/README.md, an xdr./sky./proprietary. metric, "
                           "or default");
            per_metric[metric] = std::chrono::milliseconds(ms);
        });
        errors.throw_if_any();
        settings.decimator = nmea::Decimator(std::move(per_metric), fallback);
    }
    return std::make_unique<NmeaDriver>(std::move(settings));
}

}  // namespace loopgate
