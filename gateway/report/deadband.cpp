#include "gateway/report/deadband.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <algorithm>
#include <initializer_list>
#include <optional>

namespace loopgate {

namespace {

// A finite number as it is: (-1)^negative * mantissa * 2^exponent.
struct Dyadic {
    bool negative = false;
    std::uint64_t mantissa = 0;
    int exponent = 0;
};

std::optional<Dyadic> dyadic(const Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        bool negative = *i < 0;
        // Two's complement: 0 - x is |x| for every int64, INT64_MIN's 2^63 included.
        std::uint64_t magnitude = negative ? std::uint64_t{0} - static_cast<std::uint64_t>(*i) : static_cast<std::uint64_t>(*i);
        return Dyadic{negative, magnitude, 0};
    }
    if (const auto* d = std::get_if<double>(&v)) {
        if (!std::isfinite(*d)) return std::nullopt;
        auto bits = std::bit_cast<std::uint64_t>(*d);
        int biased = static_cast<int>((bits >> 52) & 0x7ff);
        std::uint64_t fraction = bits & ((std::uint64_t{1} << 52) - 1);
        if (biased == 0) return Dyadic{(bits >> 63) != 0, fraction, -1074};  // denormal (or zero)
        return Dyadic{(bits >> 63) != 0, fraction | (std::uint64_t{1} << 52), biased - 1075};
    }
    return std::nullopt;
}

// Which bits the numbers of one comparison can hold: from the least bit of any of its operands (or of
// their product) to above the largest sum, times 100, with room for carries. Most comparisons need a
// few words; the widest (a denormal against DBL_MAX) about 105.
struct Frame {
    int lowest = 0;        // the exponent of word 0's least bit, a multiple of 32
    std::size_t words = 0;
};

// A non-negative fixed-point number in a Frame: from 2^-2176 at the lowest (under the least bit of a
// product of two denormals, 2^-2148) up to 2^1344 at the widest (over 100 * 2 * DBL_MAX and
// DBL_MAX * 1000). 440 bytes on the stack; the arithmetic runs over the frame's words only.
class Wide {
public:
    static constexpr std::size_t kWords = 110;

    explicit Wide(const Frame& f) : lowest_(f.lowest), words_(f.words) {}

    // Adds m * 2^exponent.
    void add(std::uint64_t m, int exponent) {
        const int position = exponent - lowest_;
        const auto word = static_cast<std::size_t>(position / 32);
        const int bit = position % 32;
        add_at(word, (m & 0xffffffffu) << bit);
        add_at(word + 1, (m >> 32) << bit);
    }
    void add(const Dyadic& d) { add(d.mantissa, d.exponent); }
    // Adds |a| * |b|, exactly (each mantissa below 2^64, in 32-bit halves).
    void add_product(const Dyadic& a, const Dyadic& b) {
        const std::uint64_t a0 = a.mantissa & 0xffffffffu, a1 = a.mantissa >> 32;
        const std::uint64_t b0 = b.mantissa & 0xffffffffu, b1 = b.mantissa >> 32;
        const int e = a.exponent + b.exponent;
        add(a0 * b0, e);
        add(a0 * b1, e + 32);
        add(a1 * b0, e + 32);
        add(a1 * b1, e + 64);
    }
    void add(const Wide& other) {
        std::uint64_t carry = 0;
        for (std::size_t i = 0; i < words_; ++i) {
            std::uint64_t s = std::uint64_t{w_[i]} + other.w_[i] + carry;
            w_[i] = static_cast<std::uint32_t>(s);
            carry = s >> 32;
        }
    }
    // this - other; needs this >= other.
    void subtract(const Wide& other) {
        std::uint64_t borrow = 0;
        for (std::size_t i = 0; i < words_; ++i) {
            std::uint64_t take = std::uint64_t{other.w_[i]} + borrow;
            borrow = w_[i] < take ? 1 : 0;
            w_[i] = static_cast<std::uint32_t>((std::uint64_t{1} << 32) * borrow + w_[i] - take);
        }
    }
    void multiply(std::uint32_t factor) {
        std::uint64_t carry = 0;
        for (std::size_t i = 0; i < words_; ++i) {
            std::uint64_t p = std::uint64_t{w_[i]} * factor + carry;
            w_[i] = static_cast<std::uint32_t>(p);
            carry = p >> 32;
        }
    }
    bool zero() const {
        for (std::size_t i = 0; i < words_; ++i)
            if (w_[i]) return false;
        return true;
    }
    // Both in the same frame.
    friend bool operator<(const Wide& a, const Wide& b) {
        for (std::size_t i = a.words_; i-- > 0;)
            if (a.w_[i] != b.w_[i]) return a.w_[i] < b.w_[i];
        return false;
    }

private:
    void add_at(std::size_t word, std::uint64_t value) {
        for (std::size_t i = word; value && i < words_; ++i) {
            std::uint64_t s = std::uint64_t{w_[i]} + (value & 0xffffffffu);
            w_[i] = static_cast<std::uint32_t>(s);
            value = (value >> 32) + (s >> 32);
        }
    }

    int lowest_;
    std::size_t words_;
    std::array<std::uint32_t, kWords> w_{};  // zeroed whole (a memset), so copies read no indeterminate words
};

// The frame for numbers made of these exponents (each the least bit of a mantissa below 2^64).
Frame frame_for(std::initializer_list<int> exponents) {
    const int low = std::min(exponents);
    const int high = std::max(exponents);
    const int lowest = (low >= 0 ? low / 32 : -((31 - low) / 32)) * 32;
    // A 128-bit product above its least bit, a sum's carry, 100 (7 bits), and a word to spare.
    const int highest = high + 128 + 1 + 7 + 32;
    return {lowest, std::min(static_cast<std::size_t>((highest - lowest) / 32 + 1), Wide::kWords)};
}

// |a - b|, exactly.
Wide distance(const Dyadic& a, const Dyadic& b, const Frame& f) {
    Wide x(f), y(f);
    x.add(a);
    y.add(b);
    if (a.negative != b.negative) {
        x.add(y);
        return x;
    }
    if (x < y) std::swap(x, y);
    x.subtract(y);
    return x;
}

// The absolute deadband on two doubles or two integers, exactly and without the wide numbers: what
// nearly every reading takes. nullopt when the wide path must decide.
std::optional<bool> absolute_fast(const Value& last, const Value& now, double amount) {
    const auto* xd = std::get_if<double>(&last);
    const auto* yd = std::get_if<double>(&now);
    if (xd && yd) {
        // Rounding is monotonic and the amount is a double: when the rounded |now - last| differs
        // from the amount, the exact one lies on the same side. When they are equal, the rounding
        // error (Knuth's two-sum, exact without overflow) says which side.
        const double s = *yd - *xd;
        if (!std::isfinite(s)) return std::nullopt;
        const double moved = std::fabs(s);
        if (moved != amount) return moved > amount;
        const double back = s - *yd;
        const double error = (*yd - (s - back)) + (-*xd - back);
        if (!std::isfinite(error)) return std::nullopt;
        return s >= 0 ? error >= 0 : error <= 0;
    }
    const auto* xi = std::get_if<std::int64_t>(&last);
    const auto* yi = std::get_if<std::int64_t>(&now);
    if (xi && yi) {
        // |now - last| fits an unsigned 64-bit integer; an integer reaches the amount when it reaches
        // the amount rounded up.
        const std::uint64_t moved = *yi >= *xi ? static_cast<std::uint64_t>(*yi) - static_cast<std::uint64_t>(*xi)
                                               : static_cast<std::uint64_t>(*xi) - static_cast<std::uint64_t>(*yi);
        const double needed = std::ceil(amount);
        if (needed >= 18446744073709551616.0) return false;  // 2^64: more than any int64 can move
        return moved >= static_cast<std::uint64_t>(needed);
    }
    return std::nullopt;
}

}  // namespace

bool same_reported_value(const Value& a, const Value& b) {
    const auto* x = std::get_if<double>(&a);
    const auto* y = std::get_if<double>(&b);
    if (x && y && std::isnan(*x) && std::isnan(*y)) return true;
    return a == b;
}

bool moved_out_of_deadband(const Value& last, const Value& now, const Deadband& band) {
    if (!std::isfinite(band.amount) || band.amount < 0) return true;
    auto x = dyadic(last), y = dyadic(now);
    if (!x || !y) return !same_reported_value(last, now);  // text, switches, NaN, infinities
    if (band.amount == 0) return true;
    if (!band.percent)
        if (auto fast = absolute_fast(last, now, band.amount)) return *fast;
    const Dyadic amount = *dyadic(Value(band.amount));
    const Frame frame = band.percent ? frame_for({x->exponent, y->exponent, x->exponent + amount.exponent})
                                     : frame_for({x->exponent, y->exponent, amount.exponent});
    Wide moved = distance(*x, *y, frame);
    if (!band.percent) {
        Wide threshold(frame);
        threshold.add(amount);
        return !(moved < threshold);
    }
    // A percentage of zero is zero: any change, but not an unchanged zero.
    if (x->mantissa == 0) return !moved.zero();
    // |now - last| >= |last| * amount / 100, as 100 * |now - last| >= |last| * amount.
    moved.multiply(100);
    Wide threshold(frame);
    threshold.add_product(*x, amount);
    return !(moved < threshold);
}

}  // namespace loopgate
