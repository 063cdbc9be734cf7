#include "gateway/store/write_queue.hpp"

#include <algorithm>
#include <iterator>

namespace loopgate {

void WriteQueue::open(std::uint64_t sequence, std::int64_t created_ns, std::string header, Time now) {
    pending_bytes_ += header.size();
    // Write-through keeps the copy too, for the time the disk refuses writes.
    batches_[sequence] = Batch{created_ns, header, 0, false, {}};
    writes_.push_back(Write{Write::open, sequence, created_ns, std::move(header), 0, {}, 0, now});
}

std::uint64_t WriteQueue::append(std::uint64_t sequence, std::uint32_t index, std::string part, std::uint64_t readings,
                                 const Devices& devices, Time now) {
    pending_bytes_ += part.size();
    if (auto b = batches_.find(sequence); b != batches_.end()) {
        b->second.payload += part;
        b->second.readings += readings;
        for (const auto& [device, seq] : devices) b->second.devices[device] = std::max(b->second.devices[device], seq);
    }
    writes_.push_back(Write{Write::part, sequence, 0, std::move(part), readings, devices, index, now});
    // While the disk refuses writes, memory is the only buffer left: bound it, oldest parts first.
    std::uint64_t dropped = 0;
    while (pending_bytes_ > max_pending_bytes_) {
        auto it = std::find_if(writes_.begin(), writes_.end(), [](const Write& w) { return w.kind == Write::part; });
        if (it == writes_.end() || std::next(it) == writes_.end()) break;
        pending_bytes_ -= it->bytes.size();
        dropped += it->readings;
        std::uint64_t sequence_of_dropped = it->sequence, readings_dropped = it->readings;
        writes_.erase(it);
        // Its copy must not hold the dropped readings, nor lose the rest of the batch (a batch that
        // leaves memory unwritten would be skipped by the publishing cursor).
        if (auto b = batches_.find(sequence_of_dropped); b != batches_.end()) {
            b->second.readings -= std::min(b->second.readings, readings_dropped);
            rebuild_payload(sequence_of_dropped);
        }
    }
    return dropped;
}

void WriteQueue::close(std::uint64_t sequence, Time now) {
    writes_.push_back(Write{Write::close, sequence, 0, {}, 0, {}, 0, now});
    if (auto b = batches_.find(sequence); b != batches_.end()) b->second.closed = true;
}

bool WriteQueue::remove(std::uint64_t sequence) {
    // Acknowledged before any of it was written (the wear buffered mode exists to save), or handed out
    // while partly on disk (the disk refused the rest): either way its queued writes are not written
    // now, or its rows would outlive the deletion.
    bool forgotten = batches_.erase(sequence) != 0;
    writes_.erase(std::remove_if(writes_.begin(), writes_.end(),
                                 [&](const Write& w) {
                                     if (w.sequence != sequence) return false;
                                     forget_bytes(w.bytes.size());
                                     return true;
                                 }),
                  writes_.end());
    return forgotten;
}

void WriteQueue::rewrite(std::uint64_t first, std::uint64_t last,
                         const std::function<std::optional<std::string>(std::string_view part)>& fix) {
    for (Write& w : writes_) {
        if (w.kind != Write::part || w.sequence < first || w.sequence > last) continue;
        if (auto fixed = fix(w.bytes)) {
            forget_bytes(w.bytes.size());
            pending_bytes_ += fixed->size();
            w.bytes = std::move(*fixed);
        }
    }
    for (auto it = batches_.lower_bound(first); it != batches_.end() && it->first <= last; ++it) rebuild_payload(it->first);
}

std::optional<WriteQueue::Time> WriteQueue::oldest_queued() const {
    if (writes_.empty()) return std::nullopt;
    return writes_.front().queued;
}

bool WriteQueue::due(const Write& write, Time queued_before) const {
    return write.queued < queued_before || !batches_.count(write.sequence);
}

WriteQueue::Chunk WriteQueue::chunk(Time queued_before, std::size_t max_bytes, std::size_t max_writes) const {
    Chunk c;
    while (c.writes < writes_.size() && c.writes < max_writes && due(writes_[c.writes], queued_before) &&
           (c.writes == 0 || c.bytes + writes_[c.writes].bytes.size() <= max_bytes))
        c.bytes += writes_[c.writes++].bytes.size();
    return c;
}

WriteQueue::Committed WriteQueue::committed(std::size_t writes) {
    Committed done;
    auto end = writes_.begin() + static_cast<std::ptrdiff_t>(writes);
    for (auto w = writes_.begin(); w != end; ++w) {
        // Partly on disk from now on: handed out from there.
        if (w->kind == Write::open) {
            batches_.erase(w->sequence);
            ++done.opened;
        }
        if (w->kind == Write::close) done.closed.push_back(w->sequence);
        forget_bytes(w->bytes.size());
    }
    writes_.erase(writes_.begin(), end);
    if (writes_.empty()) pending_bytes_ = 0;
    return done;
}

std::uint64_t WriteQueue::lose_all() {
    std::uint64_t readings = 0;
    for (const Write& w : writes_) readings += w.readings;
    writes_.clear();
    pending_bytes_ = 0;
    return readings;
}

std::optional<std::uint64_t> WriteQueue::partly_written_front() const {
    if (writes_.empty() || batches_.count(writes_.front().sequence)) return std::nullopt;
    return writes_.front().sequence;
}

WriteQueue::Rest WriteQueue::rest_of(std::uint64_t sequence) const {
    Rest rest;
    for (const Write& w : writes_) {
        if (w.sequence != sequence) continue;
        if (w.kind == Write::close) rest.closed = true;
        if (w.kind != Write::part) continue;
        rest.payload += w.bytes;
        rest.readings += w.readings;
        for (const auto& [device, seq] : w.devices) rest.devices[device] = std::max(rest.devices[device], seq);
    }
    return rest;
}

void WriteQueue::rebuild_payload(std::uint64_t sequence) {
    auto b = batches_.find(sequence);
    if (b == batches_.end()) return;
    b->second.payload.clear();
    for (const Write& w : writes_)
        if (w.sequence == sequence && w.kind != Write::close) b->second.payload += w.bytes;
}

}  // namespace loopgate
