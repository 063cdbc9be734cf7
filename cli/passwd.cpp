// loopgate passwd [--user NAME]: a password hash for gateway.http.users, from a password typed twice
// (or read from stdin when it is not a terminal). Only the hash is printed; the password goes nowhere.
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "cli/commands.hpp"
#include "gateway/security/password_hash.hpp"

namespace loopgate::commands {

const char* const passwd_usage =
    "usage: loopgate passwd [--user NAME [--line]]\n"
    "\n"
    "Prints a password hash for gateway.http.users (the status page's login off loopback):\n"
    "PBKDF2-HMAC-SHA256, 100000 iterations, a random salt. On a terminal the password is asked\n"
    "for twice without echo; otherwise the first line of stdin is the password.\n"
    "\n"
    "options:\n"
    "  --user NAME    print a ready YAML entry `- {name: NAME, password_hash: ...}` instead of the hash\n"
    "  --line         with --user: print `NAME:HASH`, a line of gateway.http.users_file\n";

int passwd(const Args& args) {
    allow_only(args, {"--user"}, {"--line"});
    std::string user = option(args, "--user");
    if (user.find(':') != std::string::npos) throw std::invalid_argument("--user must not contain ':'");
    if (flag(args, "--line") && user.empty()) throw std::invalid_argument("--line needs --user");
    std::string password = read_secret("password: ");
    if (::isatty(STDIN_FILENO) && read_secret("again: ") != password) throw std::runtime_error("the passwords differ");
    if (password.empty()) throw std::runtime_error("an empty password is no password");
    std::string hash = hash_password(password);
    if (user.empty()) std::printf("%s\n", hash.c_str());
    else if (flag(args, "--line")) std::printf("%s:%s\n", user.c_str(), hash.c_str());
    else std::printf("- {name: %s, password_hash: \"%s\"}\n", user.c_str(), hash.c_str());
    return 0;
}

}  // namespace loopgate::commands
