// libFuzzer target: the relay's data frame decoder and its table on any bytes (what anyone can
// send to a relay's control port). No crash; a decoded frame re-encodes to the bytes it came
// from; the table forwards only between the two bound ends of a pair, never back to the sender,
// never for a source that is not bound. The input also drives a run of binds, frames and expiry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "paths/relay.hpp"

using namespace weft;
using namespace weft::stun;
using namespace weft::paths;

namespace {

Address addr(uint8_t host, uint16_t port) {
  Address a;
  a.ip = {203, 0, 113, host};
  a.port = port;
  return a;
}

crdt::OwnerId member(uint8_t b) {
  crdt::OwnerId id{};
  id[0] = b;
  return id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  auto frame = decode_relay_frame(bytes);
  if (frame) {
    uint8_t header[kRelayHeader];
    encode_relay_header(header, frame->channel);
    if (std::memcmp(header, data, kRelayHeader) != 0 || frame->payload.size() != size - kRelayHeader) std::abort();
  }

  RelayTable::Config config;
  config.max_pairs = 4;
  config.pair_pps = 100;
  config.total_pps = 1000;
  RelayTable table(config, 42);
  uint64_t now = 1'000;
  uint64_t channels[8] = {};
  // Each 4-byte step: op, member a, member b / host, port byte.
  for (size_t i = 0; i + 4 <= size; i += 4) {
    uint8_t op = data[i] % 4, a = data[i + 1] % 6, b = data[i + 2] % 6, p = data[i + 3];
    now += p;
    if (op == 0) {
      auto bound = table.bind(member(a), member(b), addr(a, 1000 + a), now);
      if (bound) channels[(a + b) % 8] = bound->channel;
      if (bound && a == b) std::abort();
    } else if (op == 1) {
      uint64_t channel = channels[b % 8] ^ (p == 255 ? 1 : 0);
      Address from = addr(a, static_cast<uint16_t>(1000 + a + (p == 254 ? 1 : 0)));
      auto to = table.forward(channel, from, now);
      if (to && (*to == from || to->ip[3] >= 6 || to->port != 1000 + to->ip[3])) std::abort();
    } else if (op == 2) {
      table.expire(now);
    } else if (frame) {
      (void)table.forward(frame->channel, addr(a, 1000 + a), now);
    }
    if (table.pairs() > config.max_pairs) std::abort();
  }
  return 0;
}
