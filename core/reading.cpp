#include "core/reading.hpp"

namespace loopgate {

const char* quality_name(Quality q) {
    switch (q) {
        case Quality::good: return "good";
        case Quality::uncertain: return "uncertain";
        case Quality::bad: return "bad";
    }
    return "bad";
}

}  // namespace loopgate
