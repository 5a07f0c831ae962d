#include "crdt/record.hpp"

namespace weft::crdt {

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::machine: return "machine";
    case Kind::subnet_claim: return "subnet-claim";
    case Kind::endpoint_candidates: return "endpoint-candidates";
    case Kind::observed_endpoints: return "observed-endpoints";
    case Kind::container_lease: return "container-lease";
    case Kind::service_instance: return "service-instance";
    case Kind::access_session: return "access-session";
    case Kind::machine_removal: return "machine-removal";
  }
  return "unknown";
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

static void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::string canonical_bytes(const Record& record) {
  static constexpr char kTag[] = "weft-record-v1";
  std::string out;
  out.reserve(sizeof kTag + 32 + 2 + 8 + record.key.name.size() + 8 + 1 + 8 + record.value.size());
  out.append(kTag, sizeof kTag);  // includes the NUL: a fixed-width separator
  out.append(reinterpret_cast<const char*>(record.key.owner.data()), record.key.owner.size());
  auto kind = static_cast<uint16_t>(record.key.kind);
  out.push_back(static_cast<char>(kind >> 8));
  out.push_back(static_cast<char>(kind));
  put_u64(out, record.key.name.size());
  out += record.key.name;
  put_u64(out, record.hlc.raw);
  out.push_back(record.tombstone ? 1 : 0);
  put_u64(out, record.value.size());
  out += record.value;
  return out;
}

}  // namespace weft::crdt
