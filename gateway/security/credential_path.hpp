#pragma once
// Secrets kept out of the YAML may come as systemd credentials (LoadCredential=/SetCredential=):
// `credential:<name>` names $CREDENTIALS_DIRECTORY/<name>; anything else is a path as it is.

#include <string>

namespace loopgate {

// Throws std::runtime_error, naming `what` (the config field), when a credential is named but the
// process runs without CREDENTIALS_DIRECTORY.
std::string resolve_credential_path(const std::string& file, const std::string& what);

}  // namespace loopgate
