#include "gateway/uplink/credentials.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace loopgate {

Credentials read_credentials(std::string file) {
    if (file.rfind("credential:", 0) == 0) {
        const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
        if (!dir || !*dir)
            throw std::runtime_error("uplink: credentials_file " + file +
                                     " names a systemd credential, but CREDENTIALS_DIRECTORY is not set "
                                     "(LoadCredential= in the unit)");
        file = std::string(dir) + "/" + file.substr(11);
    }
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
