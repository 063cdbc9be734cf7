#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace loopgate {

namespace {

std::string failure(const std::string& what, int error) { return what + ": " + std::strerror(error); }

}  // namespace

int sync_directory_of(const std::string& path) {
    std::string directory = std::filesystem::path(path).parent_path().string();
    int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    int error = ::fsync(fd) == 0 ? 0 : errno;
    ::close(fd);
    return error;
}

std::string replace_file_atomically(const std::string& path, std::string_view content) {
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return failure("cannot create " + tmp, errno);
    std::string why;
    std::size_t done = 0;
    while (why.empty() && done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) why = failure("cannot write " + tmp, n < 0 ? errno : ENOSPC);
        else done += static_cast<std::size_t>(n);
    }
    if (why.empty() && ::fsync(fd) != 0) why = failure("cannot sync " + tmp, errno);
    ::close(fd);
    if (why.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) why = failure("cannot rename " + tmp + " to " + path, errno);
    if (!why.empty()) {
        ::unlink(tmp.c_str());
        return why;
    }
    // The rename itself must reach the disk before anyone relies on the new content.
    if (int error = sync_directory_of(path); error != 0) return failure("cannot sync the directory of " + path, error);
    return {};
}

}  // namespace loopgate
