#pragma once
// A directory of one's own for a test case, removed with everything in it when the case ends.

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace loopgate::testing {

enum class Medium { disk, memory };

struct TempDir {
    std::filesystem::path path;

    // `memory` puts it in /dev/shm when there is one: tests that write a database thousands of times
    // (power-cut runs) would otherwise spend their time in fsync.
    explicit TempDir(const std::string& name, Medium medium = Medium::disk) {
        std::string base = medium == Medium::memory && ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        std::string tmpl = base + "/loopgate-" + name + "-XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a directory like " + tmpl);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace loopgate::testing
