#include "crdt/digest.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace weft::crdt {

SetHash record_hash(const Record& record) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 16);
  crypto_generichash_update(&state, record.key.owner.data(), record.key.owner.size());
  uint8_t fixed[2 + 8 + 1 + 8];
  auto kind = static_cast<uint16_t>(record.key.kind);
  fixed[0] = static_cast<uint8_t>(kind >> 8);
  fixed[1] = static_cast<uint8_t>(kind);
  for (int i = 0; i < 8; ++i) fixed[2 + i] = static_cast<uint8_t>(record.hlc.raw >> (56 - 8 * i));
  fixed[10] = record.tombstone ? 1 : 0;
  uint64_t len = record.key.name.size();
  for (int i = 0; i < 8; ++i) fixed[11 + i] = static_cast<uint8_t>(len >> (56 - 8 * i));
  crypto_generichash_update(&state, fixed, sizeof fixed);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(record.key.name.data()),
                            record.key.name.size());
  // The signature pins the value: equal hashes mean equal records, not just equal keys.
  crypto_generichash_update(&state, record.signature.data(), record.signature.size());
  uint8_t out[16];
  crypto_generichash_final(&state, out, sizeof out);
  SetHash h;
  std::memcpy(&h.value, out, sizeof out);
  return h;
}

SlotRef SlotMemo::share(OwnerSlot&& slot) {
  uint64_t key = prefix64(slot.owner.data()) ^ static_cast<uint64_t>(slot.digest.hash.value) ^
                 (slot.digest.count * 0x9e3779b97f4a7c15ull);
  auto [it, end] = slots_.equal_range(key);
  while (it != end) {
    SlotRef held = it->second.lock();
    if (!held) {
      it = slots_.erase(it);
      continue;
    }
    if (held->owner == slot.owner && held->records == slot.records) return held;  // same record objects
    ++it;
  }
  SlotRef made = std::make_shared<OwnerSlot>(std::move(slot));
  slots_.emplace(key, made);
  if (slots_.size() >= sweep_at_) {
    std::erase_if(slots_, [](const auto& entry) { return entry.second.expired(); });
    sweep_at_ = std::max<size_t>(1024, 2 * slots_.size());
  }
  return made;
}

}  // namespace weft::crdt
