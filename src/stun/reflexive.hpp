// Learning this machine's reflexive control address and its NAT's mapping behaviour by asking
// peers' control ports (STUN Binding, RFC 8489; the RFC 5780 idea with peers as servers), pure.
// A round asks up to `servers` peers, preferring distinct IP addresses; requests are
// retransmitted with a doubling RTO until answered or out of attempts. The mapping is
// endpoint-independent when answers from two or more distinct server IPs agree, address-
// dependent when they differ, unknown with fewer than two.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "stun/message.hpp"

namespace weft::stun {

enum class Mapping { unknown, endpoint_independent, address_dependent };
const char* mapping_name(Mapping m);

class ReflexiveProbe {
 public:
  struct Config {
    uint64_t rto_ms = 500;    // first retransmission; doubles each time
    int attempts = 4;         // requests per server per round
    size_t servers = 3;       // servers asked per round
  };
  struct Send {
    Address to;
    std::vector<uint8_t> bytes;
  };

  ReflexiveProbe(Config config, uint64_t seed);
  // A new round (pending transactions of the last one are dropped): requests to send now.
  std::vector<Send> start(const std::vector<Address>& candidates, uint64_t now);
  // Retransmissions due at `now`.
  std::vector<Send> on_timer(uint64_t now);
  // A STUN response from `from`; true when it answered one of our transactions.
  bool on_response(std::span<const uint8_t> bytes, const Address& from);
  // When on_timer next has work; UINT64_MAX when nothing is pending.
  uint64_t next_wakeup() const;
  bool pending() const { return !pending_.empty(); }

  // From the last finished round (every request answered or given up on).
  std::optional<Address> reflexive() const;
  Mapping mapping() const;

 private:
  struct Transaction {
    Address server;
    std::vector<uint8_t> request;
    int sent = 0;
    uint64_t next_at = 0;
  };
  Config config_;
  uint64_t rng_;
  std::map<std::array<uint8_t, 16>, Transaction> pending_;
  void finish_if_done();
  std::map<std::array<uint8_t, 16>, Address> answers_;  // this round: server IP -> mapped address
  std::map<std::array<uint8_t, 16>, Address> result_;   // the last finished round's answers
};

}  // namespace weft::stun
