// Sealed control frames: every gossip datagram and stream frame is encrypted and authenticated
// with the cluster key (XChaCha20-Poly1305, libsodium) before anything else looks at it.
//
//   byte 0      frame type 0xC8 (outside RFC 7983's STUN 0-3, DTLS 20-63, TURN 64-79 and RTP
//               128-191 ranges, so one port can demultiplex them)
//   bytes 1-4   key id: the first 4 bytes of BLAKE2b(key), to pick the key from the keyring
//   bytes 5-28  nonce: sender id prefix (8) | counter (8) | random (8): unique per sender
//   bytes 29-   ciphertext of [sender id (32) | payload], with the 16-byte tag; bytes 0-28
//               (the nonce and its counter included) are additional data
//
// Keyring: frames are sealed with the primary key and opened with any installed key, so a key
// can be rotated by installing it everywhere, then making it primary, then removing the old one.
// Replay: the counter is max(previous + 1, wall ms << 10). A receiver keeps, per sender, the
// counters seen within a 10 s window below the highest and drops repeats and anything older.
// Bound: a sender whose clock steps back by more than 10 s is muted at receivers that heard it
// before, for as long as the step.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/rng.hpp"
#include "gossip/messages.hpp"

namespace weft::gossip {

using ClusterKey = std::array<uint8_t, 32>;

inline constexpr uint8_t kSealedFrameType = 0xC8;
inline constexpr size_t kSealOverhead = 1 + 4 + 24 + 32 + 16;

class Keyring {
 public:
  explicit Keyring(const ClusterKey& primary) { keys_.push_back(primary); }
  void install(const ClusterKey& key);        // accept frames sealed with it
  bool make_primary(const ClusterKey& key);   // seal with it (must be installed)
  bool remove(const ClusterKey& key);         // refuses to remove the primary
  const ClusterKey& primary() const { return keys_.front(); }
  const ClusterKey* find(const uint8_t key_id[4]) const;
  static std::array<uint8_t, 4> id_of(const ClusterKey& key);
  size_t size() const { return keys_.size(); }
  const std::vector<ClusterKey>& keys() const { return keys_; }  // primary first

 private:
  std::vector<ClusterKey> keys_;
};

enum class OpenError : uint8_t { too_short, not_sealed, unknown_key, auth_failed, replayed };
inline constexpr size_t kOpenErrorCount = 5;
const char* open_error_name(OpenError e);

struct Opened {
  MemberId sender{};
  std::string payload;
};

class FrameSealer {
 public:
  FrameSealer(Keyring keyring, const MemberId& self, uint64_t nonce_seed);

  std::string seal(std::string_view payload, uint64_t now_ms);
  // Authenticates and decrypts; counts and reports the reason for anything it drops.
  std::optional<Opened> open(std::span<const uint8_t> frame, OpenError* error = nullptr);

  Keyring& keyring() { return keyring_; }
  uint64_t dropped(OpenError e) const { return dropped_[static_cast<size_t>(e)]; }

 private:
  struct ReplayWindow {
    uint64_t highest = 0;
    std::set<uint64_t> seen;
    bool accept(uint64_t counter);
  };
  std::optional<Opened> drop(OpenError e, OpenError* out);

  Keyring keyring_;
  MemberId self_;
  Rng nonce_rng_;
  uint64_t counter_ = 0;
  std::map<MemberId, ReplayWindow> windows_;
  std::array<uint64_t, kOpenErrorCount> dropped_{};
};

}  // namespace weft::gossip
