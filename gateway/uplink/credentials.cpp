#include "gateway/uplink/credentials.hpp"

#include <fstream>
#include <stdexcept>

#include "gateway/security/credential_path.hpp"

namespace loopgate {

Credentials read_credentials(std::string file) {
    file = resolve_credential_path(file, "uplink: credentials_file");
    std::ifstream in(file);
    if (!in) throw std::runtime_error("uplink: cannot read credentials file " + file);
    Credentials c;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        auto eq = line.find('=');
        std::string key = line.substr(0, eq);
        if (eq == std::string::npos || (key != "username" && key != "password"))
            throw std::runtime_error(file + ":" + std::to_string(number) +
                                     ": expected 'username=...' or 'password=...'");
        (key == "username" ? c.username : c.password) = line.substr(eq + 1);
    }
    if (c.username.empty()) throw std::runtime_error(file + ": no username= line");
    return c;
}

}  // namespace loopgate
