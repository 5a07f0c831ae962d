// The `.internal` zone and the cluster network's reverse zone, answered from a snapshot of the
// cluster state. Pure: the agent rebuilds the view when records or liveness change and hands
// queries to answer(); names outside both zones come back as nullopt (forward or refuse them).
//
//   <service>.internal               A of every live, healthy instance, shuffled (TTL 5 s)
//   nearest.<service>.internal       this machine's instances first, then the rest
//   _<port>._<proto>.<service>.internal   SRV, targets <a-b-c-d>.ip.internal (A in additional)
//   <machine>.m.internal             A of the machine's .1 (TTL 30 s)
//   <a-b-c-d>.ip.internal            A of a mesh address that a machine or instance holds
//   d.c.b.a.in-addr.arpa             PTR for mesh addresses: <machine>.m.internal or <service>.internal
//   internal. and the reverse apex   SOA and NS
// Unknown names: NXDOMAIN; names that exist without the asked type: NODATA; both with the SOA
// in the authority section (negative TTL 5 s).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/ipv4.hpp"
#include "base/rng.hpp"
#include "crdt/state.hpp"
#include "dns/wire.hpp"

namespace weft::dns {

inline constexpr uint32_t kServiceTtl = 5, kMachineTtl = 30, kNegativeTtl = 5;

struct Instance {
  uint32_t address = 0;
  uint16_t port = 0;
  std::string protocol;   // lowercase, "" when no port
  std::string port_name;  // lowercase, "" when none
  crdt::OwnerId owner{};
};

struct ZoneView {
  std::map<std::string, std::vector<Instance>> services;  // lowercase service name -> instances
  std::map<std::string, uint32_t> machines;                // lowercase machine name -> its .1
  std::map<uint32_t, std::string> reverse;                 // mesh address -> PTR target text
  crdt::OwnerId self{};
  std::string self_name = "localhost";
  Ipv4Net network;
  uint32_t serial = 1;
};

// Builds the view: machines with a winning subnet claim, and healthy service instances of
// machines in `live` (SWIM's alive or suspect, self included).
ZoneView build_view(const crdt::ClusterState& state, const std::set<crdt::OwnerId>& live, const crdt::OwnerId& self,
                    const Ipv4Net& network);

// The authoritative answer, or nullopt when the name is in neither zone.
std::optional<Response> answer(const Query& query, const ZoneView& view, Rng& rng);

// A response carrying only an rcode (FORMERR, NOTIMP, REFUSED, SERVFAIL) for `query`.
Response error_response(const Query& query, uint16_t rcode, bool with_question);

// The reverse zone covering the network ("210.10.in-addr.arpa" for 10.210.0.0/16; prefixes
// that are not a multiple of 8 round down to one).
Name reverse_apex(const Ipv4Net& network);

}  // namespace weft::dns
