// libFuzzer target: the DNS server's whole query path. Bytes are parsed as a query; a parsed
// query is answered from a small zone view (services, machines, reverse names); every answer
// is encoded under the UDP limit and without one, and the result is parsed again as a
// response, and replayed from the answer cache. Nothing may crash, hang, leak or trip a sanitizer, and every encoded answer must
// be a well-formed response carrying the query's id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dns/answer_cache.hpp"
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
  Parsed p = parse_query(std::span<const uint8_t>(data, size));
  if (p.kind == Parsed::Kind::ignore) return 0;
  Response r;
  if (p.kind == Parsed::Kind::query) {
    Rng rng(size);
    auto a = answer(p.query, view(), rng);
    r = a ? *a : error_response(p.query, rcode::refused, true);
  } else {
    r = error_response(p.query, p.kind == Parsed::Kind::notimp ? rcode::notimp : rcode::formerr, false);
  }
  size_t udp = p.query.edns ? std::min<size_t>(p.query.udp_payload, kDefaultEdnsPayload) : kMaxUdpWithoutEdns;
  auto encoded = encode_response(r, udp);
  check_response(encoded, p.query.id, udp);
  // The hot path replays what the slow path sent: same size, same id.
  static AnswerCache cache;
  static Rng rng(7);
  std::span<const uint8_t> bytes(data, size);
  cache.store(bytes, false, r, encoded);
  std::vector<uint8_t> replay;
  if (cache.lookup(bytes, false, rng, replay) && (replay.size() != encoded.size() || replay[0] != encoded[0] ||
                                                  replay[1] != encoded[1]))
    std::abort();
  check_response(encode_response(r, 65535), p.query.id, 65535);
  return 0;
}
