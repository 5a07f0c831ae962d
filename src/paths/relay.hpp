// The relay, pure: the data frame codec and the table a relay forwards by.
//
// An end of a pair binds with a sealed RelayBind (cluster key, sender authenticated) every 20 s;
// the relay remembers the end's member id and the address the bind came from, gives the pair a
// random 64-bit channel, and answers RelayBound (ready once both ends are bound). A data frame
// is [kRelayDataType][channel, 8 bytes big-endian][a WireGuard packet, opaque]; the relay
// forwards it to the other end only when it came from the address one bound end is bound at,
// within a per-pair and a global packet rate. Bindings not refreshed for 60 s expire. The relay
// never sees inside the WireGuard packet: it is encrypted end to end.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crdt/record.hpp"
#include "stun/message.hpp"

namespace weft::paths {

using stun::Address;

inline constexpr uint8_t kRelayDataType = 0xD7;  // not STUN (0-3), not a sealed frame (0xC8)
inline constexpr size_t kRelayHeader = 9;

struct RelayFrame {
  uint64_t channel = 0;
  std::span<const uint8_t> payload;
};
// nullopt: not a relay data frame (wrong type, shorter than a header, no payload).
std::optional<RelayFrame> decode_relay_frame(std::span<const uint8_t> bytes);
void encode_relay_header(uint8_t* out, uint64_t channel);  // writes kRelayHeader bytes

// The relay for the pair (a, b) among `capable` members (relay-capable, live; neither end):
// rendezvous hashing, so both ends pick the same one, and pairs spread over relays.
std::optional<crdt::OwnerId> pick_relay(const crdt::OwnerId& a, const crdt::OwnerId& b,
                                        const std::vector<crdt::OwnerId>& capable);

struct RelayCounters {
  uint64_t forwarded = 0, unknown_channel = 0, wrong_source = 0, peer_unbound = 0, rate_limited = 0;
  uint64_t binds = 0, refused_binds = 0, expired = 0;
  uint64_t refused_full = 0, refused_quota = 0;  // of refused_binds: the table, or the member's share of it
};

class RelayTable {
 public:
  struct Config {
    uint64_t ttl_ms = 60'000;
    uint64_t pair_pps = 50'000;    // per pair, both directions together (~560 Mbit/s of 1400-byte packets)
    uint64_t total_pps = 500'000;  // everything this relay forwards
    size_t max_pairs = 4096;
    // Pairs one member may open: no member, honest or not, can fill the table for the others.
    size_t max_pairs_per_member = 256;
  };
  struct Bound {
    uint64_t channel = 0;
    bool ready = false;
  };

  RelayTable(Config config, uint64_t seed);
  // `member` (authenticated) asks from `from` to be relayed to `peer`; nullopt: refused (itself
  // as peer, the table is full, or the member already opened its share of pairs).
  std::optional<Bound> bind(const crdt::OwnerId& member, const crdt::OwnerId& peer, const Address& from, uint64_t now);
  // Where a data frame on `channel` from `from` goes; nullopt (counted by reason) otherwise.
  std::optional<Address> forward(uint64_t channel, const Address& from, uint64_t now);
  void expire(uint64_t now);
  size_t pairs() const { return pairs_.size(); }
  const RelayCounters& counters() const { return counters_; }

 private:
  struct End {
    crdt::OwnerId member{};
    Address address;
    uint64_t seen = 0;
    bool bound = false;
  };
  struct Bucket {
    uint64_t per_s = 0;
    double tokens = 0;
    uint64_t at = 0;
    bool take(uint64_t now);
  };
  struct Pair {
    End lo, hi;  // by member id
    Bucket bucket;
    crdt::OwnerId opener{};  // whose bind created it: the pair counts against its share
  };
  Config config_;
  uint64_t rng_;
  std::map<std::pair<crdt::OwnerId, crdt::OwnerId>, uint64_t> channel_of_;
  std::unordered_map<uint64_t, Pair> pairs_;
  std::map<crdt::OwnerId, size_t> opened_;  // pairs each member opened that are still held
  Bucket total_;
  RelayCounters counters_;
};

}  // namespace weft::paths
