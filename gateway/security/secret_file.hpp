#pragma once
// Files of secrets kept out of the YAML (broker credentials, the status page's users): they may come
// as systemd credentials (LoadCredential=/SetCredential=), and they are read line by line the same way.

#include <functional>
#include <string>

namespace loopgate {

// `credential:<name>` names $CREDENTIALS_DIRECTORY/<name>; anything else is a path as it is. Throws
// std::runtime_error, naming `what` (the config field), when a credential is named but the process
// runs without CREDENTIALS_DIRECTORY.
std::string resolve_credential_path(const std::string& file, const std::string& what);

// Calls `take` with each line that is neither blank nor a '#' comment (a trailing CR removed) and its
// number. Throws std::runtime_error "<what>: cannot read <path>" when the file cannot be opened.
void for_each_secret_line(const std::string& path, const std::string& what,
                          const std::function<void(const std::string& line, int number)>& take);

}  // namespace loopgate
