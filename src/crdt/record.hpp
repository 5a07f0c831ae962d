// A record is one replicated fact, keyed by (owner, kind, name), written only by its owner
// and signed by the owner's Ed25519 key over its canonical form. The value is kept as the
// bytes of a Cap'n Proto value struct (values.hpp), so what is signed is what travels.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <string>
#include <string_view>

#include "crdt/hlc.hpp"

namespace weft::crdt {

// Numbering matches schema/records.capnp's Kind.
enum class Kind : uint16_t {
  machine = 0,
  subnet_claim = 1,
  endpoint_candidates = 2,
  observed_endpoints = 3,
  container_lease = 4,
  service_instance = 5,
  access_session = 6,
  machine_removal = 7,
};
inline constexpr uint16_t kKindCount = 8;
const char* kind_name(Kind kind);

// The owner's Ed25519 public key doubles as the machine id.
using OwnerId = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

// The first 8 bytes as one big-endian integer.
inline uint64_t prefix64(const uint8_t* bytes) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8; ++i) x = x << 8 | bytes[i];
  return x;
}
// Ids are Ed25519 public keys, so their first 8 bytes are already uniformly spread: they almost
// always order two ids and make a good hash (as they do for signatures).
inline uint64_t id_prefix(const OwnerId& id) { return prefix64(id.data()); }
// Ids in byte order, as std::array's own comparison, but the first 8 bytes compared as one
// integer: ids are random, so that almost always decides, and maps keyed by ids (every member,
// every record, in every replica) are the simulator's hottest code at 1,000 machines.
inline std::strong_ordering compare_ids(const OwnerId& a, const OwnerId& b) {
  uint64_t x = id_prefix(a), y = id_prefix(b);
  if (x != y) return x <=> y;
  return a <=> b;
}
struct IdLess {
  bool operator()(const OwnerId& a, const OwnerId& b) const { return compare_ids(a, b) < 0; }
};
template <typename Value>
using IdMap = std::map<OwnerId, Value, IdLess>;
// For tables only looked up by id (members, suspicions), where a tree's ten levels of cache
// misses per lookup are what the simulator at 1,000 machines spends most of its time on.
// Iteration order is fixed by the ids and the insertion history, so runs replay exactly, but it
// is not sorted.
struct IdHash {
  size_t operator()(const OwnerId& id) const noexcept { return static_cast<size_t>(id_prefix(id)); }
};
// Equality that almost always decides on the first 8 bytes, without a call to memcmp.
struct IdEqual {
  bool operator()(const OwnerId& a, const OwnerId& b) const noexcept {
    return id_prefix(a) == id_prefix(b) && a == b;
  }
};
template <typename Value>
using IdHashMap = std::unordered_map<OwnerId, Value, IdHash, IdEqual>;

// Owner first, so one owner's records are a contiguous range of an ordered map.
struct RecordKey {
  OwnerId owner{};
  Kind kind = Kind::machine;
  std::string name;
  std::strong_ordering operator<=>(const RecordKey& o) const {
    if (auto c = compare_ids(owner, o.owner); c != 0) return c;
    if (auto c = kind <=> o.kind; c != 0) return c;
    return name <=> o.name;
  }
  bool operator==(const RecordKey&) const = default;
};

struct Record {
  RecordKey key;
  Hlc hlc;
  bool tombstone = false;
  std::string value;  // empty for tombstones
  Signature signature{};
  bool operator==(const Record&) const = default;
};

// The exact bytes a signature covers: a domain tag, then key, HLC, tombstone flag and value,
// each length-prefixed so no two different records share a canonical form.
std::string canonical_bytes(const Record& record);

// Names are bounded so one record cannot bloat every member's state.
inline constexpr size_t kMaxNameBytes = 253;
inline constexpr size_t kMaxValueBytes = 16 * 1024;

// A record name is 1..kMaxNameBytes bytes with no control characters (no NUL: names travel
// as Cap'n Proto Text and end up in DNS answers and logs).
bool valid_name(std::string_view name);

}  // namespace weft::crdt
