#include "store/identity.hpp"

#include <sodium.h>

#include <cstring>

namespace weft::store {

namespace {

constexpr const char* kSigningSeed = "identity.signing_seed";
constexpr const char* kWireguardPrivate = "identity.wireguard_private";

template <size_t N>
std::array<uint8_t, N> secret_from(const std::string& stored, const char* name) {
  if (stored.size() != N) throw StoreError(std::string("stored ") + name + " has the wrong size");
  std::array<uint8_t, N> out;
  std::memcpy(out.data(), stored.data(), N);
  return out;
}

template <size_t N>
std::string as_string(const std::array<uint8_t, N>& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), N);
}

}  // namespace

Identity::~Identity() { sodium_memzero(wireguard_private.data(), wireguard_private.size()); }

Identity load_or_create_identity(RecordStore& store) {
  crdt::ensure_sodium();
  auto seed_text = store.get_meta(kSigningSeed);
  auto wg_text = store.get_meta(kWireguardPrivate);
  if (!seed_text || !wg_text) {
    crdt::SigningSeed seed;
    std::array<uint8_t, 32> wg;
    randombytes_buf(seed.data(), seed.size());
    randombytes_buf(wg.data(), wg.size());
    // Clamp as `wg genkey` does, so the stored key is what WireGuard itself would hold.
    wg[0] &= 248;
    wg[31] = (wg[31] & 127) | 64;
    std::pair<std::string, std::string> meta[] = {{kSigningSeed, as_string(seed)},
                                                  {kWireguardPrivate, as_string(wg)}};
    store.apply({}, meta);
    sodium_memzero(seed.data(), seed.size());
    sodium_memzero(wg.data(), wg.size());
    seed_text = store.get_meta(kSigningSeed);
    wg_text = store.get_meta(kWireguardPrivate);
  }
  Identity id{crdt::SigningKey::from_seed(secret_from<32>(*seed_text, kSigningSeed)),
              secret_from<32>(*wg_text, kWireguardPrivate),
              {}};
  sodium_memzero(seed_text->data(), seed_text->size());
  sodium_memzero(wg_text->data(), wg_text->size());
  crypto_scalarmult_base(id.wireguard_public.data(), id.wireguard_private.data());
  return id;
}

}  // namespace weft::store
