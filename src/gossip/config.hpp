// Gossip tunables. Defaults are memberlist's LAN figures (docs/architecture.md); the simulator
// is where they get tuned.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::gossip {

struct GossipConfig {
  uint64_t probe_interval_ms = 1000;
  uint64_t probe_timeout_ms = 500;
  // memberlist has 3. Indirect probes go out only when the direct one times out, so a healthy
  // network never pays for them; on a lossy one each helper cuts false suspicions (and the
  // suspect/refute gossip that follows each) by about a third. Measured at 1,000 nodes, 10% loss,
  // 300 s (weft-sim --scenario loss --nodes 1000 --seed 1): 3 -> 792k suspicions heard,
  // 41.2 kbit/s/node; 4 -> 232k, 19.0; 5 -> 100k, 12.2.
  unsigned indirect_checks = 5;
  uint64_t gossip_interval_ms = 200;
  unsigned gossip_nodes = 3;
  unsigned retransmit_mult = 4;
  unsigned suspicion_mult = 4;
  unsigned suspicion_max_timeout_mult = 6;
  unsigned awareness_max = 8;           // Lifeguard local health multiplier ceiling
  uint64_t push_pull_interval_ms = 30'000;  // scaled up beyond 32 members (memberlist's rule)
  // After joining, two quick extra syncs with random members close the window in which one lost
  // "alive" message would leave a member unknown until the next periodic push-pull.
  uint64_t post_join_sync_ms[2] = {500, 2'000};
  uint64_t reconnect_interval_ms = 10'000;  // try one dead member, so healed partitions merge
  uint64_t gossip_to_dead_ms = 30'000;      // keep gossiping to the recently dead
  uint64_t join_retry_ms = 1'000;
  size_t packet_budget = 1400;              // bytes of a datagram's payload before sealing
  double record_share = 0.5;                // share of piggyback budget kept for state deltas
  unsigned record_retransmit_factor = 1;    // records: retransmit limit x this
  // memberlist's TCP ping: when the direct datagram probe times out, a ping also goes over the
  // stream transport alongside the indirect probes (and with the last check of a suspicion). A
  // lossy path then rarely makes a live member suspect; a partition still does.
  bool stream_pings = true;
};

}  // namespace weft::gossip
