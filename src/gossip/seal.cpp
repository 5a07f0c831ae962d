#include "gossip/seal.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "crdt/signing.hpp"

namespace weft::gossip {

namespace {

constexpr uint64_t kReplayWindow = uint64_t{10'000} << 10;  // 10 s of counter units
constexpr size_t kHeader = 1 + 4 + 24;
constexpr size_t kInner = 32;

void put_u64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint64_t get_u64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | in[i];
  return v;
}

}  // namespace

const char* open_error_name(OpenError e) {
  switch (e) {
    case OpenError::too_short: return "too_short";
    case OpenError::not_sealed: return "not_sealed";
    case OpenError::unknown_key: return "unknown_key";
    case OpenError::auth_failed: return "auth_failed";
    case OpenError::replayed: return "replayed";
  }
  return "unknown";
}

std::array<uint8_t, 4> Keyring::id_of(const ClusterKey& key) {
  crdt::ensure_sodium();
  uint8_t hash[16];
  static constexpr char kContext[] = "weft-cluster-key-id";
  crypto_generichash(hash, sizeof hash, key.data(), key.size(), reinterpret_cast<const uint8_t*>(kContext),
                     sizeof kContext - 1);
  return {hash[0], hash[1], hash[2], hash[3]};
}

void Keyring::install(const ClusterKey& key) {
  if (std::find(keys_.begin(), keys_.end(), key) == keys_.end()) keys_.push_back(key);
}

bool Keyring::make_primary(const ClusterKey& key) {
  auto it = std::find(keys_.begin(), keys_.end(), key);
  if (it == keys_.end()) return false;
  std::iter_swap(keys_.begin(), it);
  return true;
}

bool Keyring::remove(const ClusterKey& key) {
  auto it = std::find(keys_.begin(), keys_.end(), key);
  if (it == keys_.end() || it == keys_.begin()) return false;
  keys_.erase(it);
  return true;
}

const ClusterKey* Keyring::find(const uint8_t key_id[4]) const {
  for (const auto& k : keys_)
    if (std::memcmp(id_of(k).data(), key_id, 4) == 0) return &k;
  return nullptr;
}

FrameSealer::FrameSealer(Keyring keyring, const MemberId& self, uint64_t nonce_seed)
    : keyring_(std::move(keyring)), self_(self), nonce_rng_(nonce_seed) {
  crdt::ensure_sodium();
}

std::string FrameSealer::seal(std::string_view payload, uint64_t now_ms) {
  counter_ = std::max(counter_ + 1, now_ms << 10);
  std::string frame(kHeader + kInner + payload.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  auto* out = reinterpret_cast<uint8_t*>(frame.data());
  out[0] = kSealedFrameType;
  auto id = Keyring::id_of(keyring_.primary());
  std::memcpy(out + 1, id.data(), 4);
  uint8_t* nonce = out + 5;
  std::memcpy(nonce, self_.data(), 8);
  put_u64(nonce + 8, counter_);
  put_u64(nonce + 16, nonce_rng_.next());

  std::string plain(kInner + payload.size(), '\0');
  auto* p = reinterpret_cast<uint8_t*>(plain.data());
  std::memcpy(p, self_.data(), 32);
  std::memcpy(p + kInner, payload.data(), payload.size());
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + kHeader, &clen, p, plain.size(), out, kHeader, nullptr, nonce,
                                             keyring_.primary().data());
  sodium_memzero(plain.data(), plain.size());
  return frame;
}

std::optional<Opened> FrameSealer::drop(OpenError e, OpenError* out) {
  ++dropped_[static_cast<size_t>(e)];
  if (out) *out = e;
  return std::nullopt;
}

bool FrameSealer::ReplayWindow::accept(uint64_t counter) {
  if (counter + kReplayWindow < highest) return false;
  if (!seen.insert(counter).second) return false;
  if (counter > highest) {
    highest = counter;
    if (highest > kReplayWindow) seen.erase(seen.begin(), seen.lower_bound(highest - kReplayWindow));
  }
  return true;
}

std::optional<Opened> FrameSealer::open(std::span<const uint8_t> frame, OpenError* error) {
  if (frame.size() < kSealOverhead) return drop(OpenError::too_short, error);
  if (frame[0] != kSealedFrameType) return drop(OpenError::not_sealed, error);
  const ClusterKey* key = keyring_.find(frame.data() + 1);
  if (!key) return drop(OpenError::unknown_key, error);
  std::string plain(frame.size() - kHeader - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<uint8_t*>(plain.data()), &plen, nullptr,
                                                 frame.data() + kHeader, frame.size() - kHeader, frame.data(),
                                                 kHeader, frame.data() + 5, key->data()) != 0)
    return drop(OpenError::auth_failed, error);
  const auto* p = reinterpret_cast<const uint8_t*>(plain.data());
  Opened opened;
  std::memcpy(opened.sender.data(), p, 32);
  // The counter travels in the nonce (authenticated); its sender prefix must match the sealed
  // sender id, so one sender's counters cannot be spent under another's name.
  uint64_t counter = get_u64(frame.data() + 13);
  if (std::memcmp(frame.data() + 5, p, 8) != 0) return drop(OpenError::auth_failed, error);
  if (!windows_[opened.sender].accept(counter)) return drop(OpenError::replayed, error);
  opened.payload.assign(plain, kInner, std::string::npos);
  return opened;
}

}  // namespace weft::gossip
