// Power loss, not only kill -9: whatever the store handed out survives a power cut at any moment.
//
// kill -9 keeps the page cache; a power cut does not. These tests run the store on a SQLite VFS
// that keeps what the disk would (tests/gateway/store/power_cut_vfs.hpp): a seeded random workload of
// batches (open, append, close, commit, background syncs, reads, acknowledgements, limits,
// checkpoints, clean restarts) runs until the power goes off, between two calls or inside one
// (at the n-th write, truncation, sync or delete), the files are put back as the disk would have
// them (every unsynced write lost, or any subset of them torn at 512-byte sectors), and the store is
// opened again. Every time it must open (not as corrupt), and:
//   - every batch read_after() handed out and not acknowledged is there, byte for byte;
//   - a sequence once handed out is never handed out again with other content, next_sequence() is
//     past every sequence handed out, and device_sequences() reach every device sequence handed out;
//   - nothing is there that was never written, and a batch cut short holds a prefix of its parts.
// Half of the runs sync in the background (commits under synchronous=NORMAL, the WAL synced by the
// store's syncer thread through the VFS), half commit with synchronous=FULL.
//
// The kill -9 cases at the end (a process crash, then a power cut) pin a defect this harness found,
// described there, and fixed: the store syncs the WAL at open before it hands anything out.
//
// A failure names its seed and the operations of the run. To replay one run:
//   LOOPGATE_POWER_CUT_SEED=<seed> build/release/tests/loopgate_unit_tests '[power-cut]'
// To soak (CI runs 300 cuts):
//   LOOPGATE_POWER_CUTS=5000 build/release/tests/loopgate_unit_tests '[power-cut]'
// (LOOPGATE_POWER_CUT_FIRST_SEED=<n> starts the seeds elsewhere than 1.)

#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/store/batch_payload.hpp"
#include "gateway/store/store.hpp"
#include "one_reading_batch.hpp"
#include "posted_queue.hpp"
#include "power_cut_vfs.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;
using loopgate::testing::PostedQueue;
using loopgate::testing::PowerCutVfs;

namespace {

// In memory when the machine has a tmpfs: the last open of each run goes through SQLite's own VFS,
// whose fsyncs on a real disk would dominate the run time.
std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

struct Part {
    std::string bytes;
    std::map<std::string, std::uint64_t> device_sequences;
};

// What the test gave the store and what the store handed out, across every cut of a run.
struct Ledger {
    std::map<std::uint64_t, std::vector<Part>> written;  // the header is part 0
    std::map<std::uint64_t, std::string> handed_out;     // every batch read_after() ever returned
    std::set<std::uint64_t> unacknowledged;              // handed out, not removed, not dropped
    std::set<std::uint64_t> maybe_dropped;               // the limits dropped some as the power went off
    std::uint64_t newest_handed_out = 0;
    std::map<std::string, std::uint64_t> device_high;    // in batches handed out
};

struct Totals {
    std::uint64_t runs = 0, cuts = 0, cuts_inside_a_call = 0, process_crashes = 0, batches_handed_out = 0;
    std::uint64_t survivors_checked = 0;  // unacknowledged batches found intact after a cut
    std::uint64_t committed_then_lost = 0;  // closed and committed but not yet durable, gone after a cut
};

// Limits that bite: drops happen in most runs. max_bytes counts database pages in use, and an empty
// store has five of 4 KiB.
const StoreLimits small{40'000, 60, 64 << 20};
constexpr std::int64_t tick_ns = 1'000'000;     // the workload's clock advances 1 ms per operation

struct Failure {
    std::string what;
};

class PowerCutRun {
public:
    PowerCutRun(std::uint64_t seed, bool process_crashes, PowerCutVfs& vfs, Totals& totals)
        : seed_(seed), rng_(seed), process_crashes_(process_crashes), vfs_(vfs), totals_(totals) {
        background_ = seed % 2 == 0;
    }

    // Empty when every invariant held; else what broke, with the run's operations.
    std::string go() {
        try {
            run();
        } catch (const Failure& f) {
            return describe(f.what);
        } catch (const std::exception& e) {
            return describe(std::string("unexpected exception: ") + e.what());
        }
        return {};
    }

private:
    void run() {
        ++totals_.runs;
        note(background_ ? "mode: background sync (synchronous=NORMAL + WAL syncer)" : "mode: synchronous=FULL");
        int lives = 1 + static_cast<int>(pick(3));
        open_store(false);
        for (int life = 0; life < lives; ++life) {
            live_until_cut();
            end_of_life();
            // Now and then the power goes off again while the store starts up.
            if (life + 1 < lives && chance(0.1)) {
                std::uint64_t n = 1 + pick(4);
                note("power goes off at I/O call " + std::to_string(n) + " of the start-up");
                vfs_.cut_at_io_call(n);
            }
            open_store(true);
            if (vfs_.is_cut()) {
                end_of_life();
                open_store(true);
            }
        }
        // Last: the disk as a plain SQLite database, without the VFS.
        cut_power();
        close_store();
        restore();
        note("open with SQLite's own VFS");
        Store plain(path_, small);
        verify(plain);
    }

    // ---- the store's lives -------------------------------------------------------------------

    void open_store(bool after_a_cut) {
        queue_ = std::make_unique<PostedQueue>();
        StoreOptions options{vfs_.name(), [this](const std::string& path) { return vfs_.sync_file(path); }};
        try {
            store_ = std::make_unique<Store>(path_, small, options);
        } catch (const std::exception& e) {
            if (vfs_.is_cut()) {  // died during start-up: fine, as long as the next start works
                note(std::string("start-up failed after the cut: ") + e.what());
                return;
            }
            throw Failure{std::string("the store did not open: ") + e.what()};
        }
        if (background_)
            store_->sync_in_background([q = queue_.get()](std::function<void()> f) { q->post(std::move(f)); }, [] {});
        open_sequence_ = 0;
        closing_.clear();
        cursor_ = 0;
        newest_committed_close_ = 0;
        if (after_a_cut && !vfs_.is_cut()) verify(*store_);
        committed_closes_.clear();
        limits_dropped_ = false;
        // Devices go on numbering from where the store says they were, as the bridge does.
        if (!vfs_.is_cut()) device_next_ = store_->device_sequences();
    }

    void close_store() {
        store_.reset();  // with the power off, nothing it does on the way out reaches the disk
        queue_.reset();  // completions posted by the syncer belong to a store that is gone
    }

    void cut_power() {
        if (!vfs_.is_cut()) vfs_.cut_now();
    }

    void end_of_life() {
        cut_power();
        close_store();
        if (process_crashes_ && chance(0.5)) {
            note("process killed (kill -9): the page cache keeps every write");
            ++totals_.process_crashes;
            vfs_.resume_after_process_crash();
        } else {
            restore();
        }
    }

    void restore() {
        ++totals_.cuts;
        auto loss = chance(0.5) ? PowerCutVfs::Loss::all_unsynced : PowerCutVfs::Loss::any_subset;
        note(loss == PowerCutVfs::Loss::all_unsynced ? "power cut: every unsynced write lost"
                                                     : "power cut: a random subset of unsynced writes kept, torn at sectors");
        vfs_.restore_after_power_cut(loss, rng_);
    }

    void live_until_cut() {
        std::uint64_t operations = 5 + pick(70);
        bool inside_a_call = chance(0.5);
        if (inside_a_call) {
            std::uint64_t n = 1 + pick(operations);
            note("power goes off at I/O call " + std::to_string(n) + " from here, or after the last operation");
            vfs_.cut_at_io_call(n);
        } else {
            note("power goes off after " + std::to_string(operations) + " operations");
        }
        for (std::uint64_t i = 0; i < operations && store_ && !vfs_.is_cut(); ++i) {
            clock_ += tick_ns;
            try {
                operation();
            } catch (const Failure&) {
                throw;
            } catch (const std::exception& e) {
                if (!vfs_.is_cut()) throw Failure{std::string("the store threw without a cut: ") + e.what()};
                note(std::string("  (threw once the power was off: ") + e.what() + ")");
            }
        }
        if (vfs_.is_cut()) {
            ++totals_.cuts_inside_a_call;
            note("  the power went off inside that call");
        }
    }

    void operation() {
        Store& s = *store_;
        double r = std::uniform_real_distribution<double>(0, 1)(rng_);
        if (open_sequence_ == 0 && r < 0.25) return open_batch(s);
        if (open_sequence_ != 0 && r < 0.30) return append(s);
        if (open_sequence_ != 0 && r < 0.38) return close_batch(s);
        if (r < 0.55) return commit(s);
        if (r < 0.68) return pump(s);
        if (r < 0.80) return read(s);
        if (r < 0.90) return acknowledge(s);
        if (r < 0.94) return enforce_limits(s);
        if (r < 0.98) return checkpoint();
        return clean_restart();
    }

    void open_batch(Store& s) {
        std::uint64_t seq = s.next_sequence();
        std::string header = encode_batch_header("gw", seq, clock_);
        s.open_batch(seq, clock_, header);
        ledger_.written[seq] = {Part{header, {}}};
        open_sequence_ = seq;
        note("open " + std::to_string(seq));
    }

    void append(Store& s) {
        // Mostly a few readings; sometimes enough to need overflow pages and several WAL frames.
        std::uint64_t n = chance(0.1) ? 40 + pick(80) : 1 + pick(4);
        static const char* const devices[] = {"a", "b", "c"};
        std::vector<Reading> readings;
        Part part;
        for (std::uint64_t i = 0; i < n; ++i) {
            Reading reading;
            reading.device = devices[pick(3)];
            reading.metric = "m";
            reading.value = static_cast<double>(clock_ / tick_ns) + static_cast<double>(i) / 100;
            reading.sequence = ++device_next_[reading.device];
            part.device_sequences[reading.device] = reading.sequence;
            readings.push_back(reading);
        }
        part.bytes = encode_readings(readings);
        s.append(open_sequence_, part.bytes, n, part.device_sequences);
        ledger_.written[open_sequence_].push_back(part);
        note("append to " + std::to_string(open_sequence_) + ": " + std::to_string(n) + " readings, " +
             std::to_string(part.bytes.size()) + " B");
    }

    void close_batch(Store& s) {
        s.close_batch(open_sequence_);
        closing_.push_back(open_sequence_);
        note("close " + std::to_string(open_sequence_));
        open_sequence_ = 0;
    }

    void commit(Store& s) {
        std::uint64_t dropped = s.stats().dropped_batches;
        bool ok = s.commit();
        note(ok ? "commit" : "commit failed: " + s.last_error());
        if (!ok) {
            if (vfs_.is_cut()) return cut_while_dropping(s, dropped);
            // Over max_bytes with nothing closed left to drop (it may have dropped some first), the
            // store keeps new readings in memory.
            if (s.last_error().find("store.max_bytes") != std::string::npos) {
                if (s.stats().dropped_batches > dropped) forget_dropped(s);
                return;
            }
            throw Failure{"a commit failed without a cut: " + s.last_error()};
        }
        // Over max_bytes a commit drops the oldest unsent batches itself.
        if (s.stats().dropped_batches > dropped) forget_dropped(s);
        for (std::uint64_t seq : closing_) {
            newest_committed_close_ = std::max(newest_committed_close_, seq);
            committed_closes_.insert(seq);
        }
        closing_.clear();
    }

    // Runs the syncer's completions: either whatever is there, or (bounded) until every batch closed
    // and committed so far may be handed out.
    void pump(Store& s) {
        if (!background_) return;
        if (chance(0.5)) {
            queue_->run(std::chrono::milliseconds(0));
            note("pump");
            return;
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (s.durable_through() < newest_committed_close_ && !vfs_.is_cut()) {
            if (std::chrono::steady_clock::now() > deadline) throw Failure{"the WAL syncer never reported back"};
            queue_->run(std::chrono::milliseconds(50));
        }
        note("pump until durable through " + std::to_string(s.durable_through()));
    }

    void read(Store& s) {
        auto batches = s.read_after(cursor_, 1 + pick(4));
        std::string seqs;
        for (const StoredBatch& b : batches) {
            hand_out(b, true);
            cursor_ = b.sequence;
            seqs += " " + std::to_string(b.sequence);
        }
        note("read_after →" + (seqs.empty() ? std::string(" nothing") : seqs));
    }

    // Like the bridge: the broker acknowledges the oldest batches sent.
    void acknowledge(Store& s) {
        std::uint64_t n = 1 + pick(3);
        std::string seqs;
        while (n-- > 0 && !ledger_.unacknowledged.empty()) {
            std::uint64_t seq = *ledger_.unacknowledged.begin();
            s.remove(seq);
            ledger_.unacknowledged.erase(seq);
            seqs += " " + std::to_string(seq);
        }
        note("remove" + (seqs.empty() ? std::string(" nothing") : seqs));
    }

    void enforce_limits(Store& s) {
        bool for_size = chance(0.7);
        std::uint64_t dropped = s.stats().dropped_batches;
        s.enforce_limits(clock_, for_size);
        limits_dropped_ = limits_dropped_ || s.stats().dropped_batches > dropped;
        note(std::string("enforce_limits (") + (for_size ? "size and age" : "age") + "), dropped so far " +
             std::to_string(s.stats().dropped_batches));
        if (vfs_.is_cut()) return cut_while_dropping(s, dropped);
        forget_dropped(s);
    }

    // The limits dropped batches in the call the power went off in: which of them reached the disk
    // (a checkpoint may have synced the drop) is for the next start to tell.
    void cut_while_dropping(Store& s, std::uint64_t dropped_before) {
        if (s.stats().dropped_batches == dropped_before) return;
        limits_dropped_ = true;
        ledger_.maybe_dropped.insert(ledger_.unacknowledged.begin(), ledger_.unacknowledged.end());
    }

    void forget_dropped(Store& s) {
        limits_dropped_ = true;
        // Which of the batches handed out did the limits take? They may come back; they need not.
        std::set<std::uint64_t> present;
        for (const StoredBatch& b : s.read_after(0, 1'000'000)) {
            present.insert(b.sequence);
            hand_out(b, true);
        }
        for (auto it = ledger_.unacknowledged.begin(); it != ledger_.unacknowledged.end();)
            it = present.count(*it) ? std::next(it) : ledger_.unacknowledged.erase(it);
    }

    // A checkpoint by another connection: what the store's own automatic checkpoint does, sooner.
    void checkpoint() {
        static const char* const modes[] = {"PASSIVE", "FULL", "RESTART", "TRUNCATE"};
        std::string mode = modes[pick(4)];
        sqlite3* db = nullptr;
        int rc = sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, vfs_.name().c_str());
        if (rc == SQLITE_OK) rc = sqlite3_exec(db, ("PRAGMA wal_checkpoint(" + mode + ")").c_str(), nullptr, nullptr, nullptr);
        std::string error = rc == SQLITE_OK ? "" : sqlite3_errstr(rc);
        sqlite3_close_v2(db);
        note("checkpoint " + mode + (error.empty() ? "" : ": " + error));
        if (!error.empty() && !vfs_.is_cut()) throw Failure{"checkpoint " + mode + " failed without a cut: " + error};
    }

    void clean_restart() {
        note("clean restart");
        // What the destructor would commit, committed here, so that the batches the limits drop on
        // the way (over max_bytes) are known as dropped.
        if (store_) commit(*store_);
        close_store();
        open_store(true);
    }

    // ---- what must hold ----------------------------------------------------------------------

    void check(bool condition, const std::string& what) {
        if (!condition) throw Failure{what};
    }

    // A batch read_after() returned: it goes out to the broker.
    void hand_out(const StoredBatch& b, bool whole) {
        std::string seq = std::to_string(b.sequence);
        auto written = ledger_.written.find(b.sequence);
        check(written != ledger_.written.end(), "batch " + seq + " was handed out but never written");
        // Its payload is its first k parts, all of them if it was closed before the cut.
        std::string prefix;
        std::size_t k = 0;
        std::map<std::string, std::uint64_t> devices;
        const std::vector<Part>& parts = written->second;
        while (prefix.size() < b.payload.size() && k < parts.size()) {
            prefix += parts[k].bytes;
            for (const auto& [d, n] : parts[k].device_sequences) devices[d] = std::max(devices[d], n);
            ++k;
        }
        check(prefix == b.payload && k > 0, "batch " + seq + " was handed out with a payload (" +
                                                std::to_string(b.payload.size()) +
                                                " B) that is not a prefix of its parts");
        auto before = ledger_.handed_out.find(b.sequence);
        if (before != ledger_.handed_out.end()) {
            check(before->second == b.payload,
                  "batch " + seq + " was handed out twice with different payloads (" +
                      std::to_string(before->second.size()) + " B, then " + std::to_string(b.payload.size()) +
                      " B): its id was reused");
        } else {
            check(!whole || k == parts.size(), "batch " + seq + " was handed out with " + std::to_string(k) + " of its " +
                                                   std::to_string(parts.size()) + " parts");
            ledger_.handed_out[b.sequence] = b.payload;
            ++totals_.batches_handed_out;
        }
        ledger_.unacknowledged.insert(b.sequence);
        ledger_.newest_handed_out = std::max(ledger_.newest_handed_out, b.sequence);
        for (const auto& [d, n] : devices) ledger_.device_high[d] = std::max(ledger_.device_high[d], n);
    }

    // After a start: nothing handed out is missing, nothing handed out is reissued.
    void verify(Store& s) {
        // A power cut that keeps a torn subset of unsynced writes can leave a log whose tail reads as
        // damage (an intact commit after a torn frame): the store then copies the log aside and goes on
        // with what SQLite reads. It must never move the database aside for a power cut.
        check(s.stats().recovered_from.empty() || !std::filesystem::exists(s.stats().recovered_from),
              "the store was moved aside as corrupt to " + s.stats().recovered_from);
        std::map<std::uint64_t, StoredBatch> present;
        for (StoredBatch& b : s.read_after(0, 1'000'000)) present.emplace(b.sequence, std::move(b));
        for (auto it = ledger_.unacknowledged.begin(); it != ledger_.unacknowledged.end();) {
            if (!present.count(*it) && ledger_.maybe_dropped.count(*it)) {
                it = ledger_.unacknowledged.erase(it);
                continue;
            }
            check(present.count(*it) > 0, "batch " + std::to_string(*it) + " was handed out, never acknowledged, and is gone");
            ++totals_.survivors_checked;
            ++it;
        }
        ledger_.maybe_dropped.clear();
        if (!limits_dropped_)
            for (std::uint64_t seq : committed_closes_)
                if (!ledger_.handed_out.count(seq) && !present.count(seq)) ++totals_.committed_then_lost;
        for (const auto& [seq, b] : present) hand_out(b, false);
        check(ledger_.newest_handed_out < s.next_sequence(),
              "next_sequence() is " + std::to_string(s.next_sequence()) + " but batch " +
                  std::to_string(ledger_.newest_handed_out) + " was handed out already");
        auto devices = s.device_sequences();
        for (const auto& [d, high] : ledger_.device_high)
            check(devices[d] >= high, "device " + d + " is back at sequence " + std::to_string(devices[d]) + " but " +
                                          std::to_string(high) + " was handed out already");
        note("verified: " + std::to_string(present.size()) + " batches on disk, next sequence " +
             std::to_string(s.next_sequence()));
    }

    // ---- bookkeeping -------------------------------------------------------------------------

    std::uint64_t pick(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_); }
    bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
    void note(const std::string& line) { trace_.push_back(line); }

    std::string describe(const std::string& what) const {
        std::ostringstream out;
        out << "power-cut run with seed " << seed_ << " failed: " << what << "\n"
            << "(replay: LOOPGATE_POWER_CUT_SEED=" << seed_ << "; the syncer thread's timing may differ)\n"
            << "operations:\n";
        for (const std::string& line : trace_) out << "  " << line << "\n";
        return out.str();
    }

    std::uint64_t seed_;
    std::mt19937_64 rng_;
    bool process_crashes_;
    bool background_ = false;
    PowerCutVfs& vfs_;
    Totals& totals_;
    testing::TempDir dir_{"power-cut", testing::Medium::memory};
    std::string path_ = dir_.file("store.db");
    std::unique_ptr<PostedQueue> queue_;  // before the store: it must outlive the syncer's posts
    std::unique_ptr<Store> store_;
    Ledger ledger_;
    std::map<std::string, std::uint64_t> device_next_;
    std::int64_t clock_ = 0;
    std::uint64_t open_sequence_ = 0;
    std::vector<std::uint64_t> closing_;          // closed, not committed yet
    std::set<std::uint64_t> committed_closes_;    // in this life
    bool limits_dropped_ = false;                 // in this life: then a batch may be missing for that
    std::uint64_t newest_committed_close_ = 0;
    std::uint64_t cursor_ = 0;
    std::vector<std::string> trace_;
};

// Runs seeded runs until `cuts` cuts (or kills) happened, or the one run LOOPGATE_POWER_CUT_SEED
// names; stops at the first failure.
Totals run_power_cuts(std::uint64_t cuts, bool process_crashes) {
    PowerCutVfs vfs;
    Totals totals;
    std::uint64_t only = env_number("LOOPGATE_POWER_CUT_SEED", 0);
    std::uint64_t seed = only ? only : env_number("LOOPGATE_POWER_CUT_FIRST_SEED", 1);
    auto started = std::chrono::steady_clock::now();
    while (only ? totals.runs == 0 : totals.cuts + totals.process_crashes < cuts) {
        std::string failure = PowerCutRun(seed++, process_crashes, vfs, totals).go();
        if (!failure.empty()) FAIL(failure);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("power cuts: %llu runs, %llu cuts, %llu kills, %llu inside a call, in %.1f s; %llu batches handed "
                "out, %llu found intact after a cut, %llu committed but not yet durable lost\n",
                static_cast<unsigned long long>(totals.runs), static_cast<unsigned long long>(totals.cuts),
                static_cast<unsigned long long>(totals.process_crashes),
                static_cast<unsigned long long>(totals.cuts_inside_a_call), seconds,
                static_cast<unsigned long long>(totals.batches_handed_out),
                static_cast<unsigned long long>(totals.survivors_checked),
                static_cast<unsigned long long>(totals.committed_then_lost));
    return totals;
}

}  // namespace

TEST_CASE("after a power cut at any moment the store opens and keeps every batch it handed out", "[store][power-cut]") {
    Totals totals = run_power_cuts(env_number("LOOPGATE_POWER_CUTS", 300), false);
    // The runs exercised what they claim to: batches were handed out and checked after cuts, and
    // commits not yet durable really were lost.
    if (!std::getenv("LOOPGATE_POWER_CUT_SEED")) {
        CHECK(totals.survivors_checked > 0);
        CHECK(totals.committed_then_lost > 0);
        CHECK(totals.cuts_inside_a_call > 0);
    }
}

// Found by this harness (seed 22 of the test below, among others), now fixed: after a restart
// Store::open_database() takes every batch it finds as durable (durable_closed_ = last_sequence_),
// but a kill -9 leaves the previous process's unsynced WAL frames in the page cache, where the new
// process reads them. It hands those batches out at once; a power cut before anything syncs the WAL
// takes them away again, and their ids are reissued with other readings. Only with background
// syncing (the gateway's mode): with synchronous=FULL every reading was synced by its commit.
// The fix: Store::open_database() syncs the WAL before it takes what it holds as durable.
TEST_CASE("a batch found after a kill -9 is handed out only once it is durable", "[store][power-cut]") {
    testing::TempDir dir{"power-cut", testing::Medium::memory};
    PowerCutVfs vfs;
    std::mt19937_64 rng(1);
    const StoreLimits roomy{1ull << 30, 0, 64 << 20};
    // The syncer gets to its fdatasync only after the kill.
    std::mutex m;
    std::condition_variable cv;
    bool syncer_may_go = true;
    StoreOptions options{vfs.name(), [&](const std::string& path) {
                             std::unique_lock<std::mutex> lock(m);
                             cv.wait(lock, [&] { return syncer_may_go; });
                             return vfs.sync_file(path);
                         }};
    {
        PostedQueue loop;
        Store s(dir.file("store.db"), roomy, options);
        s.sync_in_background([&](std::function<void()> f) { loop.post(std::move(f)); }, [] {});
        {
            std::lock_guard<std::mutex> lock(m);
            syncer_may_go = false;
        }
        testing::add_one_reading_batch(s, "d", 1);
        CHECK(s.read_after(0, 10).empty());  // right: not durable yet
        vfs.cut_now();                       // kill -9
        {
            std::lock_guard<std::mutex> lock(m);
            syncer_may_go = true;
        }
        cv.notify_all();
    }
    vfs.resume_after_process_crash();
    std::vector<StoredBatch> handed_out;
    {
        Store s(dir.file("store.db"), roomy, options);  // systemd restarts the gateway
        handed_out = s.read_after(0, 10);   // ...which publishes at once
        vfs.cut_now();                      // and then the power goes
    }
    vfs.restore_after_power_cut(PowerCutVfs::Loss::all_unsynced, rng);
    Store s(dir.file("store.db"), roomy);
    auto present = s.read_after(0, 10);
    for (const StoredBatch& b : handed_out) {
        INFO("batch " << b.sequence << " was handed out after the restart");
        CHECK(std::any_of(present.begin(), present.end(), [&](const StoredBatch& p) { return p.sequence == b.sequence; }));
        CHECK(s.next_sequence() > b.sequence);
    }
}

// Randomized: process kills as well as power cuts (it failed now and then for the defect above).
TEST_CASE("after a kill -9 and a later power cut the store keeps every batch it handed out",
          "[store][power-cut]") {
    // kill -9 leaves unsynced writes in the page cache, where the next start reads them: they are
    // no more durable for that, and a power cut may still take them.
    Totals totals = run_power_cuts(env_number("LOOPGATE_POWER_CUTS", 150), true);
    if (!std::getenv("LOOPGATE_POWER_CUT_SEED")) CHECK(totals.process_crashes > 0);
}
