#include "drivers/modbus/modbus_master.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <utility>

#include "core/reading_json.hpp"
#include "drivers/modbus/master_framing.hpp"
#include "drivers/modbus/point_readings.hpp"
#include "drivers/modbus/poll_scheduler.hpp"

namespace loopgate::modbus {

namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Writes waiting for the line, per port: a command source faster than the bus is refused, not buffered.
constexpr std::size_t kMaxQueuedWrites = 64;
constexpr nanoseconds kUtilizationWindow = std::chrono::seconds(10);

struct DeviceState {
    std::optional<bool> online;  // unknown until the first answer or the first offline verdict
    int consecutive_failures = 0;
};

struct Transaction {
    // read_back: the verify step of a write, a read of the written point that completes the write.
    enum Kind { poll, write, read_back } kind = poll;
    std::size_t device = 0;
    const PollBlock* block = nullptr;
    Request request;  // what was asked, to check the answer against
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

class ModbusMaster final : public Driver {
public:
    ModbusMaster(std::unique_ptr<MasterFraming> framing, MasterSettings s, std::vector<Device> devices,
                 std::unique_ptr<Driver> passive)
        : settings_(s), framing_(std::move(framing)), passive_(std::move(passive)), points_(std::move(devices)) {
        states_.resize(points_.devices().size());
        for (std::size_t d = 0; d < points_.devices().size(); ++d) {
            const Device& dev = points_.device(d);
            if (dev.broadcast) continue;
            scheduler_.add_device(d, milliseconds(dev.poll_interval_ms),
                                  plan_blocks(dev, d, settings_.max_gap, settings_.max_bit_gap));
        }
    }

    void on_open(const DriverClock& now, DriverOutput& out) override {
        opened_ = true;
        framing_->discard();
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
        framing_->discard();
        // An interrupted poll is sent again after the reopen; a write does not wait for a reopen
        // that may never come: whoever asked learns now.
        for (InFlight& f : in_flight_) {
            if (f.t.kind == Transaction::poll) {
                again_.push_front(std::move(f.t));
                continue;
            }
            ++write_failed_;
            complete(out, f.t, WriteOutcome::line_closed, "the line closed before the device answered");
        }
        in_flight_.clear();
        if (ready_) {
            again_.push_front(std::move(*ready_));
            ready_.reset();
        }
        std::deque<Transaction> polls;
        for (Transaction& t : again_) {
            if (t.kind == Transaction::poll) {
                polls.push_back(std::move(t));
                continue;
            }
            ++write_failed_;
            complete(out, t, WriteOutcome::line_closed, "the line closed before the device answered");
        }
        again_ = std::move(polls);
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
        if (!opened_) {
            if (passive_) passive_->on_bytes(bytes, now, out);
            else noise_bytes_ += bytes.size();
            return;
        }
        expire(now, out);
        last_rx_ = now.steady;
        std::vector<Received> frames;
        noise_bytes_ += framing_->receive(bytes, frames);
        for (Received& r : frames) take_answer(r, now, out);
        // On a serial line nothing is an answer while no request is out: whatever is half-received is noise.
        if (in_flight_.empty() && !framing_->tags_answers()) noise_bytes_ += framing_->discard();
        pump(now, out);
    }

    void on_timer(const DriverClock& now, DriverOutput& out) override {
        if (!opened_) return;
        expire(now, out);
        pump(now, out);
    }

    WriteResult write_point(const WriteRequest& request, const DriverClock& now, DriverOutput& out) override {
        const std::string& device = request.device;
        const std::string& point = request.point;
        auto found = points_.device_named(device);
        if (!found) return {false, "no device '" + device + "' on this port", false};
        const Device& dev = points_.device(*found);
        auto pit = std::find_if(dev.points.begin(), dev.points.end(), [&](const Point& p) { return p.name == point; });
        if (pit == dev.points.end()) return {false, "device '" + device + "' has no point '" + point + "'", false};
        const Point& p = *pit;
        if (!p.writable)
            return {false, "point '" + point + "' of device '" + device + "' is not writable (writable: true in the point map)", false};
        std::string error;
        auto words = encode_for_write(p, request.value, error);
        if (!words) {
            ++write_refused_;
            return {false, error, false};
        }
        if (request.verify && dev.broadcast) {
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
        t.device = *found;
        t.broadcast = dev.broadcast;
        t.write_id = request.id;
        t.point = static_cast<std::size_t>(pit - dev.points.begin());
        t.verify = request.verify;
        t.value = request.value;
        t.words = *words;
        t.request = write_request(dev.unit, p.table, p.address, *words);
        writes_.push_back(std::move(t));
        ++writes_queued_;
        // On an idle line the write leaves now (after the frame gap), not at the next poll.
        pump(now, out);
        return {true, {}, false};
    }

    bool has_device(const std::string& device) const override { return points_.device_named(device).has_value(); }
    std::vector<std::string> device_names() const override { return points_.device_names(); }
    std::vector<MetricPolicy> report_policies() const override { return points_.report_policies(); }

    Counters counters() const override {
        std::uint64_t online = 0, offline = 0;
        for (const DeviceState& s : states_) {
            if (s.online == true) ++online;
            if (s.online == false) ++offline;
        }
        Counters c{{"requests_sent", requests_sent_},
                   {"retries", retries_},
                   {"responses_ok", responses_ok_},
                   {"exceptions", exceptions_},
                   {"timeouts", timeouts_},
                   {"wrong_unit", wrong_unit_},
                   {"malformed_responses", malformed_},
                   {"noise_bytes", noise_bytes_},
                   {"write_queued", writes_queued_},
                   {"write_ok", write_ok_},
                   {"write_failed", write_failed_},
                   {"write_refused", write_refused_},
                   {"devices_online", online},
                   {"devices_offline", offline},
                   {"poll_overruns", scheduler_.overruns()},
                   {"bus_busy_permille", busy_permille_}};
        if (auto serial = framing_->serial_timing()) {
            c["crc_errors"] = crc_errors_;
            c["truncated_frames"] = truncated_;
            c["poll_load_permille"] = scheduler_.planned_load_permille(serial->char_time, serial->silence);
        }
        if (framing_->tags_answers()) c["stale_responses"] = stale_responses_;
        // What the master decoded of a capture fed without on_open (the decode command).
        if (passive_)
            for (const auto& [name, value] : passive_->counters()) c[name] += value;
        return c;
    }

private:
    // A request on the wire: its transaction id and when its time is up (for a broadcast: when the
    // turnaround delay has passed, which is all the confirmation a broadcast gets).
    struct InFlight {
        Transaction t;
        std::uint16_t transaction_id = 0;
        SteadyTime deadline{};
        bool damaged = false;  // a damaged frame came while it waited (counted when it came)
    };

    static void set_wake(DriverOutput& out, SteadyTime t) {
        out.wake_at = out.wake_at ? std::min(*out.wake_at, t) : t;
    }

    // ---- the transactions on the wire --------------------------------------------------------------

    void pump(const DriverClock& now, DriverOutput& out) {
        if (!opened_) return;
        for (;;) {
            if (in_flight_.size() >= framing_->max_in_flight()) break;
            if (!ready_) ready_ = take_next(now.steady);
            if (!ready_) {
                if (auto due = scheduler_.next_due()) set_wake(out, *due);
                break;
            }
            // A serial line speaks after a silence: after the last byte heard and after our own
            // request has left the wire (0 on TCP).
            SteadyTime earliest = std::max(last_rx_, tx_end_) + framing_->silence();
            if (now.steady < earliest) {
                set_wake(out, earliest);
                break;
            }
            send(now, out);
        }
        for (const InFlight& f : in_flight_) set_wake(out, f.deadline);
    }

    std::optional<Transaction> take_next(SteadyTime now) {
        // A retry goes first: it has waited longest. Then commands, ahead of polls.
        for (std::deque<Transaction>* q : {&again_, &writes_}) {
            if (q->empty()) continue;
            Transaction t = std::move(q->front());
            q->pop_front();
            return t;
        }
        const PollBlock* b = scheduler_.next(now);
        if (!b) return std::nullopt;
        Transaction t;
        t.device = b->device;
        t.block = b;
        t.request = read_request(points_.device(b->device).unit, b->table, b->address, b->count);
        return t;
    }

    void send(const DriverClock& now, DriverOutput& out) {
        InFlight f;
        f.t = std::move(*ready_);
        ready_.reset();
        // Each try has its own transaction id, so a late answer to an earlier try (or to another
        // request) is never taken for this one's.
        f.transaction_id = next_transaction_++;
        std::vector<std::uint8_t> adu = framing_->frame(f.t.request, f.transaction_id);
        out.to_write.insert(out.to_write.end(), adu.begin(), adu.end());
        if (f.t.attempts > 0) ++retries_;
        ++f.t.attempts;
        ++requests_sent_;
        // On a serial line whatever is left half-received is no part of the answer to come.
        if (!framing_->tags_answers()) noise_bytes_ += framing_->discard();
        if (in_flight_.empty()) busy_since_ = now.steady;
        // The session writes at once, but the bytes need their time on the wire before anyone can answer.
        tx_end_ = now.steady + framing_->wire_time(adu.size());
        f.deadline = tx_end_ + (f.t.broadcast ? settings_.turnaround_delay : settings_.response_timeout);
        in_flight_.push_back(std::move(f));
    }

    // Ends the transactions whose time is up: no valid answer in time, or a broadcast's turnaround.
    void expire(const DriverClock& now, DriverOutput& out) {
        for (std::size_t i = 0; i < in_flight_.size();) {
            if (now.steady < in_flight_[i].deadline) {
                ++i;
                continue;
            }
            InFlight f = std::move(in_flight_[i]);
            in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(i));
            if (f.t.broadcast) {
                // Nobody answers a broadcast: having sent it is all the confirmation there is.
                ++write_ok_;
                account_busy(now.steady);
                complete(out, f.t, WriteOutcome::ok, {});
                continue;
            }
            // An answer that began but never completed, however its bytes were split, is truncated;
            // a damaged one was counted when it came.
            std::size_t partial = framing_->tags_answers() ? 0 : framing_->discard();
            noise_bytes_ += partial;
            if (!f.damaged) ++(partial > 0 ? truncated_ : timeouts_);
            fail(std::move(f.t), now, out);
        }
    }

    // Which transaction a frame answers: by its transaction id, or the one on a serial line.
    std::optional<std::size_t> answered(const Received& r) const {
        if (framing_->tags_answers() && !r.transaction) return std::nullopt;  // TCP bytes out of step
        for (std::size_t i = 0; i < in_flight_.size(); ++i) {
            if (in_flight_[i].t.broadcast) continue;
            if (!r.transaction || *r.transaction == in_flight_[i].transaction_id) return i;
        }
        return std::nullopt;
    }

    void take_answer(Received& r, const DriverClock& now, DriverOutput& out) {
        auto i = answered(r);
        if (!i) {
            // Nobody asked: line noise, another master, or a late reply after a timeout. On TCP the
            // transaction id shows it, and the pairing of later answers is not disturbed by it.
            if (r.response && r.transaction) ++stale_responses_;
            else if (r.response) noise_bytes_ += r.length;
            else if (framing_->tags_answers()) ++malformed_;
            return;
        }
        InFlight& f = in_flight_[*i];
        if (!r.response) {
            if (r.error == "bad CRC") ++crc_errors_;
            else ++malformed_;
            // A damaged frame on a serial line may be garbage in front of the answer: keep waiting
            // for a valid one until the deadline. On TCP it is this transaction's answer.
            f.damaged = true;
            if (r.transaction) fail_at(*i, now, out);
            return;
        }
        const Response& response = *r.response;
        std::string error;
        // On a serial line a frame that is not the answer is skipped and the master keeps waiting
        // for its own until the deadline: another slave answered (an address clash), or a late
        // answer to an earlier request came. On TCP the transaction id says it is the answer.
        if (response.unit != f.t.request.unit) {
            ++wrong_unit_;
            if (r.transaction) fail_at(*i, now, out);
            return;
        }
        if (!response_matches(f.t.request, response, error) && !echoes_other_value(f.t.request, response)) {
            ++malformed_;
            f.damaged = true;
            if (r.transaction) fail_at(*i, now, out);
            return;
        }
        Transaction t = std::move(f.t);
        in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(*i));
        complete_transaction(std::move(t), response, now, out);
    }

    void fail_at(std::size_t i, const DriverClock& now, DriverOutput& out) {
        Transaction t = std::move(in_flight_[i].t);
        in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(i));
        fail(std::move(t), now, out);
    }

    // FC 05/06 answers echo the value the device holds after the write (pymodbus reads it back; so
    // do devices that clamp or lock a register): a different value there is an answer, not noise.
    static bool echoes_other_value(const Request& q, const Response& r) {
        return (q.function == fc::write_single_coil || q.function == fc::write_single_register) &&
               r.unit == q.unit && r.function == q.function && !r.exception && r.address == q.address;
    }

    void fail(Transaction t, const DriverClock& now, DriverOutput& out) {
        account_busy(now.steady);
        // An offline device gets one try per poll: retrying it only takes bus time from live ones.
        bool offline = states_[t.device].online == false && t.kind == Transaction::poll;
        if (t.attempts < 1 + settings_.retries && !offline) {
            again_.push_back(std::move(t));  // sent again after the silence
            return;
        }
        std::size_t device = t.device;
        if (t.kind != Transaction::poll) {
            ++write_failed_;
            complete(out, t, WriteOutcome::timeout,
                     std::string(t.kind == Transaction::read_back ? "no valid answer to the read-back after "
                                                                  : "no valid answer after ") +
                         std::to_string(t.attempts) + (t.attempts == 1 ? " try" : " tries"));
            return;
        }
        DeviceState& s = states_[device];
        ++s.consecutive_failures;
        if (s.consecutive_failures >= settings_.offline_after && s.online != false) {
            s.online = false;
            emit_online(device, false, now, out);
            for (std::size_t i = 0; i < points_.device(device).points.size(); ++i)
                points_.report_bad(device, i, "device offline", now, out);
        }
        if (s.online == false) scheduler_.skip_rest_of_cycle(device);
    }

    void complete_transaction(Transaction t, const Response& r, const DriverClock& now, DriverOutput& out) {
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
            for (std::size_t i : t.block->points) points_.report_bad(t.device, i, exception_name(r.exception_code), now, out);
            return;
        }
        points_.deliver(t.device, t.block->table, t.block->address, r.registers, r.bits, t.block->points, now, out);
    }

    // A write the device answered: done, or (verify) followed at once by a read of the point.
    void finish_write(Transaction t, const Response& r, const DriverClock& now, DriverOutput& out) {
        const Point& p = points_.device(t.device).points[t.point];
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
            points_.confirm_next(t.device, t.point);
            scheduler_.poll_soon(t.device, now.steady);  // read back what the device made of it
            return;
        }
        // response_matches() has checked the quantity against the request for the point.
        const bool bit = is_bit_table(p.table);
        Decoded held = bit ? decode_bit(p, r.bits[0]) : decode_registers(p, std::span(r.registers).first(p.count()));
        // The read-back is a measurement like any other, reported even when unchanged: it is what
        // confirms a Sparkplug DCMD (a DDATA with the point's new value).
        points_.report(t.device, t.point, held, now, out, true);
        const bool same = bit ? r.bits[0] == (t.words.at(0) != 0)
                              : std::equal(t.words.begin(), t.words.end(), r.registers.begin());
        WriteCompletion& c = complete(out, t, same ? WriteOutcome::ok : WriteOutcome::verify_mismatch,
                                      same ? std::string() : "read back " + value_text(held.value) + ", wrote " + value_text(t.value),
                                      &now);
        c.read_back = held.value;
        ++(same ? write_ok_ : write_failed_);
    }

    Transaction read_back_of(Transaction t) const {
        const Point& p = points_.device(t.device).points[t.point];
        Transaction r = std::move(t);
        r.kind = Transaction::read_back;
        r.attempts = 0;
        r.request = read_request(points_.device(r.device).unit, p.table, p.address, p.count());
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

    void emit_online(std::size_t device, bool online, const DriverClock& now, DriverOutput& out) {
        out.readings.push_back(modbus_reading(points_.device(device).name, "online", online, "", Quality::good, "", now));
    }

    MasterSettings settings_;
    std::unique_ptr<MasterFraming> framing_;
    std::unique_ptr<Driver> passive_;
    PointReadings points_;
    std::vector<DeviceState> states_;
    PollScheduler scheduler_;

    bool opened_ = false;
    std::vector<InFlight> in_flight_;
    std::optional<Transaction> ready_;  // taken from the queues, waiting for the line's silence
    std::deque<Transaction> again_;     // failed tries to be sent again
    std::deque<Transaction> writes_;
    std::uint16_t next_transaction_ = 1;
    SteadyTime last_rx_{};
    SteadyTime tx_end_{};

    SteadyTime busy_since_{};
    SteadyTime window_start_{};
    nanoseconds window_busy_{};
    std::uint64_t busy_permille_ = 0;

    std::uint64_t requests_sent_ = 0, retries_ = 0, responses_ok_ = 0, exceptions_ = 0, timeouts_ = 0;
    std::uint64_t crc_errors_ = 0, wrong_unit_ = 0, malformed_ = 0, truncated_ = 0, noise_bytes_ = 0, stale_responses_ = 0;
    std::uint64_t writes_queued_ = 0, write_ok_ = 0, write_failed_ = 0, write_refused_ = 0;
};

}  // namespace

std::unique_ptr<Driver> make_modbus_master(std::unique_ptr<MasterFraming> framing, MasterSettings settings,
                                           std::vector<Device> devices, std::unique_ptr<Driver> passive) {
    return std::make_unique<ModbusMaster>(std::move(framing), settings, std::move(devices), std::move(passive));
}

}  // namespace loopgate::modbus
