#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "cli/commands.hpp"

namespace loopgate::commands {

std::string option(const Args& args, const std::string& name, const std::string& def) {
    auto all = options(args, name);
    return all.empty() ? def : all.back();
}

std::vector<std::string> options(const Args& args, const std::string& name) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == name) {
            if (i + 1 >= args.size()) throw std::invalid_argument(name + " needs a value");
            out.push_back(args[++i]);
        } else if (args[i].rfind(name + "=", 0) == 0) {
            out.push_back(args[i].substr(name.size() + 1));
        }
    }
    return out;
}

double number_option(const Args& args, const std::string& name, double def, double min) {
    std::string text = option(args, name);
    if (text.empty()) return def;
    try {
        std::size_t used = 0;
        double v = std::stod(text, &used);
        if (used == text.size() && v >= min) return v;
    } catch (const std::exception&) {
    }
    throw std::invalid_argument(name + " expects a number of at least " + std::to_string(static_cast<long long>(min)) +
                                ", got '" + text + "'");
}

bool flag(const Args& args, const std::string& name) { return std::find(args.begin(), args.end(), name) != args.end(); }

void allow_only(const Args& args, const std::vector<std::string>& with_value, const std::vector<std::string>& flags) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        std::string name = a.substr(0, a.find('='));
        if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
            if (a.find('=') == std::string::npos) ++i;
            continue;
        }
        if (std::find(flags.begin(), flags.end(), a) != flags.end()) continue;
        throw std::invalid_argument("unexpected argument '" + a + "'");
    }
}

std::string read_secret(const char* prompt) {
    bool terminal = ::isatty(STDIN_FILENO);
    termios saved{};
    if (terminal) {
        std::fputs(prompt, stderr);
        ::tcgetattr(STDIN_FILENO, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    bool got = static_cast<bool>(std::getline(std::cin, line));
    if (terminal) {
        ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        std::fputs("\n", stderr);
    }
    if (!got) throw std::runtime_error("no password given");
    return line;
}

}  // namespace loopgate::commands
