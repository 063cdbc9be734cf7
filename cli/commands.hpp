#pragma once
// The subcommands of the `loopgate` binary; each returns the process exit code.

#include <string>
#include <vector>

namespace loopgate::commands {

using Args = std::vector<std::string>;

int run(const Args& args);
int check_config(const Args& args);
int list_ports(const Args& args);
int tail(const Args& args);
int decode(const Args& args);
int simulate(const Args& args);
int keygen(const Args& args);  // Ed25519 key pair for signing.key_file / operator_keys
int verify(const Args& args);  // checks a captured SignedBatch

// Small shared argument helpers: "--name value" pairs; throw std::invalid_argument on misuse.
std::string option(const Args& args, const std::string& name, const std::string& def = "");
std::vector<std::string> options(const Args& args, const std::string& name);
bool flag(const Args& args, const std::string& name);
void allow_only(const Args& args, const std::vector<std::string>& with_value, const std::vector<std::string>& flags);

}  // namespace loopgate::commands
