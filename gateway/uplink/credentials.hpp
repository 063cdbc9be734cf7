#pragma once
// The broker's user name and password, read from a file kept out of the YAML so the config can be
// shared freely.

#include <string>

namespace loopgate {

struct Credentials {
    std::string username;
    std::string password;
};

// "username=..." and "password=..." lines. `credential:<name>` reads $CREDENTIALS_DIRECTORY/<name>
// (systemd's LoadCredential=/SetCredential=). Throws with the file and line of the problem.
Credentials read_credentials(std::string file);

}  // namespace loopgate
