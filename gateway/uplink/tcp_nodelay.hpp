#pragma once
// Paho C (1.3) never sets TCP_NODELAY on the broker connection. A command's reply, published a few
// milliseconds after the PUBACK of the command itself, then waits in Nagle's buffer until the broker
// acknowledges the PUBACK, which Linux delays by up to 40 ms: 35-41 of the 57 ms from command to
// reply (docs/BENCHMARKS.md, "Command latency"). Paho does not expose its socket, so the uplink
// finds it once connected: every connected TCP socket of the process (the broker connection is the
// only one the gateway opens; the status page's accepted ones gain nothing from Nagle either).

namespace loopgate {

// Sets TCP_NODELAY on each connected TCP socket of this process; returns how many it set.
int set_tcp_nodelay_on_connected_sockets();

}  // namespace loopgate
