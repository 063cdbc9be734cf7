#include "drivers/modbus/poll_scheduler.hpp"

#include <algorithm>

namespace loopgate::modbus {

std::vector<PollBlock> plan_blocks(const Device& dev, std::size_t device_index, std::uint16_t max_gap,
                                   std::uint16_t max_bit_gap) {
    std::vector<std::size_t> order(dev.points.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const Point& pa = dev.points[a];
        const Point& pb = dev.points[b];
        if (pa.table != pb.table) return pa.table < pb.table;
        return pa.address < pb.address;
    });

    std::vector<PollBlock> blocks;
    for (std::size_t idx : order) {
        const Point& p = dev.points[idx];
        const bool bits = is_bit_table(p.table);
        const std::uint32_t limit = bits ? dev.max_bits : dev.max_registers;
        const std::uint32_t gap = bits ? max_bit_gap : max_gap;
        const std::uint32_t first = p.address;
        const std::uint32_t end = first + p.count();  // one past the last
        if (!blocks.empty()) {
            PollBlock& b = blocks.back();
            const std::uint32_t b_end = std::uint32_t{b.address} + b.count;
            if (b.table == p.table && first <= b_end + gap) {
                const std::uint32_t new_end = std::max(b_end, end);
                if (new_end - b.address <= limit) {
                    b.count = static_cast<std::uint16_t>(new_end - b.address);
                    b.points.push_back(idx);
                    continue;
                }
            }
        }
        blocks.push_back(PollBlock{device_index, p.table, p.address, p.count(), {idx}});
    }
    return blocks;
}

void PollScheduler::add_device(std::size_t device, std::chrono::milliseconds interval, std::vector<PollBlock> blocks) {
    entries_.push_back(Entry{device, interval, std::move(blocks)});
}

void PollScheduler::start(Clock::time_point now) {
    queue_.clear();
    for (Entry& e : entries_) {
        e.due = now;
        e.queued = 0;
    }
}

const PollBlock* PollScheduler::next(Clock::time_point now) {
    // Due devices join in the order they fell due, so a slow device cannot starve the others.
    std::vector<std::size_t> due;
    for (std::size_t i = 0; i < entries_.size(); ++i)
        if (!entries_[i].blocks.empty() && entries_[i].due <= now) due.push_back(i);
    std::stable_sort(due.begin(), due.end(), [&](std::size_t a, std::size_t b) { return entries_[a].due < entries_[b].due; });
    for (std::size_t i : due) {
        Entry& e = entries_[i];
        if (e.queued > 0) {
            ++overruns_;
        } else {
            for (std::size_t b = 0; b < e.blocks.size(); ++b) queue_.emplace_back(i, b);
            e.queued = e.blocks.size();
        }
        // Keep the cadence when on time; restart it when far behind instead of bursting to catch up.
        e.due += e.interval;
        if (e.due <= now) e.due = now + e.interval;
    }
    if (queue_.empty()) return nullptr;
    auto [entry, block] = queue_.front();
    queue_.pop_front();
    --entries_[entry].queued;
    return &entries_[entry].blocks[block];
}

std::optional<Clock::time_point> PollScheduler::next_due() const {
    std::optional<Clock::time_point> best;
    if (!queue_.empty()) return Clock::time_point::min();
    for (const Entry& e : entries_)
        if (!e.blocks.empty() && (!best || e.due < *best)) best = e.due;
    return best;
}

void PollScheduler::skip_rest_of_cycle(std::size_t device) {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].device != device) continue;
        std::erase_if(queue_, [&](const auto& q) { return q.first == i; });
        entries_[i].queued = 0;
    }
}

void PollScheduler::poll_soon(std::size_t device, Clock::time_point now) {
    if (Entry* e = find(device); e && e->queued == 0) e->due = now;
}

const std::vector<PollBlock>& PollScheduler::blocks(std::size_t device) const {
    static const std::vector<PollBlock> none;
    const Entry* e = find(device);
    return e ? e->blocks : none;
}

PollScheduler::Entry* PollScheduler::find(std::size_t device) {
    for (Entry& e : entries_)
        if (e.device == device) return &e;
    return nullptr;
}

const PollScheduler::Entry* PollScheduler::find(std::size_t device) const {
    for (const Entry& e : entries_)
        if (e.device == device) return &e;
    return nullptr;
}

std::uint64_t PollScheduler::planned_load_permille(std::chrono::nanoseconds char_time, std::chrono::nanoseconds t35) const {
    double load = 0;
    for (const Entry& e : entries_) {
        if (e.blocks.empty() || e.interval.count() <= 0) continue;
        double cycle_ns = 0;
        for (const PollBlock& b : e.blocks) {
            std::size_t data = is_bit_table(b.table) ? (b.count + 7u) / 8 : b.count * 2u;
            std::size_t chars = 8 + 5 + data;
            cycle_ns += static_cast<double>(chars * char_time.count() + 2 * t35.count());
        }
        load += cycle_ns / static_cast<double>(std::chrono::nanoseconds(e.interval).count());
    }
    return static_cast<std::uint64_t>(load * 1000.0 + 0.5);
}

}  // namespace loopgate::modbus
