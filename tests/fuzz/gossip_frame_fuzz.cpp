// libFuzzer target: the control-port receive path. Selector byte 0 picks the stage:
//  even: the input is a sealed frame for FrameSealer::open (wrong keys, truncation, replays);
//  odd:  the input is authenticated plaintext for decode_message, then fed to a Membership
//        core, as a peer holding the cluster key could send it.
#include <cstddef>
#include <cstdint>
#include <span>

#include "crdt/replica.hpp"
#include "gossip/codec.hpp"
#include "gossip/membership.hpp"
#include "gossip/seal.hpp"

using namespace weft;
using namespace weft::gossip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> body(data + 1, size - 1);
  static const crdt::SigningKey key = crdt::SigningKey::from_seed(crdt::SigningSeed{3});
  if (data[0] % 2 == 0) {
    static FrameSealer sealer(Keyring(ClusterKey{}), key.public_key(), 1);
    if (auto opened = sealer.open(body))
      (void)decode_message({reinterpret_cast<const uint8_t*>(opened->payload.data()), opened->payload.size()},
                           opened->sender);
    return 0;
  }
  MemberId peer{};
  peer.fill(7);
  auto message = decode_message(body, peer);
  if (!message) return 0;
  // Round trip: what decoded re-encodes to something that decodes the same way.
  auto again = encode_message(*message);
  auto back = decode_message({reinterpret_cast<const uint8_t*>(again.data()), again.size()}, peer);
  if (!back || encode_message(*back) != again) __builtin_trap();
  crdt::Replica replica(key);
  Membership m(key.public_key(), "fuzz", "127.0.0.1:1", 0, GossipConfig{}, 1, replica);
  Effects fx;
  m.join({}, 1'700'000'000'000, fx);
  m.on_message("127.0.0.1:2", *message, 1'700'000'000'000, fx);
  m.tick(1'700'000'010'000, fx);
  return 0;
}
