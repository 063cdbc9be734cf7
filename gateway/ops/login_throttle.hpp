#pragma once
// How many password checks an address may ask for: the status page's login throttle, a pure core on
// the caller's clock (LoginGuard is its shell). Five failures from an address within a minute of its
// first attempt shut it out for the rest of that minute. An attempt whose verdict is still being
// computed counts against its address, so a client cannot slip past the limit by asking many at once.
//
// Bounded in memory: at most `capacity` addresses are tracked. An address is never forgotten before its
// minute is over, whatever others do; when the table is full of live addresses, every address not in it
// is refused (the throttle is global) until the oldest entries expire. So a flood from many addresses
// costs at most capacity x failures_allowed checks a minute, and the table a fixed size.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace loopgate {

class LoginThrottle {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr int failures_allowed = 5;
    static constexpr std::chrono::seconds window{60};

    // `capacity`: gateway.http.login_addresses (HttpConfig).
    explicit LoginThrottle(std::size_t capacity) : capacity_(capacity) {}

    // True when a password from `client` must not be looked at now: its address has used up its
    // attempts, or the table is full and the address is not in it.
    bool refuses(const std::string& client, Clock::time_point now);
    // A check for `client` begins (only after refuses() said false at the same time).
    void begin(const std::string& client, Clock::time_point now);
    // The check ended: failed, or not (a match, or a check that could not run). True when the
    // address has just used up its attempts.
    bool end(const std::string& client, bool failed, Clock::time_point now);

    std::size_t tracked() const { return entries_.size(); }
    bool full(Clock::time_point now);
    // How often an address not in the full table was refused (the global throttle at work).
    std::uint64_t refused_globally() const { return refused_globally_; }

private:
    struct Entry {
        Clock::time_point since;  // the first attempt of its minute
        int failures = 0;
        int pending = 0;  // checks begun and not ended
    };
    void expire(Clock::time_point now);

    std::size_t capacity_;
    std::unordered_map<std::string, Entry> entries_;
    // No entry without a check in flight expires before this; the table is scanned no sooner.
    Clock::time_point next_expiry_ = Clock::time_point::max();
    std::uint64_t refused_globally_ = 0;
};

}  // namespace loopgate
