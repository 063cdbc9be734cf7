#pragma once
// Where the broker's acknowledgements wait for the event loop.
//
// Paho reports a PUBACK on its own thread. Posting every one to the event loop costs the loop a
// wake-up per publish, and a wake-up (45-50 µs of CPU on the test machine) costs as much as the
// poll's own decoding, numbering and encoding together. Most acknowledgements have nobody waiting for them: while the bridge has room in
// its in-flight window, the batch's memory can be freed at the loop's next turn, which comes with
// the next reading anyway. So an acknowledgement that may wait just queues here, and the loop takes
// the queue when it next needs it (Uplink::settle_acks()); one that may not (a failure, a publish
// somebody waits on, or any while the owner is urgent) asks its caller to post a settle, at most one
// outstanding at a time.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace loopgate {

struct Ack {
    std::uint64_t id = 0;
    bool delivered = false;
};

class AckInbox {
public:
    // Any thread. True when the caller must post a settle to the event loop.
    bool add(std::uint64_t id, bool delivered, bool may_wait);
    // Event loop. Everything queued, oldest first; a settle may be posted again after this.
    std::vector<Ack> take();
    // While urgent, every acknowledgement asks for a settle (a shutdown waiting for its drain).
    void set_urgent(bool urgent) { urgent_.store(urgent, std::memory_order_relaxed); }
    bool empty() const { return queued_.load(std::memory_order_acquire) == 0; }

private:
    std::mutex mutex_;
    std::vector<Ack> acks_;
    bool settle_posted_ = false;
    std::atomic<bool> urgent_{false};
    std::atomic<std::size_t> queued_{0};
};

}  // namespace loopgate
