#include "gateway/security/secret_file.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace loopgate {

std::string resolve_credential_path(const std::string& file, const std::string& what) {
    if (file.rfind("credential:", 0) != 0) return file;
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !*dir)
        throw std::runtime_error(what + " " + file +
                                 " names a systemd credential, but CREDENTIALS_DIRECTORY is not set "
                                 "(LoadCredential= in the unit)");
    return std::string(dir) + "/" + file.substr(11);
}

void for_each_secret_line(const std::string& path, const std::string& what,
                          const std::function<void(const std::string& line, int number)>& take) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(what + ": cannot read " + path);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        take(line, number);
    }
}

}  // namespace loopgate
