#pragma once
// The store's writes waiting in memory for a commit (gateway/store/store.hpp): batch headers, parts
// and closes in the order they came, and a copy of each batch none of whose writes has reached the
// disk yet, from which it is handed out (buffered durability, or write-through while the disk
// refuses writes) and which an acknowledgement simply forgets.
//
// Pure: no SQLite and no clock. Times are given by the caller (when a write was queued; which writes
// a commit takes), so that the rules are table-tested on a fake clock (tests/unit/test_write_queue.cpp).
//
// The rules it keeps:
// - While the disk refuses writes memory is the only buffer left: over max_pending_bytes the oldest
//   parts are dropped (never the newest write, never a header or a close), and so are their readings
//   from the batch's copy; the rest of the batch stays.
// - A write is due for a commit once it was queued before the commit's cut-off (buffered mode's
//   window), or at once when its batch is partly written already: the rest of that batch holds back
//   the newer batches, which go out after it.
// - A commit takes a chunk from the front, in order: due writes, at most max_ops, and at most
//   max_bytes (but always one).
// - A batch acknowledged while wholly in memory is forgotten (never written); one partly written
//   already loses its queued rest, and its rows are the caller's to delete.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace loopgate {

class WriteQueue {
public:
    using Time = std::chrono::steady_clock::time_point;
    using Devices = std::map<std::string, std::uint64_t>;  // device -> the highest sequence reached

    struct Write {
        enum Kind { open, part, close } kind;
        std::uint64_t sequence;
        std::int64_t created_ns;  // open
        std::string bytes;        // open: the batch's header; part: its readings
        std::uint64_t readings;   // part
        Devices devices;          // part
        std::uint32_t index;      // open and part: its place in the batch (the header is 0)
        Time queued;
    };

    // A batch none of whose writes has been committed: what read_after() hands out from memory.
    struct Batch {
        std::int64_t created_ns = 0;
        std::string payload;  // header and parts, concatenated
        std::uint64_t readings = 0;
        bool closed = false;
        Devices devices;
    };

    // The queued writes of a batch whose first writes are committed already.
    struct Rest {
        bool closed = false;
        std::string payload;
        std::uint64_t readings = 0;
        Devices devices;
    };

    struct Chunk {
        std::size_t writes = 0;
        std::size_t bytes = 0;
    };

    // What a commit of the first writes changed: batches that left memory (their header is on disk
    // now) and batches closed on disk, in order.
    struct Committed {
        std::size_t opened = 0;
        std::deque<std::uint64_t> closed;
    };

    explicit WriteQueue(std::uint64_t max_pending_bytes) : max_pending_bytes_(max_pending_bytes) {}

    void open(std::uint64_t sequence, std::int64_t created_ns, std::string header, Time now);
    // Returns the readings the bound dropped to make room (0 almost always).
    std::uint64_t append(std::uint64_t sequence, std::uint32_t index, std::string part, std::uint64_t readings,
                         const Devices& devices, Time now);
    void close(std::uint64_t sequence, Time now);
    // Drops a batch's queued writes. True when the batch was wholly in memory: forgotten, nothing of
    // it on disk; false when its committed rows must be deleted by the caller.
    bool remove(std::uint64_t sequence);
    // Replaces the bytes of queued parts of batches first..last where `fix` returns new ones.
    void rewrite(std::uint64_t first, std::uint64_t last,
                 const std::function<std::optional<std::string>(std::string_view part)>& fix);

    bool empty() const { return writes_.empty(); }
    std::uint64_t pending_bytes() const { return pending_bytes_; }
    const std::deque<Write>& writes() const { return writes_; }
    std::optional<Time> oldest_queued() const;
    bool due(const Write& write, Time queued_before) const;
    bool front_due(Time queued_before) const { return !writes_.empty() && due(writes_.front(), queued_before); }
    Chunk chunk(Time queued_before, std::size_t max_bytes, std::size_t max_writes) const;
    // The first `writes` are committed: takes them off the queue.
    Committed committed(std::size_t writes);
    // The disk will not take them: clears the queue and returns the readings lost with it.
    std::uint64_t lose_all();

    bool wholly_in_memory(std::uint64_t sequence) const { return batches_.count(sequence) != 0; }
    const std::map<std::uint64_t, Batch>& in_memory() const { return batches_; }
    // The batch at the front when it is partly committed already, if it is.
    std::optional<std::uint64_t> partly_written_front() const;
    Rest rest_of(std::uint64_t sequence) const;

private:
    void rebuild_payload(std::uint64_t sequence);
    void forget_bytes(std::size_t bytes) { pending_bytes_ -= std::min<std::uint64_t>(pending_bytes_, bytes); }

    std::uint64_t max_pending_bytes_;
    std::deque<Write> writes_;
    std::map<std::uint64_t, Batch> batches_;
    std::uint64_t pending_bytes_ = 0;
};

}  // namespace loopgate
