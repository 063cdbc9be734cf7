#include "gateway/downlink/replay_journal.hpp"

#include "core/atomic_file.hpp"
#include "core/hex.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "gateway/downlink/command_check.hpp"

namespace loopgate {

namespace {

constexpr std::string_view kHeader = "loopgate command ids 1\n";
constexpr std::size_t kMaxReplayFileBytes = std::size_t{10'000'000} * (20 + 2 * kMaxCommandIdLength + 2) + 4096;

// FNV-1a: the file is rewritten whole, so a checksum over the body tells a torn or edited file
// from a good one. Not a defence against a local attacker, who could rewrite it anyway.
std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

template <typename T>
bool number(std::string_view text, T& out, int base = 10) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::string format_replay_window(const std::unordered_map<std::string, std::int64_t>& ids) {
    std::vector<std::pair<std::int64_t, const std::string*>> sorted;
    sorted.reserve(ids.size());
    for (const auto& [id, expires] : ids) sorted.emplace_back(expires, &id);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first < b.first : *a.second < *b.second; });
    std::string body(kHeader);
    for (const auto& [expires, id] : sorted) body += std::to_string(expires) + " " + hex(*id) + "\n";
    char tail[64];
    std::snprintf(tail, sizeof tail, "end %zu %016llx\n", sorted.size(), static_cast<unsigned long long>(fnv1a(body)));
    return body + tail;
}

std::string parse_replay_window(std::string_view text, std::int64_t now_ns, ReplayIds& out) {
    out.clear();
    if (text.substr(0, kHeader.size()) != kHeader) return "not a command id file (unknown first line)";
    if (text.empty() || text.back() != '\n') return "truncated (no final newline)";
    std::size_t last = text.rfind('\n', text.size() - 2);
    std::string_view body = text.substr(0, last + 1);
    std::string_view tail = text.substr(last + 1, text.size() - last - 2);
    std::size_t count = 0;
    std::uint64_t sum = 0;
    auto space = tail.rfind(' ');
    if (tail.substr(0, 4) != "end " || space == std::string_view::npos || space < 4 ||
        !number(tail.substr(4, space - 4), count) || !number(tail.substr(space + 1), sum, 16))
        return "truncated (no end line)";
    if (fnv1a(body) != sum) return "checksum mismatch (damaged)";
    std::size_t seen = 0;
    std::string id;
    for (std::size_t pos = kHeader.size(); pos < body.size();) {
        std::size_t eol = body.find('\n', pos);
        std::string_view line = body.substr(pos, eol - pos);
        pos = eol + 1;
        auto sp = line.find(' ');
        std::int64_t expires = 0;
        if (sp == std::string_view::npos || !number(line.substr(0, sp), expires) || !unhex(line.substr(sp + 1), id) ||
            id.empty() || id.size() > kMaxCommandIdLength)
            return "line " + std::to_string(seen + 2) + " is not '<expires_ns> <hex id>'";
        ++seen;
        if (expires >= now_ns) out.emplace_back(id, expires);
    }
    if (seen != count) return "holds " + std::to_string(seen) + " ids, its end line says " + std::to_string(count);
    return {};
}

ReplayWindow ReplayJournal::load(std::int64_t now_ns) const {
    ReplayWindow w;
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) w.problem = errno_text("cannot read " + path_);
        return w;
    }
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) w.problem = errno_text("cannot read " + path_);
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        // id_cache is at most 10 million ids of at most 128 bytes: anything larger is not ours.
        if (text.size() > kMaxReplayFileBytes) {
            w.problem = path_ + ": larger than any window loopgate writes";
            break;
        }
    }
    ::close(fd);
    if (w.problem.empty())
        if (auto why = parse_replay_window(text, now_ns, w.ids); !why.empty()) w.problem = path_ + ": " + why;
    if (!w.problem.empty()) w.ids.clear();
    return w;
}

std::string ReplayJournal::save(const std::unordered_map<std::string, std::int64_t>& ids) const {
    // The new window must be on disk before the command is carried out.
    return replace_file_atomically(path_, format_replay_window(ids));
}

}  // namespace loopgate
