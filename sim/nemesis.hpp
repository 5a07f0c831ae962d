// The nemesis: a Jepsen-style fault schedule for weft-sim, one fault per line (or separated by
// ';' on the command line), times in seconds after the cluster formed:
//
//   20 partition 0-9 / 10-29    two groups cut off from each other (node lists: 1,4-7)
//   30 cut 3 5                  one way: nothing from node 3 reaches node 5
//   60 heal                     every cut and partition removed
//   70 crash 7                  stops; its state is kept
//   90 restart 7                same identity and records, incarnation + 1
//   95 leave 8                  graceful leave, then stops
//   100 pause 5 20              node 5 stalls 20 s (what reaches it waits)
//   110 skew 3 25000            node 3's clock runs 25,000 ms ahead (negative: behind)
//   120 loss 0.1                datagram loss from now on
//   125 duplicate 0.05          datagrams delivered twice (each copy with its own delay)
//   126 reorder 0.2             datagrams held back 10-100 ms, overtaken by later ones
//   127 latency 0-9 / 10-29 80 20   links between the groups (both ways): 80 ms + 0-20 jitter
//   130 write 4                 node 4 writes a service record
//
// A bridge: partition two groups and leave a third out of both, e.g. "partition 0-9 / 20-29"
// in a 30-node cluster: 10-19 still reach everyone (indirect probes go through them).
//
// A '#' starts a comment. Lines are applied in time order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/rng.hpp"

namespace weft::sim {

struct Fault {
  enum class Type { partition, cut, heal, crash, restart, leave, pause, skew, loss, duplicate, reorder, latency, write };
  uint64_t at_ms = 0;
  Type type = Type::heal;
  std::vector<size_t> a, b;  // nodes: partition sides; cut from/to; a[0] for single-node faults
  int64_t amount = 0;        // pause: ms; skew: ms; latency: ms
  int64_t jitter = 0;        // latency: ms
  double loss = 0;           // loss, duplicate, reorder: the probability
};

struct NemesisPlan {
  std::vector<Fault> faults;  // sorted by time
  std::string error;          // set when the text does not parse
};

// Parses a schedule for a cluster of `nodes` nodes; node numbers must exist, node 0 (the seed)
// may not be crashed, paused or made to leave.
NemesisPlan parse_nemesis(const std::string& text, size_t nodes);
// A random schedule drawn from `rng`: a partition (two sides, or a bridge: two groups cut off
// from each other, a third reaching both) with writes on both sides and a heal, a crash and a
// restart, a leave, a stall, clock skew within the HLC drift bound, a burst of loss, a burst of
// duplication and reordering, a slow group of links, one-way cuts. About 240 s long.
NemesisPlan random_nemesis(Rng& rng, size_t nodes);
std::string describe(const Fault& f);

}  // namespace weft::sim
