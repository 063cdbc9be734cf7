
#include "drivers/modbus_rtu/modbus_driver.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <utility>

#include "core/reading_json.hpp"
#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/modbus_rtu/modbus_pdu.hpp"
#include "drivers/modbus_rtu/point_map.hpp"
#include "drivers/modbus_rtu/poll_scheduler.hpp"

namespace loopgate {

namespace {

using namespace modbus;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Writes waiting for the line, per port: a command source faster than the bus is refused, not buffered.
constexpr std::size_t kMaxQueuedWrites = 64;
// A monitor that never sees a frame end must not grow without bound.
constexpr std::size_t kMaxMonitorBuffer = 4096;
constexpr nanoseconds kUtilizationWindow = std::chrono::seconds(10);

struct Settings {
    bool monitor = false;
    milliseconds response_timeout{500};
    milliseconds turnaround_delay{100};
    int retries = 1;
    std::uint16_t max_gap = 10;
    std::uint16_t max_bit_gap = 64;
    int offline_after = 3;
    std::optional<nanoseconds> frame_gap;
};

struct PointState {
    std::optional<Value> last_good;
    bool confirm_next = false;  // a write completed: the next answer confirms it
};

struct DeviceState {
    std::optional<bool> online;  // unknown until the first answer or the first offline verdict
    int consecutive_failures = 0;
    std::vector<PointState> points;
};

struct Transaction {
    // read_back: the verify step of a write, a read of the written point that completes the write.
    enum Kind { poll, write, read_back } kind = poll;
    std::size_t device = 0;
    const PollBlock* block = nullptr;
    Request request;  // what was asked, to check the answer against
    std::vector<std::uint8_t> adu;
    int attempts = 0;
    bool broadcast = false;
    // write and read_back: the command's completion id, the point, what was written and confirmed.
    std::uint64_t write_id = 0;
    std::size_t point = 0;
    bool verify = false;
    Value value;
    std::vector<std::uint16_t> words;
    std::optional<Value> echoed;
};

class ModbusDriver final : public Driver {
public:
    ModbusDriver(const PortInfo& port, Settings s, std::vector<Device> devices)
        : settings_(s), devices_(std::move(devices)) {
        // Modbus over Serial Line V1.02, 2.5.1.1: t1.5 and t3.5 scale with the character time up to
        // 19200 baud and are fixed at 750 us / 1750 us above, where UARTs cannot time them anyway.
        unsigned baud = port.baud ? port.baud : 9600;
        double bits = port.bits_per_char() > 0 ? port.bits_per_char() : 11;
        char_time_ = nanoseconds(static_cast<std::int64_t>(std::llround(bits * 1e9 / baud)));
        t35_ = baud > 19200 ? nanoseconds(1'750'000) : nanoseconds(char_time_.count() * 7 / 2);
        silence_ = settings_.frame_gap ? std::max(*settings_.frame_gap, t35_) : t35_;
        raw_ = devices_.empty();
        states_.resize(devices_.size());
        for (std::size_t d = 0; d < devices_.size(); ++d) {
            states_[d].points.resize(devices_[d].points.size());
            if (devices_[d].broadcast) continue;
            scheduler_.add_device(d, milliseconds(devices_[d].poll_interval_ms),
                                  plan_blocks(devices_[d], d, settings_.max_gap, settings_.max_bit_gap));
        }
    }

    void on_open(const DriverClock& now, DriverOutput& out) override {
        opened_ = true;
        phase_ = Phase::idle;
        rx_.clear();
        mon_.clear();
        pending_.reset();
        // The line may have been busy before we opened it: give it one silence before speaking.
        last_rx_ = now.steady;
        tx_end_ = now.steady;
        window_start_ = now.steady;
        window_busy_ = {};
        scheduler_.start(now.steady);
        pump(now, out);
    }

    void on_close(DriverOutput& out) override {
        opened_ = false;
        phase_ = Phase::idle;  // an interrupted poll is sent again after the reopen
        rx_.clear();
        mon_.clear();
        pending_.reset();
        // A write does not wait for a reopen that may never come: whoever asked learns now.
        if (current_ && current_->kind != Transaction::poll) {
            ++write_failed_;
            complete(out, *current_, WriteOutcome::line_closed, "the line closed before the device answered");
            current_.reset();
        }
        for (const Transaction& t : writes_) {
            ++write_failed_;
            complete(out, t, WriteOutcome::line_closed,
                     t.kind == Transaction::read_back ? "the line closed before the write was read back"
                                                      : "the line closed before the write was sent");
        }
        writes_.clear();
    }

    void on_bytes(std::span<const std::uint8_t> bytes, const DriverClock& now, DriverOutput& out) override {
        // Without on_open nothing drives the line (the decode command feeds a capture): decode passively.
        if (settings_.monitor || !opened_) {
            monitor_bytes(bytes, now, out);
            return;
        }
        expire(now, out);
        last_rx_ = now.steady;
        if (phase_ == Phase::awaiting) {
            rx_.insert(rx_.end(), bytes.begin(), bytes.end());
            take_response(now, out);
        } else {
            // Nobody was asked: line noise, another master, or a late reply after a timeout.
            noise_bytes_ += bytes.size();
            if (phase_ == Phase::idle && current_) phase_ = Phase::draining;
        }
        pump(now, out);
    }

    void on_timer(const DriverClock& now, DriverOutput& out) override {
        if (settings_.monitor || !opened_) {
            if (opened_ && !mon_.empty() && now.steady >= last_rx_ + silence_) scan_monitor(now, out, true);
            if (opened_ && !mon_.empty()) set_wake(out, last_rx_ + silence_);
            return;
        }
        expire(now, out);
        pump(now, out);
    }

    WriteResult write_point(const WriteRequest& request, const DriverClock& now, DriverOutput& out) override {
        const std::string& device = request.device;
        const std::string& point = request.point;
        if (settings_.monitor) return {false, "the modbus-rtu driver is in monitor mode and never writes to the bus", false};
        auto dit = std::find_if(devices_.begin(), devices_.end(), [&](const Device& d) { return d.name == device; });
        if (dit == devices_.end()) return {false, "no device '" + device + "' on this port", false};
        auto pit = std::find_if(dit->points.begin(), dit->points.end(), [&](const Point& p) { return p.name == point; });
        if (pit == dit->points.end()) return {false, "device '" + device + "' has no point '" + point + "'", false};
        const Point& p = *pit;
        if (!p.writable)
            return {false, "point '" + point + "' of device '" + device + "' is not writable (writable: true in the point map)", false};
        std::string error;
        auto words = encode_for_write(p, request.value, error);
        if (!words) {
            ++write_refused_;
            return {false, error, false};
        }
        if (request.verify && dit->broadcast) {
            ++write_refused_;
            return {false, "device '" + device + "' is a broadcast: nobody answers, so a write to it cannot be verified", false};
        }
        if (!opened_) return {false, "port closed", false};
        if (writes_.size() >= kMaxQueuedWrites) {
            ++write_refused_;
            return {false, "the write queue of this port is full (" + std::to_string(kMaxQueuedWrites) + " writes)", true};
        }
        Transaction t;
        t.kind = Transaction::write;
        t.device = static_cast<std::size_t>(dit - devices_.begin());
        t.broadcast = dit->broadcast;
        t.write_id = request.id;
        t.point = static_cast<std::size_t>(pit - dit->points.begin());
        t.verify = request.verify;
        t.value = request.value;
        t.words = *words;
        Request& q = t.request;
        q.unit = dit->unit;
        q.address = p.address;
        q.count = p.count();
        if (p.table == Table::coil) {
            q.function = fc::write_single_coil;
            q.bits = {(*words)[0] != 0};
            t.adu = build_write_single_coil(q.unit, q.address, q.bits[0]);
        } else if (words->size() == 1) {
            q.function = fc::write_single_register;
            q.registers = *words;
            t.adu = build_write_single_register(q.unit, q.address, q.registers[0]);
        } else {
            q.function = fc::write_multiple_registers;
            q.registers = *words;
            t.adu = build_write_multiple_registers(q.unit, q.address, q.registers);
        }
        writes_.push_back(std::move(t));
        ++writes_queued_;
        // On an idle line the write leaves now (after the frame gap), not at the next poll.
        pump(now, out);
        return {true, {}, false};
    }

    bool has_device(const std::string& device) const override {
        return std::any_of(devices_.begin(), devices_.end(), [&](const Device& d) { return d.name == device; });
    }

    std::vector<std::string> device_names() const override {
        std::vector<std::string> names;
        for (const Device& d : devices_) names.push_back(d.name);
        return names;
    }

    std::vector<MetricPolicy> report_policies() const override {
        std::vector<MetricPolicy> out;
        for (const Device& d : devices_)
            for (const Point& p : d.points)
                if (!p.report.empty()) out.push_back({d.name, p.name, p.report});
        return out;
    }

    Counters counters() const override {
        std::uint64_t online = 0, offline = 0;
        for (const DeviceState& s : states_) {
            if (s.online == true) ++online;
            if (s.online == false) ++offline;
        }
        return {{"requests_sent", requests_sent_},
                {"retries", retries_},
                {"responses_ok", responses_ok_},
                {"exceptions", exceptions_},
                {"timeouts", timeouts_},
                {"crc_errors", crc_errors_},
                {"wrong_unit", wrong_unit_},
                {"malformed_responses", malformed_},
                {"truncated_frames", truncated_},
                {"noise_bytes", noise_bytes_},
                {"write_queued", writes_queued_},
                {"write_ok", write_ok_},
                {"write_failed", write_failed_},
                {"write_refused", write_refused_},
                {"devices_online", online},
                {"devices_offline", offline},
                {"poll_overruns", scheduler_.overruns()},
                {"bus_busy_permille", busy_permille_},
                {"poll_load_permille", scheduler_.planned_load_permille(char_time_, silence_)},
                {"monitor_requests", monitor_requests_},
                {"monitor_responses", monitor_responses_},
                {"unmatched_responses", unmatched_},
                {"unknown_unit", unknown_unit_}};
    }

private:
    enum class Phase { idle, awaiting, draining, turnaround };

    static void set_wake(DriverOutput& out, SteadyTime t) {
        out.wake_at = out.wake_at ? std::min(*out.wake_at, t) : t;
    }

    // ---- master: the one transaction on the wire ----------------------------------------------

    void pump(const DriverClock& now, DriverOutput& out) {
        if (!opened_) return;
        for (;;) {
            switch (phase_) {
                case Phase::awaiting:
                    set_wake(out, rx_.empty() ? deadline_ : std::min(deadline_, last_rx_ + silence_));
                    return;
                case Phase::draining:
                    if (now.steady < last_rx_ + silence_) {
                        set_wake(out, last_rx_ + silence_);
                        return;
                    }
                    phase_ = Phase::idle;
                    break;
                case Phase::turnaround:
                    if (now.steady < turnaround_end_) {
                        set_wake(out, turnaround_end_);
                        return;
                    }
                    // Nobody answers a broadcast: having sent it is all the confirmation there is.
                    ++write_ok_;
                    account_busy(now.steady);
                    complete(out, *current_, WriteOutcome::ok, {});
                    current_.reset();
                    phase_ = Phase::idle;
                    break;
                case Phase::idle: {
                    if (!current_) current_ = take_next(now.steady);
                    if (!current_) {
                        auto due = scheduler_.next_due();
                        if (due) set_wake(out, *due);
                        return;
                    }
                    SteadyTime earliest = std::max(last_rx_, tx_end_) + silence_;
                    if (now.steady < earliest) {
                        set_wake(out, earliest);
                        return;
                    }
                    send(now, out);
                    break;
                }
            }
        }
    }

    std::optional<Transaction> take_next(SteadyTime now) {
        if (!writes_.empty()) {  // commands go ahead of polls
            Transaction t = std::move(writes_.front());
            writes_.pop_front();
            return t;
        }
        const PollBlock* b = scheduler_.next(now);
        if (!b) return std::nullopt;
        Transaction t;
        t.device = b->device;
        t.block = b;
        t.request.unit = devices_[b->device].unit;
        t.request.function = read_function(b->table);
        t.request.address = b->address;
        t.request.count = b->count;
        t.adu = build_read_request(t.request.unit, b->table, b->address, b->count);
        return t;
    }

    void send(const DriverClock& now, DriverOutput& out) {
        Transaction& t = *current_;
        out.to_write.insert(out.to_write.end(), t.adu.begin(), t.adu.end());
        if (t.attempts > 0) ++retries_;
        ++t.attempts;
        ++requests_sent_;
        rx_.clear();
        busy_since_ = now.steady;
        // The session writes at once, but the bytes need their time on the wire before anyone can answer.
        tx_end_ = now.steady + char_time_ * static_cast<std::int64_t>(t.adu.size());
        if (t.broadcast) {
            phase_ = Phase::turnaround;
            turnaround_end_ = tx_end_ + settings_.turnaround_delay;
        } else {
            phase_ = Phase::awaiting;
            deadline_ = tx_end_ + settings_.response_timeout;
        }
    }

    // Ends a transaction whose time is up: no answer, or an answer that stopped half-way.
    void expire(const DriverClock& now, DriverOutput& out) {
        if (phase_ != Phase::awaiting) return;
        if (!rx_.empty() && now.steady >= last_rx_ + silence_) {
            ++truncated_;
            noise_bytes_ += rx_.size();
            rx_.clear();
            fail_current(now, out, Phase::idle);
        } else if (now.steady >= deadline_) {
            if (rx_.empty()) {
                ++timeouts_;
                fail_current(now, out, Phase::idle);
            } else {
                // Bytes still trickling in at the deadline: too late; let them finish before speaking.
                ++timeouts_;
                noise_bytes_ += rx_.size();
                rx_.clear();
                fail_current(now, out, Phase::draining);
            }
        }
    }

    void take_response(const DriverClock& now, DriverOutput& out) {
        while (!rx_.empty() && phase_ == Phase::awaiting) {
            FrameSize size = response_size(rx_);
            if (size.status == FrameSize::need_more || (size.status == FrameSize::known && rx_.size() < size.length)) return;
            std::string error;
            std::optional<Response> r;
            if (size.status == FrameSize::known) r = parse_response(std::span(rx_).first(size.length), error);
            if (!r) {
                if (error == "bad CRC") ++crc_errors_;
                else ++malformed_;
                resync(now, out);
                return;
            }
            if (r->unit != current_->request.unit) {
                // Another slave answered (address clash, or a late reply to an earlier request): skip
                // exactly that frame and keep waiting for ours until the deadline.
                ++wrong_unit_;
                rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(size.length));
                continue;
            }
            if (!response_matches(current_->request, *r, error) && !echoes_other_value(current_->request, *r)) {
                ++malformed_;
                resync(now, out);
                return;
            }
            if (rx_.size() > size.length) {
                noise_bytes_ += rx_.size() - size.length;
                phase_ = Phase::draining;
            } else {
                phase_ = Phase::idle;
            }
            rx_.clear();
            complete_current(*r, now, out);
        }
    }

    // FC 05/06 answers echo the value the device holds after the write (pymodbus reads it back; so
    // do devices that clamp or lock a register): a different value there is an answer, not noise.
    static bool echoes_other_value(const Request& q, const Response& r) {
        return (q.function == fc::write_single_coil || q.function == fc::write_single_register) &&
               r.unit == q.unit && r.function == q.function && !r.exception && r.address == q.address;
    }

    // Whatever arrived cannot be trusted to start a frame: drop it and everything up to the next
    // 3.5-character silence, the only frame boundary RTU guarantees.
    void resync(const DriverClock& now, DriverOutput& out) {
        noise_bytes_ += rx_.size();
        rx_.clear();
        fail_current(now, out, Phase::draining);
    }

    void fail_current(const DriverClock& now, DriverOutput& out, Phase next) {
        phase_ = next;
        Transaction& t = *current_;
        account_busy(now.steady);
        // An offline device gets one try per poll: retrying it only takes bus time from live ones.
        bool offline = states_[t.device].online == false && t.kind == Transaction::poll;
        if (t.attempts < 1 + settings_.retries && !offline) return;  // stays current: sent again after the silence
        std::size_t device = t.device;
        if (t.kind != Transaction::poll) {
            ++write_failed_;
            complete(out, t, WriteOutcome::timeout,
                     std::string(t.kind == Transaction::read_back ? "no valid answer to the read-back after "
                                                                  : "no valid answer after ") +
                         std::to_string(t.attempts) + (t.attempts == 1 ? " try" : " tries"));
            current_.reset();
            return;
        }
        current_.reset();
        DeviceState& s = states_[device];
        ++s.consecutive_failures;
        if (s.consecutive_failures >= settings_.offline_after && s.online != false) {
            s.online = false;
            emit_online(device, false, now, out);
            for (std::size_t i = 0; i < devices_[device].points.size(); ++i)
                report_bad(device, i, "device offline", now, out);
        }
        if (s.online == false) scheduler_.skip_rest_of_cycle(device);
    }

    void complete_current(const Response& r, const DriverClock& now, DriverOutput& out) {
        Transaction t = std::move(*current_);
        current_.reset();
        account_busy(now.steady);
        DeviceState& s = states_[t.device];
        s.consecutive_failures = 0;
        if (s.online != true) {
            s.online = true;
            emit_online(t.device, true, now, out);
        }
        if (r.exception) ++exceptions_;
        else ++responses_ok_;
        if (t.kind != Transaction::poll) {
            finish_write(std::move(t), r, now, out);
            return;
        }
        if (r.exception) {
            for (std::size_t i : t.block->points) report_bad(t.device, i, exception_name(r.exception_code), now, out);
            return;
        }
        deliver(t.device, t.block->table, t.block->address, r.registers, r.bits, t.block->points, now, out);
    }

    // A write the device answered: done, or (verify) followed at once by a read of the point.
    void finish_write(Transaction t, const Response& r, const DriverClock& now, DriverOutput& out) {
        const Point& p = devices_[t.device].points[t.point];
        if (r.exception) {
            ++write_failed_;
            std::string name = exception_name(r.exception_code);
            complete(out, t, WriteOutcome::device_exception,
                     t.kind == Transaction::read_back ? "reading back: " + name : name, &now, r.exception_code);
            if (t.kind == Transaction::write) scheduler_.poll_soon(t.device, now.steady);
            return;
        }
        if (t.kind == Transaction::write) {
            // FC 05/06 echo the value; FC 16 echoes address and quantity, confirming the words sent.
            std::optional<std::uint16_t> expected;  // what an FC 05/06 echo must say
            if (r.function == fc::write_single_coil) {
                t.echoed = decode_bit(p, r.value == 0xFF00).value;
                expected = t.words.at(0) ? 0xFF00 : 0x0000;
            } else if (r.function == fc::write_single_register) {
                t.echoed = decode_registers(p, std::span(&r.value, 1)).value;
                expected = t.words.at(0);
            } else {
                t.echoed = decode_registers(p, t.words).value;
            }
            if (expected && r.value != *expected) {
                ++write_failed_;
                complete(out, t, WriteOutcome::verify_mismatch,
                         "the device answered holding " + value_text(*t.echoed) + ", wrote " + value_text(t.value), &now);
                scheduler_.poll_soon(t.device, now.steady);
                return;
            }
            if (t.verify) {
                writes_.push_front(read_back_of(std::move(t)));  // before any other write or poll
                return;
            }
            ++write_ok_;
            complete(out, t, WriteOutcome::ok, {}, &now);
            states_[t.device].points[t.point].confirm_next = true;
            scheduler_.poll_soon(t.device, now.steady);  // read back what the device made of it
            return;
        }
        // response_matches() has checked the quantity against the request for the point.
        const bool bit = is_bit_table(p.table);
        Decoded held = bit ? decode_bit(p, r.bits[0]) : decode_registers(p, std::span(r.registers).first(p.count()));
        // The read-back is a measurement like any other, reported even when unchanged: it is what
        // confirms a Sparkplug DCMD (a DDATA with the point's new value).
        report(t.device, t.point, held, now, out, true);
        const bool same = bit ? r.bits[0] == (t.words.at(0) != 0)
                              : std::equal(t.words.begin(), t.words.end(), r.registers.begin());
        WriteCompletion& c = complete(out, t, same ? WriteOutcome::ok : WriteOutcome::verify_mismatch,
                                      same ? std::string() : "read back " + value_text(held.value) + ", wrote " + value_text(t.value),
                                      &now);
        c.read_back = held.value;
        ++(same ? write_ok_ : write_failed_);
    }

    Transaction read_back_of(Transaction t) const {
        const Point& p = devices_[t.device].points[t.point];
        Transaction r = std::move(t);
        r.kind = Transaction::read_back;
        r.attempts = 0;
        r.request = Request{};
        r.request.unit = devices_[r.device].unit;
        r.request.function = read_function(p.table);
        r.request.address = p.address;
        r.request.count = p.count();
        r.adu = build_read_request(r.request.unit, p.table, p.address, p.count());
        return r;
    }

    static WriteCompletion& complete(DriverOutput& out, const Transaction& t, WriteOutcome outcome, std::string error,
                                     const DriverClock* answered = nullptr, int exception_code = 0) {
        WriteCompletion& c = out.completions.emplace_back();
        c.id = t.write_id;
        c.outcome = outcome;
        c.error = std::move(error);
        c.exception_code = exception_code;
        c.echoed = t.echoed;
        c.device_time_ns = answered ? answered->wall_ns : 0;
        return c;
    }

    void account_busy(SteadyTime now) {
        if (now > busy_since_) window_busy_ += now - busy_since_;
        busy_since_ = now;
        nanoseconds elapsed = now - window_start_;
        if (elapsed >= kUtilizationWindow) {
            busy_permille_ = static_cast<std::uint64_t>(std::min<std::int64_t>(1000, window_busy_.count() * 1000 / elapsed.count()));
            window_start_ = now;
            window_busy_ = {};
        }
    }

    // ---- readings -------------------------------------------------------------------------------

    void deliver(std::size_t device, Table table, std::uint16_t address, const std::vector<std::uint16_t>& regs,
                 const std::vector<bool>& bits, const std::vector<std::size_t>& points, const DriverClock& now,
                 DriverOutput& out) {
        out.readings.reserve(out.readings.size() + points.size());
        for (std::size_t i : points) {
            const Point& p = devices_[device].points[i];
            std::size_t at = p.address - address;
            if (is_bit_table(table)) {
                if (at < bits.size()) report(device, i, decode_bit(p, bits[at]), now, out);
            } else if (at + p.count() <= regs.size()) {
                report(device, i, decode_registers(p, std::span(regs).subspan(at, p.count())), now, out);
            }
        }
    }

    // Every answer is reported: deadband and report_on_change are the report stage's (gateway/report/),
    // which has the driver's settings through report_policies(). `always`, and the first answer after
    // a write, are marked for the stage never to hold back: they confirm the write (a Sparkplug DCMD
    // is confirmed by a DDATA with the point's new value).
    void report(std::size_t device, std::size_t i, const Decoded& d, const DriverClock& now, DriverOutput& out,
                bool always = false) {
        const Point& p = devices_[device].points[i];
        PointState& s = states_[device].points[i];
        if (d.quality == Quality::good) s.last_good = d.value;
        out.readings.push_back(reading(devices_[device].name, p.name, d.value, p.unit, d.quality, d.reason, now));
        out.readings.back().always_report = always || std::exchange(s.confirm_next, false);
    }

    // Bad quality still carries a value (the reading has no empty one): the last good value, or the
    // type's zero when there never was one. Consumers must look at quality first.
    void report_bad(std::size_t device, std::size_t i, const std::string& reason, const DriverClock& now, DriverOutput& out) {
        const Point& p = devices_[device].points[i];
        const PointState& s = states_[device].points[i];
        report(device, i, Decoded{s.last_good ? *s.last_good : zero_value(p), Quality::bad, reason}, now, out);
    }

    void emit_online(std::size_t device, bool online, const DriverClock& now, DriverOutput& out) {
        out.readings.push_back(reading(devices_[device].name, "online", online, "", Quality::good, "", now));
    }

    static Reading reading(const std::string& device, const std::string& metric, Value v, const std::string& unit,
                           Quality q, const std::string& reason, const DriverClock& now) {
        Reading r;
        r.device = device;
        r.metric = metric;
        r.value = std::move(v);
        r.unit = unit;
        r.quality = q;
        r.quality_reason = reason;
        r.receive_time_ns = now.wall_ns;
        return r;
    }

    // ---- monitor: another master's transactions -----------------------------------------------

    void monitor_bytes(std::span<const std::uint8_t> bytes, const DriverClock& now, DriverOutput& out) {
        // On a live line a silence ends whatever frame was in progress; a capture fed without
        // on_open carries no timing, and there only frame sizes and CRCs delimit frames.
        if (opened_ && !mon_.empty() && now.steady >= last_rx_ + silence_) scan_monitor(now, out, true);
        last_rx_ = now.steady;
        mon_.insert(mon_.end(), bytes.begin(), bytes.end());
        scan_monitor(now, out, false);
        if (mon_.size() > kMaxMonitorBuffer) {
            std::size_t drop = mon_.size() - kMaxMonitorBuffer;
            noise_bytes_ += drop;
            mon_.erase(mon_.begin(), mon_.begin() + static_cast<std::ptrdiff_t>(drop));
        }
        if (opened_ && !mon_.empty()) set_wake(out, last_rx_ + silence_);
    }

    // Splits the buffer into requests and responses. Both directions share the wire and RTU frames
    // carry no direction, so each position is tried as both; the CRC decides, and the request last
    // seen decides which to try first. A position that is neither is one byte of noise.
    void scan_monitor(const DriverClock& now, DriverOutput& out, bool final) {
        std::size_t pos = 0;
        while (pos < mon_.size()) {
            std::span<const std::uint8_t> b = std::span(mon_).subspan(pos);
            bool prefer_response = pending_ && b.size() >= 2 && b[0] == pending_->unit && (b[1] & 0x7F) == pending_->function;
            int first = try_frame(b, prefer_response, pos, now, out);
            if (first == 1) continue;
            int second = try_frame(b, !prefer_response, pos, now, out);
            if (second == 1) continue;
            if ((first == 0 || second == 0) && !final) break;
            ++pos;
            ++noise_bytes_;
        }
        mon_.erase(mon_.begin(), mon_.begin() + static_cast<std::ptrdiff_t>(pos));
        if (final) {
            noise_bytes_ += mon_.size();
            mon_.clear();
        }
    }

    // 1: a frame was taken; 0: could be one, more bytes needed; -1: not this kind of frame.
    int try_frame(std::span<const std::uint8_t> b, bool as_response, std::size_t& pos, const DriverClock& now,
                  DriverOutput& out) {
        FrameSize size = as_response ? response_size(b) : request_size(b);
        if (size.status == FrameSize::invalid) return -1;
        if (size.status == FrameSize::need_more || b.size() < size.length) return 0;
        auto frame = b.first(size.length);
        if (!crc_ok(frame)) return -1;
        std::string error;
        if (as_response) {
            auto r = parse_response(frame, error);
            if (!r) return -1;
            pos += size.length;
            monitor_response(*r, now, out);
        } else {
            auto q = parse_request(frame, error);
            if (!q) return -1;
            pos += size.length;
            ++monitor_requests_;
            pending_ = q->unit == kBroadcastUnit ? std::nullopt : std::optional<Request>(std::move(*q));
        }
        return 1;
    }

    void monitor_response(const Response& r, const DriverClock& now, DriverOutput& out) {
        ++monitor_responses_;
        std::string error;
        if (!pending_ || !response_matches(*pending_, r, error)) {
            ++unmatched_;
            pending_.reset();
            return;
        }
        Request q = std::move(*pending_);
        pending_.reset();
        auto table = table_of_function(q.function);
        if (!table) return;
        if (r.exception) ++exceptions_;
        else ++responses_ok_;
        // A confirmed write tells the value as well as a read does.
        const bool write = q.function == fc::write_single_coil || q.function == fc::write_single_register ||
                           q.function == fc::write_multiple_coils || q.function == fc::write_multiple_registers;
        std::vector<std::uint16_t> regs = write ? q.registers : r.registers;
        std::vector<bool> bits = write ? q.bits : r.bits;
        if (bits.size() > q.count) bits.resize(q.count);

        if (raw_) {
            std::string device = "unit-" + std::to_string(q.unit);
            for (std::uint32_t i = 0; i < q.count; ++i) {
                std::string metric = std::string(table_name(*table)) + "_" + std::to_string(q.address + i);
                if (r.exception) {
                    Value zero{std::in_place_type<std::int64_t>, 0};
                    if (is_bit_table(*table)) zero.emplace<bool>(false);
                    out.readings.push_back(reading(device, metric, std::move(zero), "", Quality::bad,
                                                   exception_name(r.exception_code), now));
                } else if (is_bit_table(*table)) {
                    if (i < bits.size()) out.readings.push_back(reading(device, metric, bool(bits[i]), "", Quality::good, "", now));
                } else if (i < regs.size()) {
                    out.readings.push_back(reading(device, metric, std::int64_t{regs[i]}, "", Quality::good, "", now));
                }
            }
            return;
        }
        auto dit = std::find_if(devices_.begin(), devices_.end(),
                                [&](const Device& d) { return !d.broadcast && d.unit == q.unit; });
        if (dit == devices_.end()) {
            ++unknown_unit_;
            return;
        }
        std::size_t device = static_cast<std::size_t>(dit - devices_.begin());
        std::vector<std::size_t> points;
        for (std::size_t i = 0; i < dit->points.size(); ++i) {
            const Point& p = dit->points[i];
            if (p.table == *table && p.address >= q.address &&
                std::uint32_t{p.address} + p.count() <= std::uint32_t{q.address} + q.count)
                points.push_back(i);
        }
        if (r.exception) {
            for (std::size_t i : points) report_bad(device, i, exception_name(r.exception_code), now, out);
            return;
        }
        deliver(device, *table, q.address, regs, bits, points, now, out);
    }

    Settings settings_;
    std::vector<Device> devices_;
    std::vector<DeviceState> states_;
    PollScheduler scheduler_;
    bool raw_ = false;
    nanoseconds char_time_{};
    nanoseconds t35_{};
    nanoseconds silence_{};

    bool opened_ = false;
    Phase phase_ = Phase::idle;
    std::optional<Transaction> current_;
    std::deque<Transaction> writes_;
    std::vector<std::uint8_t> rx_;
    SteadyTime last_rx_{};
    SteadyTime tx_end_{};
    SteadyTime deadline_{};
    SteadyTime turnaround_end_{};

    std::vector<std::uint8_t> mon_;
    std::optional<Request> pending_;

    SteadyTime busy_since_{};
    SteadyTime window_start_{};
    nanoseconds window_busy_{};
    std::uint64_t busy_permille_ = 0;

    std::uint64_t requests_sent_ = 0, retries_ = 0, responses_ok_ = 0, exceptions_ = 0, timeouts_ = 0;
    std::uint64_t crc_errors_ = 0, wrong_unit_ = 0, malformed_ = 0, truncated_ = 0, noise_bytes_ = 0;
    std::uint64_t writes_queued_ = 0, write_ok_ = 0, write_failed_ = 0, write_refused_ = 0;
    std::uint64_t monitor_requests_ = 0, monitor_responses_ = 0, unmatched_ = 0, unknown_unit_ = 0;
};

Settings parse_settings(const ConfigNode& s) {
    s.allow_only({"mode", "response_timeout", "turnaround_delay", "retries", "max_gap", "max_bit_gap", "offline_after",
                  "frame_gap"});
    Settings out;
    out.monitor = s.choice("mode", {"master", "monitor"}, "master") == "monitor";
    auto duration = [&](const char* key, std::int64_t def, std::int64_t lo, std::int64_t hi) {
        std::int64_t ms = s.millis(key, def);
        if (ms < lo || ms > hi)
            s.need(key).fail(std::string(key) + " must be between " + std::to_string(lo) + "ms and " + std::to_string(hi) + "ms");
        return milliseconds(ms);
    };
    out.response_timeout = duration("response_timeout", 500, 1, 60'000);
    out.turnaround_delay = duration("turnaround_delay", 100, 0, 60'000);
    out.retries = static_cast<int>(s.integer("retries", 0, 10, 1));
    out.max_gap = static_cast<std::uint16_t>(s.integer("max_gap", 0, kMaxReadRegisters - 1, 10));
    out.max_bit_gap = static_cast<std::uint16_t>(s.integer("max_bit_gap", 0, kMaxReadBits - 1, 64));
    out.offline_after = static_cast<int>(s.integer("offline_after", 1, 1000, 3));
    if (s["frame_gap"].present() && s["frame_gap"].as_string() != "auto")
        out.frame_gap = nanoseconds(duration("frame_gap", 0, 1, 1000));
    return out;
}

}  // namespace

std::unique_ptr<Driver> make_modbus_driver(const DriverSpec& spec) {
    if (!spec.settings.present() && !spec.devices.present()) {
        Settings monitor;
        monitor.monitor = true;
        return std::make_unique<ModbusDriver>(spec.port, monitor, std::vector<Device>{});
    }
    Settings s;
    std::vector<Device> devices;
    ConfigErrors errors;  // the settings' problems and the devices' are reported together
    bool settings_ok = errors.check([&] { s = parse_settings(spec.settings); });
    errors.check([&] { devices = parse_devices(spec.devices); });
    errors.throw_if_any();
    if (settings_ok && !s.monitor && devices.empty()) {
        const char* what = "list at least one device for the master to poll (or set mode: monitor)";
        // An absent key's node cannot point at itself; the settings beside it can.
        if (spec.devices.present()) spec.devices.fail(what);
        spec.settings.fail(std::string("no devices: ") + what);
    }
    return std::make_unique<ModbusDriver>(spec.port, s, std::move(devices));
}

}  // namespace loopgate
