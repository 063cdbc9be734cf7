#pragma once
// Small files that must survive a power cut whole: the id marks beside the store, the replay
// window of commands. Written to a temporary file, synced, renamed over the old one, and the
// directory synced, so a power cut leaves the old content or the new, never a mix or nothing.

#include <string>
#include <string_view>

namespace loopgate {

// Returns "" on success, or what failed, naming the file and the errno's text.
std::string replace_file_atomically(const std::string& path, std::string_view content);

// fsync()s the directory holding `path`, so that a file created or renamed there stays after a power
// cut. Returns 0 or an errno.
int sync_directory_of(const std::string& path);

}  // namespace loopgate
