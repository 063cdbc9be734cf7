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
int mbus_scan(const Args& args);  // the M-Bus meters on a line
int simulate(const Args& args);
int keygen(const Args& args);  // Ed25519 key pair for signing.key_file / operator_keys
int verify(const Args& args);  // checks a captured SignedBatch
int status(const Args& args);  // the status page's summary in a terminal
int passwd(const Args& args);  // a password hash for gateway.http.users
int config(const Args& args);  // push / revert / keygen: signed remote configuration
int find(const Args& args);    // search the gateways' retained catalogs
int catalog(const Args& args); // show or clear one gateway's retained catalog

// What `loopgate COMMAND --help` prints: synopsis and every option. Defined beside each command.
extern const char* const run_usage;
extern const char* const check_config_usage;
extern const char* const list_ports_usage;
extern const char* const tail_usage;
extern const char* const decode_usage;
extern const char* const mbus_scan_usage;
extern const char* const simulate_usage;
extern const char* const keygen_usage;
extern const char* const verify_usage;
extern const char* const status_usage;
extern const char* const passwd_usage;
extern const char* const config_usage;
extern const char* const find_usage;
extern const char* const catalog_usage;

// Small shared argument helpers: "--name value" pairs; throw std::invalid_argument on misuse.
std::string option(const Args& args, const std::string& name, const std::string& def = "");
std::vector<std::string> options(const Args& args, const std::string& name);
bool flag(const Args& args, const std::string& name);
// A numeric option at least `min`; anything else is a usage error naming the option.
double number_option(const Args& args, const std::string& name, double def, double min = 0);
// A password: asked for on the terminal without echo, or the first line of stdin when it is not one.
std::string read_secret(const char* prompt);
void allow_only(const Args& args, const std::vector<std::string>& with_value, const std::vector<std::string>& flags);

}  // namespace loopgate::commands
