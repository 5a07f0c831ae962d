// weft-sim scenarios: a fault schedule run on SimCluster, the invariants checked after it, and the
// metrics it reports. A broken invariant names the seed and the first violation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft::sim {

struct ScenarioOptions {
  std::string name;  // join-storm, formed, partition-heal, churn, loss, concurrent-claims, nemesis
  size_t nodes = 100;
  uint64_t seed = 1;
  double loss = -1;          // < 0: the scenario's default
  bool broken_merge = false; // test-only: replicas keep the first version they see
  bool broken_settle_gate = false;  // test-only: nodes claim a /24 before their first sync
  bool count_bytes = true;
  uint64_t duration_s = 300;  // loss, formed: how long the steady run lasts before the measurements
  long trace_member = -1;  // >= 0: print every membership event about this node (diagnosis)
  // nemesis: the fault schedule (see nemesis.hpp); empty: one drawn from the seed.
  std::string nemesis;
  bool stream_pings = true;  // GossipConfig::stream_pings (off: to measure what it saves)
};

struct ScenarioReport {
  bool ok = true;
  std::string violation;           // the first broken invariant, with its details
  double loss = 0;                 // the datagram loss the scenario ran at
  double rounds_to_9999 = -1, rounds_to_all = -1;     // dissemination of one record, gossip rounds
  double seconds_to_9999 = -1, seconds_to_all = -1;
  double detect_p50 = -1, detect_p99 = -1, detect_max = -1;  // crash seen dead, seconds
  long detect_victim = -1;         // the node crashed for it
  uint64_t false_dead = 0;         // dead verdicts about machines that were up
  std::vector<std::string> false_dead_examples;  // the first few, for diagnosis
  uint64_t dead_after_heal = 0;    // verdicts from the other side of a healed partition, refuted
  uint64_t dead_across_partition = 0;  // verdicts across an active partition or cut (the detector's job;
                                       // across a bridge, few: probes go through the middle)
  uint64_t suspicions = 0;
  double bytes_per_node_s = 0;      // whole run (join storm included)
  double simulated_seconds = 0, wall_seconds = 0;
  // join-storm and loss: the storm, then a steady window once the storm's record backlog drained.
  double join_seconds = -1;         // until every node sees every node alive (formed: sees one newcomer live)
  double settle_seconds = -1;       // then until no node has records left to gossip
  double steady_bytes_per_node_s = 0;
  double steady_speedup = 0;        // simulated seconds per wall second in the steady window
  // Heap in use (malloc's count, not RSS) at the end of the steady window: the simulator's
  // standing memory, without the storm's transient queues that the peak RSS includes.
  double steady_heap_mb = -1;
  uint64_t probe_periods = 0;       // probes started by all nodes over the run
  uint64_t probe_failures = 0;      // probes that ended unanswered (each raises a suspicion)
  uint64_t stream_rescues = 0;      // probes the stream ping fallback answered first
  uint64_t peak_queued_updates = 0, peak_queued_records = 0;  // SimCluster::peak_queued_*
  uint64_t trace_hash = 0;
  std::vector<std::string> nemesis;  // the faults applied, in schedule syntax
};

ScenarioReport run_scenario(const ScenarioOptions& options);
bool known_scenario(const std::string& name);

}  // namespace weft::sim
