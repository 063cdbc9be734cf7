// loopgate verify --key PUB [--file F]: checks a captured SignedBatch payload (from F or stdin) and
// prints the batch summary, or "BAD SIGNATURE" with exit 1.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/commands.hpp"
#include "gateway/security/batch_signer.hpp"
#include "loopgate.pb.h"

namespace loopgate::commands {

const char* const verify_usage =
    "usage: loopgate verify --key PUB [--file F]\n"
    "\n"
    "Checks a captured signed batch payload and prints its summary; prints BAD SIGNATURE (or what\n"
    "else is wrong) and exits 1 when it does not verify.\n"
    "\n"
    "options:\n"
    "  --key PUB       the gateway's public key, PEM (required)\n"
    "  --file F        the payload (default: stdin; - is stdin too)\n";

int verify(const Args& args) {
    allow_only(args, {"--key", "--file"}, {});
    std::string key_file = option(args, "--key");
    if (key_file.empty()) throw std::invalid_argument("--key PUBLIC_KEY.pem is required");
    ed25519::Key key = ed25519::Key::load_public(key_file);
    std::string payload;
    std::string file = option(args, "--file");
    if (file.empty() || file == "-") {
        std::ostringstream in;
        in << std::cin.rdbuf();
        payload = in.str();
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + file);
        payload.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::string bytes;
    std::string problem = verify_signed_batch(payload, key, bytes);
    if (!problem.empty()) {
        std::printf("%s\n", problem.c_str());
        return 1;
    }
    v1::Batch batch;
    if (!batch.ParseFromString(bytes)) {
        std::printf("signature OK, but the signed bytes are not a loopgate.v1.Batch\n");
        return 1;
    }
    std::printf("OK key %s: gateway %s batch %llu%s, %d readings, created %lld ns\n", key.id().c_str(),
                batch.gateway_id().c_str(), static_cast<unsigned long long>(batch.batch_sequence()),
                batch.historical() ? " (historical)" : "", batch.readings_size(),
                static_cast<long long>(batch.created_time_ns()));
    return 0;
}

}  // namespace loopgate::commands
