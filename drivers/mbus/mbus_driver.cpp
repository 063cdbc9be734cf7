// The bus master: one request on the line at a time, the 11-bit-times idle rule before every
// request, SND_NKE before a device's first readout (and after any readout left unfinished),
// selection by secondary address, REQ_UD2 with the FCB toggled after each answered request and kept
// on a repeat, multi-telegram answers up to max_telegrams, retries, offline_after.

#include "drivers/mbus/mbus_driver.hpp"

#include <algorithm>
#include <utility>

#include "drivers/mbus/mbus_config.hpp"
#include "drivers/mbus/mbus_frame.hpp"
#include "drivers/mbus/mbus_readings.hpp"
#include "drivers/mbus/mbus_record.hpp"

namespace loopgate {

namespace {

using namespace mbus;
using std::chrono::nanoseconds;

// An answer longer than the longest frame is noise or several slaves at once.
constexpr std::size_t kMaxBuffer = 4096;

enum class Step { nke, select, request };

struct DeviceState {
    std::optional<bool> online;
    int consecutive_failures = 0;
    bool needs_reset = true;  // SND_NKE before the next readout: after open, or a readout cut short
    bool fcb = true;          // the FCB of the next new REQ_UD2 (EN 13757-2: the first after SND_NKE is 1)
    SteadyTime next_due{};
    std::string id;           // identification number learned from the answers
};

struct Transaction {
    std::size_t device = 0;
    std::vector<Step> steps;  // what is left of this readout
    std::vector<std::uint8_t> bytes;
    int attempts = 0;
    int telegrams = 0;
};

class MbusDriver final : public Driver {
public:
    MbusDriver(const PortInfo& port, Settings s, std::vector<DeviceConfig> devices)
        : settings_(s), timing_(bus_timing(port, s)), devices_(std::move(devices)), states_(devices_.size()) {}

    void on_open(const DriverClock& now, DriverOutput& out) override {
        opened_ = true;
        awaiting_ = false;
        rx_.clear();
        current_.reset();
        // The line may have been busy before we opened it: one idle gap before speaking.
        last_rx_ = tx_end_ = now.steady;
        for (DeviceState& st : states_) {
            st.needs_reset = true;
            st.next_due = now.steady;
        }
        pump(now, out);
    }

    void on_close(DriverOutput& /*out*/) override {
        opened_ = false;
        awaiting_ = false;
        rx_.clear();
        current_.reset();  // a readout cut by the close starts again after the reopen
    }

    void on_bytes(std::span<const std::uint8_t> bytes, const DriverClock& now, DriverOutput& out) override {
        if (!opened_ || devices_.empty()) {
            passive_bytes(bytes, now, out);
            return;
        }
        expire(now, out);
        last_rx_ = now.steady;
        if (awaiting_) {
            rx_.insert(rx_.end(), bytes.begin(), bytes.end());
            take_answer(now, out);
        } else {
            noise_bytes_ += bytes.size();  // nobody was asked: another master, or a late answer
        }
        pump(now, out);
    }

    void on_timer(const DriverClock& now, DriverOutput& out) override {
        if (!opened_ || devices_.empty()) return;
        expire(now, out);
        pump(now, out);
    }

    bool has_device(const std::string& device) const override {
        auto names = device_names();
        return std::find(names.begin(), names.end(), device) != names.end();
    }

    std::vector<std::string> device_names() const override {
        std::vector<std::string> names;
        for (std::size_t d = 0; d < devices_.size(); ++d) {
            std::string n = name_of(d);
            if (!n.empty()) names.push_back(n);
        }
        for (const std::string& n : passive_devices_) names.push_back(n);
        return names;
    }

    Counters counters() const override {
        std::uint64_t online = 0, offline = 0;
        for (const DeviceState& s : states_) {
            if (s.online == true) ++online;
            if (s.online == false) ++offline;
        }
        return {{"requests_sent", requests_sent_},
                {"retries", retries_},
                {"telegrams_ok", telegrams_ok_},
                {"acks", acks_},
                {"timeouts", timeouts_},
                {"bad_frames", bad_frames_},
                {"truncated_frames", truncated_},
                {"malformed_telegrams", malformed_},
                {"application_errors", application_errors_},
                {"wrong_meter", wrong_meter_},
                {"unexpected_frames", unexpected_},
                {"echo_bytes", echo_bytes_},
                {"noise_bytes", noise_bytes_},
                {"manufacturer_bytes", manufacturer_bytes_},
                {"manufacturer_records", manufacturer_records_},
                {"invalid_values", invalid_values_},
                {"telegrams_capped", capped_},
                {"poll_overruns", overruns_},
                {"devices_online", online},
                {"devices_offline", offline}};
    }

private:
    static void set_wake(DriverOutput& out, SteadyTime t) { out.wake_at = out.wake_at ? std::min(*out.wake_at, t) : t; }

    std::string name_of(std::size_t d) const {
        if (!devices_[d].name.empty()) return devices_[d].name;
        if (!states_[d].id.empty()) return "mbus-" + states_[d].id;
        return {};
    }

    // ---- the one transaction on the wire -------------------------------------------------------

    void pump(const DriverClock& now, DriverOutput& out) {
        if (!opened_) return;
        if (awaiting_) {
            set_wake(out, rx_.empty() ? deadline_ : std::min(deadline_, last_rx_ + timing_.frame_silence));
            return;
        }
        if (!current_) current_ = next_readout(now.steady);
        if (!current_) {
            auto due = std::min_element(states_.begin(), states_.end(),
                                        [](const DeviceState& a, const DeviceState& b) { return a.next_due < b.next_due; });
            if (due != states_.end()) set_wake(out, due->next_due);
            return;
        }
        SteadyTime earliest = std::max(last_rx_, tx_end_) + timing_.idle_gap;
        if (now.steady < earliest) {
            set_wake(out, earliest);
            return;
        }
        send(now, out);
        set_wake(out, deadline_);
    }

    std::optional<Transaction> next_readout(SteadyTime now) {
        std::optional<std::size_t> pick;
        for (std::size_t d = 0; d < devices_.size(); ++d)
            if (states_[d].next_due <= now && (!pick || states_[d].next_due < states_[*pick].next_due)) pick = d;
        if (!pick) return std::nullopt;
        const std::size_t d = *pick;
        DeviceState& st = states_[d];
        // The next readout is due one interval after this one was; a bus too slow for the plan
        // skips ahead rather than queueing readouts back to back.
        st.next_due += devices_[d].poll_interval;
        if (st.next_due <= now) {
            ++overruns_;
            st.next_due = now + devices_[d].poll_interval;
        }
        Transaction t;
        t.device = d;
        const bool secondary = !devices_[d].secondary.empty();
        // A selected secondary slave answers SND_NKE to FDh (which also deselects it): select again after.
        if (st.needs_reset) t.steps = secondary ? std::vector<Step>{Step::select, Step::nke} : std::vector<Step>{Step::nke};
        if (secondary) t.steps.push_back(Step::select);
        t.steps.push_back(Step::request);
        return t;
    }

    std::uint8_t address_of(std::size_t d) const {
        return devices_[d].secondary.empty() ? *devices_[d].address : kAddressNetworkLayer;
    }

    void send(const DriverClock& now, DriverOutput& out) {
        Transaction& t = *current_;
        const std::size_t d = t.device;
        switch (t.steps.front()) {
            case Step::nke: t.bytes = build_short(kSndNke, address_of(d)); break;
            case Step::select: {
                char id[9];
                std::copy_n(devices_[d].secondary.c_str(), 9, id);
                t.bytes = build_select_secondary(id);
                break;
            }
            case Step::request:
                t.bytes = build_short(static_cast<std::uint8_t>(kReqUd2 | (states_[d].fcb ? kFcb : 0)), address_of(d));
                break;
        }
        out.to_write.insert(out.to_write.end(), t.bytes.begin(), t.bytes.end());
        if (t.attempts > 0) ++retries_;
        ++t.attempts;
        ++requests_sent_;
        rx_.clear();
        awaiting_ = true;
        tx_end_ = now.steady + timing_.char_time * static_cast<std::int64_t>(t.bytes.size());
        deadline_ = tx_end_ + timing_.response_timeout;
    }

    // Ends an exchange whose time is up: no answer, or an answer that stopped half-way.
    void expire(const DriverClock& now, DriverOutput& out) {
        if (!awaiting_) return;
        if (!rx_.empty() && now.steady >= last_rx_ + timing_.frame_silence) {
            ++truncated_;
            noise_bytes_ += rx_.size();
            fail_step(now, out);
        } else if (now.steady >= deadline_ && rx_.empty()) {
            ++timeouts_;
            fail_step(now, out);
        } else if (now.steady >= deadline_ + timing_.char_time * 261) {
            // Still trickling in long after any frame could have ended.
            ++truncated_;
            noise_bytes_ += rx_.size();
            fail_step(now, out);
        }
    }

    void take_answer(const DriverClock& now, DriverOutput& out) {
        while (awaiting_ && !rx_.empty()) {
            FrameScan scan = scan_frame(rx_);
            if (scan.status == FrameScan::need_more) {
                if (rx_.size() > kMaxBuffer) {
                    ++bad_frames_;
                    noise_bytes_ += rx_.size();
                    fail_step(now, out);
                }
                return;
            }
            if (scan.status == FrameScan::invalid) {
                // A bad checksum, a collision of two slaves, or noise before the answer: skip a byte
                // and look for a frame start after it.
                ++noise_bytes_;
                if (rx_[0] == kStart || rx_[0] == kShortStart) ++bad_frames_;
                rx_.erase(rx_.begin());
                continue;
            }
            auto bytes = std::span<const std::uint8_t>(rx_).first(scan.length);
            Frame f = parse_frame(bytes);
            // Level converters without echo cancellation hand us our own request first: frames from
            // a master (PRM bit 40h set) are never an answer.
            if (f.kind != FrameKind::ack && (f.control & 0x40)) {
                echo_bytes_ += scan.length;
                rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(scan.length));
                continue;
            }
            std::vector<std::uint8_t> frame(bytes.begin(), bytes.end());
            rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(scan.length));
            noise_bytes_ += rx_.size();  // anything after the answer is not ours
            rx_.clear();
            awaiting_ = false;
            answer(parse_frame(frame), now, out);
            return;
        }
    }

    void answer(const Frame& f, const DriverClock& now, DriverOutput& out) {
        Transaction& t = *current_;
        const Step step = t.steps.front();
        if (step != Step::request) {
            if (f.kind != FrameKind::ack) {
                ++unexpected_;
                fail_step(now, out);
                return;
            }
            ++acks_;
            if (step == Step::nke) {
                states_[t.device].needs_reset = false;
                states_[t.device].fcb = true;
            }
            next_step(now, out);
            return;
        }
        if (f.kind != FrameKind::long_frame || (f.control & 0xCF) != kRspUd) {
            ++unexpected_;
            fail_step(now, out);
            return;
        }
        const DeviceConfig& cfg = devices_[t.device];
        if (cfg.address && f.address != *cfg.address) {
            ++wrong_meter_;
            fail_step(now, out);
            return;
        }
        DecodeResult r = decode_user_data(f.ci, f.data);
        if (!r.telegram) {
            ++malformed_;
            fail_step(now, out);
            return;
        }
        const Telegram& tg = *r.telegram;
        if (!cfg.secondary.empty() && tg.header.has_id && tg.header.id != cfg.secondary) {
            ++wrong_meter_;  // two meters answered to one selection, or a stale one
            fail_step(now, out);
            return;
        }
        DeviceState& st = states_[t.device];
        st.fcb = !st.fcb;  // answered: the next REQ_UD2 asks for the next telegram
        if (tg.header.has_id) st.id = tg.header.id;
        succeeded(t.device, now, out);
        if (tg.application_error) {
            ++application_errors_;
        } else {
            ++telegrams_ok_;
            deliver(t.device, tg, now, out);
        }
        ++t.telegrams;
        if (tg.more_records_follow) {
            if (t.telegrams < cfg.max_telegrams) {
                t.attempts = 0;  // the next telegram: a new request with the toggled FCB
                pump(now, out);
                return;
            }
            ++capped_;
            st.needs_reset = true;  // start at the first telegram next time
        }
        current_.reset();
    }

    void next_step(const DriverClock& now, DriverOutput& out) {
        Transaction& t = *current_;
        t.steps.erase(t.steps.begin());
        t.attempts = 0;
        if (t.steps.empty()) current_.reset();
        pump(now, out);
    }

    void fail_step(const DriverClock& now, DriverOutput& out) {
        awaiting_ = false;
        rx_.clear();
        Transaction& t = *current_;
        DeviceState& st = states_[t.device];
        // An offline meter gets one try per poll: retrying it only takes bus time from live ones.
        if (t.attempts < 1 + settings_.retries && st.online != false) return;  // sent again (same FCB) after the gap
        std::size_t d = t.device;
        current_.reset();
        st.needs_reset = true;  // whatever the meter's FCB state is now, SND_NKE resets it
        ++st.consecutive_failures;
        if (st.consecutive_failures >= settings_.offline_after && st.online != false) {
            st.online = false;
            emit_online(d, false, now, out);
        }
    }

    void succeeded(std::size_t d, const DriverClock& now, DriverOutput& out) {
        DeviceState& st = states_[d];
        st.consecutive_failures = 0;
        if (st.online != true) {
            st.online = true;
            emit_online(d, true, now, out);
        }
    }

    void emit_online(std::size_t d, bool online, const DriverClock& now, DriverOutput& out) {
        std::string name = name_of(d);
        if (name.empty()) name = "mbus-a" + std::to_string(*devices_[d].address);
        Reading r;
        r.device = name;
        r.metric = "online";
        r.value = online;
        r.receive_time_ns = now.wall_ns;
        out.readings.push_back(std::move(r));
    }

    // ---- readings -------------------------------------------------------------------------------

    void count(const Telegram& t) {
        manufacturer_bytes_ += t.manufacturer_bytes;
        manufacturer_records_ += t.manufacturer_records + t.manufacturer_vife_records;
    }

    void deliver(std::size_t d, const Telegram& t, const DriverClock& now, DriverOutput& out) {
        count(t);
        const DeviceConfig& cfg = devices_[d];
        std::string device = cfg.name;
        if (device.empty()) device = device_name(t, "mbus-a" + std::to_string(cfg.address.value_or(0)));
        emit(t, device, cfg.points, now, out);
    }

    void emit(const Telegram& t, const std::string& device, const std::vector<PointSelect>& points,
              const DriverClock& now, DriverOutput& out) {
        auto names = record_metrics(t);
        for (std::size_t i = 0; i < t.records.size(); ++i) {
            if (names[i].empty()) continue;
            const Record& rec = t.records[i];
            std::string metric = names[i];
            if (!points.empty()) {
                auto p = std::find_if(points.begin(), points.end(), [&](const PointSelect& p) {
                    return p.vif == rec.meaning.metric && p.storage == rec.storage && p.tariff == rec.tariff &&
                           p.subunit == rec.subunit && p.function == rec.function;
                });
                if (p == points.end()) continue;
                if (!p->name.empty()) metric = p->name;
            }
            Reading r;
            r.device = device;
            r.metric = metric;
            fill_reading(rec, r);
            if (r.quality != Quality::good) ++invalid_values_;
            r.receive_time_ns = now.wall_ns;
            out.readings.push_back(std::move(r));
        }
    }

    // ---- passive: a capture (decode command) -----------------------------------------------------

    void passive_bytes(std::span<const std::uint8_t> bytes, const DriverClock& now, DriverOutput& out) {
        mon_.insert(mon_.end(), bytes.begin(), bytes.end());
        std::size_t pos = 0;
        while (pos < mon_.size()) {
            auto b = std::span<const std::uint8_t>(mon_).subspan(pos);
            FrameScan scan = scan_frame(b);
            if (scan.status == FrameScan::need_more) break;
            if (scan.status == FrameScan::invalid) {
                if (b[0] == kStart || b[0] == kShortStart) ++bad_frames_;
                ++noise_bytes_;
                ++pos;
                continue;
            }
            Frame f = parse_frame(b.first(scan.length));
            pos += scan.length;
            if (f.kind == FrameKind::ack) {
                ++acks_;
                continue;
            }
            if (f.control & 0x40) {
                echo_bytes_ += scan.length;  // a master's request
                continue;
            }
            if (f.kind != FrameKind::long_frame) continue;
            DecodeResult r = decode_user_data(f.ci, f.data);
            if (!r.telegram) {
                ++malformed_;
                continue;
            }
            if (r.telegram->application_error) {
                ++application_errors_;
                continue;
            }
            ++telegrams_ok_;
            count(*r.telegram);
            // A capture decoded with a config: a configured meter keeps its name and points.
            const Telegram& tg = *r.telegram;
            auto cfg = std::find_if(devices_.begin(), devices_.end(), [&](const DeviceConfig& c) {
                return tg.header.has_id ? c.secondary == tg.header.id || (c.address == f.address && c.secondary.empty())
                                        : c.address == f.address;
            });
            std::string device = device_name(tg, "mbus-a" + std::to_string(f.address));
            if (cfg != devices_.end() && !cfg->name.empty()) device = cfg->name;
            if (std::find(passive_devices_.begin(), passive_devices_.end(), device) == passive_devices_.end() &&
                passive_devices_.size() < 1000)
                passive_devices_.push_back(device);
            emit(tg, device, cfg != devices_.end() ? cfg->points : std::vector<PointSelect>{}, now, out);
        }
        mon_.erase(mon_.begin(), mon_.begin() + static_cast<std::ptrdiff_t>(pos));
        if (mon_.size() > kMaxBuffer) {
            noise_bytes_ += mon_.size();
            mon_.clear();
        }
    }

    Settings settings_;
    BusTiming timing_;
    std::vector<DeviceConfig> devices_;
    std::vector<DeviceState> states_;

    bool opened_ = false;
    bool awaiting_ = false;
    std::optional<Transaction> current_;
    std::vector<std::uint8_t> rx_;
    SteadyTime last_rx_{};
    SteadyTime tx_end_{};
    SteadyTime deadline_{};

    std::vector<std::uint8_t> mon_;
    std::vector<std::string> passive_devices_;

    std::uint64_t requests_sent_ = 0, retries_ = 0, telegrams_ok_ = 0, acks_ = 0, timeouts_ = 0, bad_frames_ = 0;
    std::uint64_t truncated_ = 0, malformed_ = 0, application_errors_ = 0, wrong_meter_ = 0, unexpected_ = 0;
    std::uint64_t echo_bytes_ = 0, noise_bytes_ = 0, manufacturer_bytes_ = 0, manufacturer_records_ = 0;
    std::uint64_t invalid_values_ = 0, capped_ = 0, overruns_ = 0;
};

}  // namespace

std::unique_ptr<Driver> make_mbus_driver(const DriverSpec& spec) {
    if (!spec.settings.present() && !spec.devices.present())
        return std::make_unique<MbusDriver>(spec.port, Settings{}, std::vector<DeviceConfig>{});
    Settings s;
    std::vector<DeviceConfig> devices;
    ConfigErrors errors;
    bool settings_ok = errors.check([&] { s = parse_settings(spec.settings, spec.port); });
    errors.check([&] { devices = parse_devices(spec.devices, s, spec.port); });
    errors.throw_if_any();
    if (settings_ok && devices.empty()) {
        const char* what = "list at least one meter for the master to poll (address: or secondary:)";
        if (spec.devices.present()) spec.devices.fail(what);
        spec.settings.fail(std::string("no devices: ") + what);
    }
    return std::make_unique<MbusDriver>(spec.port, s, std::move(devices));
}

}  // namespace loopgate
