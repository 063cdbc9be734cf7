#include "gateway/security/credential_path.hpp"

#include <cstdlib>
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

}  // namespace loopgate
