// Paths through NATs in virtual time: every pair of machines runs the agent's PathSelector
// (paths/path_select.hpp) on both ends, fed as the agent feeds it (candidates ranked by
// paths::rank_candidates, the device's endpoint, handshake time and received bytes, a relay when
// PathSelector::wants_relay says so), against a model of WireGuard devices and NATs:
//
// - A device sends only on its persistent keepalive (the agent sets one on every peer): a
//   keepalive on a session younger than 180 s, else a handshake initiation (at most one per
//   5 s); a session older than 120 s is renewed. A kick sends at once; a restart also drops the
//   session. Any packet that arrives moves the device's endpoint to its source (roaming); an
//   initiation is answered to that source; the answer completes the handshake at both ends.
// - A public machine receives everything. Behind an endpoint-independent NAT a machine keeps one
//   external address and port (its WireGuard port, preserved) and receives from an address and
//   port only after sending there (port-restricted cone, the common home router). Behind a
//   symmetric NAT every destination gets its own external port, and only that destination may
//   answer on it. Private addresses are reachable from nowhere else.
// - What each machine publishes: its private address and its reflexive address (the WireGuard
//   port at its public IP, as the agent publishes it). A public member (machine 0) also reports
//   where it saw each machine's packets come from (the agent's observed endpoints).
// - A relay delivers between two machines once both have bound it.
//
// Expected: a pair with a public end, or two endpoint-independent NATs, goes direct; a
// symmetric NAT with anything but a public machine ends on the relay.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft::sim {

enum class NatType { none, endpoint_independent, symmetric };
const char* nat_name(NatType type);

struct PathSimOptions {
  size_t nodes = 12;
  uint64_t seed = 1;
  uint64_t limit_ms = 300'000;  // every pair must hold its expected path within this
  uint64_t hold_ms = 600'000;   // then keep it this long (rekeys, the relay's periodic direct retry)
  bool broken_relay_trigger = false;  // test-only: the selectors never ask for a relay
};

struct PathSimReport {
  bool ok = true;
  std::string violation;
  std::vector<NatType> nats;
  size_t pairs = 0, direct = 0, relayed = 0;
  // Per pair: from the later of the two machines' start until both ends hold the expected path
  // with a live session.
  double settle_p50_s = -1, settle_p99_s = -1, settle_max_s = -1;
  uint64_t packets = 0, packets_dropped = 0;
  uint64_t trace_hash = 0;
};

PathSimReport run_paths(const PathSimOptions& options);

}  // namespace weft::sim
