#include "gateway/uplink/credentials.hpp"

#include <stdexcept>

#include "gateway/security/secret_file.hpp"

namespace loopgate {

Credentials read_credentials(std::string file) {
    file = resolve_credential_path(file, "uplink: credentials_file");
    Credentials c;
    for_each_secret_line(file, "uplink: credentials file", [&](const std::string& line, int number) {
        auto eq = line.find('=');
        std::string key = line.substr(0, eq);
        if (eq == std::string::npos || (key != "username" && key != "password"))
            throw std::runtime_error(file + ":" + std::to_string(number) +
                                     ": expected 'username=...' or 'password=...'");
        (key == "username" ? c.username : c.password) = line.substr(eq + 1);
    });
    if (c.username.empty()) throw std::runtime_error(file + ": no username= line");
    return c;
}

}  // namespace loopgate
