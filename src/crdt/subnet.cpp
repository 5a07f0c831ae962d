#include "crdt/subnet.hpp"

#include <set>
#include <vector>

#include "crdt/values.hpp"

namespace weft::crdt {

namespace {

// Live claims: (subnet, hlc, owner) for every non-tombstoned claim record. A merged claim's
// name is its subnet (check_value holds every record to it), so the name is parsed, not the
// value; claims come grouped by name, so each name is parsed once.
template <typename Fn>
void for_each_claim(const ClusterState& state, Fn&& fn) {
  const std::string* last_name = nullptr;
  std::optional<Ipv4Net> subnet;
  state.for_each_of_kind(Kind::subnet_claim, [&](const Record& r) {
    if (r.tombstone) return;
    if (!last_name || *last_name != r.key.name) {
      subnet = Ipv4Net::parse(r.key.name);
      last_name = &r.key.name;
    }
    if (subnet) fn(*subnet, r);
  });
}

bool beats(const Hlc& hlc, const OwnerId& owner, const SubnetHolder& holder) {
  return std::tie(hlc, owner) < std::tie(holder.claimed, holder.owner);
}

}  // namespace

std::map<Ipv4Net, SubnetHolder> subnet_holders(const ClusterState& state) {
  std::map<Ipv4Net, SubnetHolder> holders;
  for_each_claim(state, [&](const Ipv4Net& subnet, const Record& r) {
    auto [it, inserted] = holders.try_emplace(subnet, SubnetHolder{r.key.owner, r.hlc});
    if (!inserted && beats(r.hlc, r.key.owner, it->second)) it->second = SubnetHolder{r.key.owner, r.hlc};
  });
  return holders;
}

std::optional<Ipv4Net> subnet_of(const ClusterState& state, const OwnerId& owner) {
  for (const auto& [subnet, holder] : subnet_holders(state))
    if (holder.owner == owner) return subnet;
  return std::nullopt;
}

bool lease_is_valid(const ClusterState& state, const Record& lease) {
  if (lease.key.kind != Kind::container_lease || lease.tombstone) return false;
  auto v = decode_container_lease(lease.value);
  if (!v) return false;
  auto subnet = subnet_of(state, lease.key.owner);
  uint32_t host = v->address.value & 0xff;
  return subnet && subnet->contains(v->address) && host >= 2 && host <= 254;
}

SubnetClaimer::Outcome SubnetClaimer::settle(Replica& replica, uint64_t now_ms) const {
  auto holders = subnet_holders(replica.state());
  std::optional<Ipv4Net> keep;
  std::vector<Ipv4Net> drop;
  for_each_claim(replica.state(), [&](const Ipv4Net& subnet, const Record& r) {
    if (r.key.owner != replica.id()) return;
    bool wins = holders.at(subnet).owner == replica.id() && network_.contains(subnet);
    if (wins && !keep) keep = subnet;
    else drop.push_back(subnet);
  });
  std::vector<Record> written;
  for (const auto& subnet : drop)
    if (auto r = replica.erase(Kind::subnet_claim, subnet_claim_name(subnet), now_ms)) written.push_back(*r);
  if (keep) return Outcome{Status::holding, keep, std::move(written)};

  if (network_.prefix > 24) return Outcome{Status::exhausted, std::nullopt, std::move(written)};
  uint64_t count = uint64_t{1} << (24 - network_.prefix);
  std::vector<Ipv4Net> free;
  for (uint64_t i = 0; i < count; ++i) {
    Ipv4Net candidate{Ipv4{network_.base.value + static_cast<uint32_t>(i << 8)}, 24};
    if (!holders.count(candidate)) free.push_back(candidate);
  }
  if (!free.empty()) {
    // A pick spread uniformly over the free /24s, derived from the machine id and how many
    // claims it already lost (so a loser does not pick the same again). Uniform, not "first free
    // after a hashed start": linear probing sends every machine whose start falls in one
    // occupied run to the same next free /24.
    size_t lost = 0;
    replica.state().for_owner(replica.id(), [&](const Record& r) {
      if (r.key.kind == Kind::subnet_claim && r.tombstone) ++lost;
    });
    const OwnerId& id = replica.id();
    uint64_t h = 0;
    for (int i = 0; i < 8; ++i) h = h << 8 | id[i];
    h += 0x9e3779b97f4a7c15ull * (lost + 1);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    const Ipv4Net& pick = free[h % free.size()];
    written.push_back(
        replica.put(Kind::subnet_claim, subnet_claim_name(pick), encode_value(SubnetClaimValue{pick}), now_ms));
    return Outcome{Status::claimed, pick, std::move(written)};
  }
  return Outcome{Status::exhausted, std::nullopt, std::move(written)};
}

std::optional<Ipv4Net> SubnetClaimer::confirmed(const Replica& replica, bool synced) const {
  if (!synced) return std::nullopt;
  auto subnet = subnet_of(replica.state(), replica.id());
  if (subnet && !network_.contains(*subnet)) return std::nullopt;
  return subnet;
}

std::optional<Record> SubnetClaimer::lease(Replica& replica, bool synced,
                                           const std::string& container_id,
                                           const std::string& container_name, uint64_t now_ms) const {
  auto subnet = confirmed(replica, synced);
  if (!subnet) return std::nullopt;
  std::set<uint32_t> used;
  replica.state().for_owner(replica.id(), [&](const Record& r) {
    if (r.key.kind != Kind::container_lease || r.tombstone) return;
    if (auto v = decode_container_lease(r.value)) used.insert(v->address.value);
  });
  for (uint32_t host = 2; host <= 254; ++host) {
    Ipv4 address{subnet->base.value + host};
    if (used.count(address.value)) continue;
    return replica.put(Kind::container_lease, container_lease_name(address),
                       encode_value(ContainerLeaseValue{address, container_id, container_name}), now_ms);
  }
  return std::nullopt;
}

std::optional<SubnetClaimer::Outcome> SubnetSettler::tick(Replica& replica, bool may_claim, uint64_t now_ms) {
  if (now_ms < next_at_ || (!may_claim && !broken_gate_)) return std::nullopt;
  next_at_ = now_ms + kEveryMs;
  uint64_t version = replica.state().kind_version(Kind::subnet_claim);
  if (settled_version_ == version) return std::nullopt;
  auto outcome = claimer_.settle(replica, now_ms);
  settled_version_ = replica.state().kind_version(Kind::subnet_claim);
  return outcome;
}

}  // namespace weft::crdt
