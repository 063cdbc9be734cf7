#include "gateway/store/id_marks.hpp"

#include <fstream>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "gateway/store/crc32c.hpp"

namespace loopgate {

namespace {

// Text, one mark per line, and a checksum line last so a damaged file is told from a short one:
//   loopgate-ids 1
//   batch 4096
//   device 131072 meter1
//   crc32c 1234567890
constexpr const char* magic = "loopgate-ids 1";

std::string render(std::uint64_t batch, const std::map<std::string, std::uint64_t>& devices) {
    std::string body = std::string(magic) + "\nbatch " + std::to_string(batch) + "\n";
    for (const auto& [name, seq] : devices) body += "device " + std::to_string(seq) + " " + name + "\n";
    return body + "crc32c " + std::to_string(crc32c(body)) + "\n";
}

}  // namespace

IdMarks::IdMarks(std::string path, std::uint64_t batch_block, std::uint64_t device_block)
    : path_(std::move(path)), batch_block_(batch_block), device_block_(device_block) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    auto crc_at = text.rfind("crc32c ");
    bool ok = text.rfind(magic, 0) == 0 && crc_at != std::string::npos &&
              std::to_string(crc32c(std::string_view(text).substr(0, crc_at))) + "\n" == text.substr(crc_at + 7);
    std::istringstream lines(ok ? text.substr(0, crc_at) : std::string());
    std::string line;
    std::getline(lines, line);  // magic
    while (ok && std::getline(lines, line)) {
        std::istringstream words(line);
        std::string kind;
        std::uint64_t value = 0;
        words >> kind >> value;
        if (!words) {
            ok = false;
        } else if (kind == "batch") {
            batch_ = value;
        } else if (kind == "device") {
            std::string name;
            std::getline(words >> std::ws, name);
            if (name.empty()) ok = false;
            else devices_[name] = value;
        } else {
            ok = false;
        }
    }
    if (!ok) {
        damaged_ = true;
        batch_ = 0;
        devices_.clear();
        log::error("id marks ", path_, " are unreadable; ids continue from the store alone until they are rewritten");
    }
}

bool IdMarks::cover(std::uint64_t batch, const std::map<std::string, std::uint64_t>& devices) {
    bool needed = batch > batch_;
    for (const auto& [name, seq] : devices) {
        auto it = devices_.find(name);
        if (it == devices_.end() || seq > it->second) needed = true;
    }
    if (!needed) return true;
    std::uint64_t new_batch = batch > batch_ ? batch + batch_block_ : batch_;
    std::map<std::string, std::uint64_t> new_devices = devices_;
    for (const auto& [name, seq] : devices) {
        auto& mark = new_devices[name];
        if (seq > mark) mark = seq + device_block_;
    }
    if (!save(new_batch, new_devices)) {
        ++failures_;
        return false;
    }
    batch_ = new_batch;
    devices_ = std::move(new_devices);
    ++writes_;
    return true;
}

bool IdMarks::save(std::uint64_t batch, const std::map<std::string, std::uint64_t>& devices) {
    std::string why = replace_file_atomically(path_, render(batch, devices));
    if (!why.empty()) last_error_ = "id marks " + path_ + ": " + why;
    return why.empty();
}

}  // namespace loopgate
