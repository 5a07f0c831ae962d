// libFuzzer target: the DNS server's whole query path, through the agent's own reply policy
// (dns::respond): bytes are parsed as a query and answered from a small zone view (services,
// machines, reverse names), over UDP and TCP; every reply is parsed again as a response, and
// replayed from the answer cache. Nothing may crash, hang, leak or trip a sanitizer, and every encoded answer must
// be a well-formed response carrying the query's id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dns/answer_cache.hpp"
#include "dns/respond.hpp"
#include "dns/wire.hpp"
#include "dns/zone.hpp"

using namespace weft;
using namespace weft::dns;

namespace {

const ZoneView& view() {
  static const ZoneView v = [] {
    ZoneView z;
    z.network = *Ipv4Net::parse("10.210.0.0/16");
    z.self_name = "node0";
    z.self[0] = 1;
    crdt::OwnerId other{};
    other[0] = 2;
    z.machines["node0"] = Ipv4::parse("10.210.0.1")->value;
    z.machines["node1"] = Ipv4::parse("10.210.1.1")->value;
    z.reverse[Ipv4::parse("10.210.0.1")->value] = "node0.m.internal";
    z.reverse[Ipv4::parse("10.210.1.1")->value] = "node1.m.internal";
    for (int i = 2; i < 40; ++i) {
      uint32_t a = Ipv4::parse("10.210.1.0")->value + static_cast<uint32_t>(i);
      z.services["api"].push_back(Instance{a, 80, "tcp", "http", i % 2 ? z.self : other});
      z.reverse[a] = "api.internal";
    }
    z.services["db"].push_back(Instance{Ipv4::parse("10.210.0.5")->value, 0, "", "", z.self});
    return z;
  }();
  return v;
}

void check_response(const std::vector<uint8_t>& bytes, uint16_t id, size_t limit) {
  auto header = peek_response(bytes);
  if (!header || header->id != id || bytes.size() > limit) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  Rng rng(size);
  // The agent's own reply policy (dns::respond), over UDP and TCP, with and without a forwarder.
  Reply udp = respond(bytes, false, view(), rng, size % 2 == 0);
  Reply tcp = respond(bytes, true, view(), rng, false);
  if ((udp.action == Reply::Action::ignore) != (tcp.action == Reply::Action::ignore)) std::abort();
  if (tcp.action == Reply::Action::forward) std::abort();  // no forwarder: refused, never forwarded
  if (udp.action == Reply::Action::ignore) return 0;
  Parsed p = parse_query(bytes);
  check_response(tcp.bytes, p.query.id, 65535);
  if (udp.action == Reply::Action::send) {
    check_response(udp.bytes, p.query.id, reply_limit(p.query, false));
    // The hot path replays what the slow path sent: same size, same id.
    static AnswerCache cache;
    static Rng cache_rng(7);
    if (udp.cacheable) {
      cache.store(bytes, false, udp.response, udp.bytes);
      std::vector<uint8_t> replay;
      if (cache.lookup(bytes, false, cache_rng, replay) &&
          (replay.size() != udp.bytes.size() || replay[0] != udp.bytes[0] || replay[1] != udp.bytes[1]))
        std::abort();
    }
  }
  return 0;
}
