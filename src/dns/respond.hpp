// The DNS server's reply policy, one function for the agent and the fuzz target: what a query
// that arrived gets (an encoded reply, silence, or the forwarder) and why. Pure: the caller
// owns the sockets, the answer cache and the forwarder.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/rng.hpp"
#include "dns/wire.hpp"
#include "dns/zone.hpp"

namespace weft::dns {

struct Reply {
  enum class Action {
    ignore,   // not a query (too short, or a response): drop silently
    send,     // `bytes` is the encoded reply
    forward,  // a name outside our zones, and the caller may forward it
  } action = Action::ignore;
  enum class Outcome { none, answered, nxdomain, formerr, notimp, badvers, refused } outcome = Outcome::none;
  std::vector<uint8_t> bytes;
  Response response;        // what `bytes` encodes
  bool cacheable = false;   // an authoritative answer from the zone (the answer cache may replay it)
};

// The size limit a reply to this query must fit: 65535 over TCP; over UDP the client's EDNS
// payload size (at most kDefaultEdnsPayload), else 512.
size_t reply_limit(const Query& query, bool tcp);

// `may_forward`: a forwarder exists and this client may use it (the mesh and this machine only).
// Without it, names outside our zones are REFUSED rather than pretended.
Reply respond(std::span<const uint8_t> query, bool tcp, const ZoneView& view, Rng& rng, bool may_forward);

}  // namespace weft::dns
