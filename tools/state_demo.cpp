// weft-state-demo: what the cluster-state layer does today, on real LMDB data dirs.
// Three machines claim subnets while partitioned (two pick the same /24), heal with push-pull
// anti-entropy, settle the conflict by the shared rule, replicate a service, reject a forged
// record, and come back from disk identical. scripts/demo.sh runs it until the netns mesh demo
// replaces it.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/hex.hpp"
#include "crdt/anti_entropy.hpp"
#include "crdt/subnet.hpp"
#include "crdt/values.hpp"
#include "store/durable_replica.hpp"
#include "store/identity.hpp"
#include "store/record_store.hpp"

using namespace weft;
using namespace weft::crdt;

namespace {

constexpr uint64_t kT0 = 1'700'000'000'000;
const Ipv4Net kNetwork = *Ipv4Net::parse("10.210.0.0/16");

struct Machine {
  std::string name;
  std::unique_ptr<store::RecordStore> store;
  std::unique_ptr<store::Identity> identity;
  std::unique_ptr<Replica> replica;
};

Machine open_machine(const std::filesystem::path& dir, const std::string& name, uint64_t now) {
  Machine m{name, store::RecordStore::open(dir, true), nullptr, nullptr};
  m.identity = std::make_unique<store::Identity>(store::load_or_create_identity(*m.store));
  auto restored = store::restore_replica(*m.store, *m.identity, {}, now);
  m.replica = std::make_unique<Replica>(std::move(restored.replica));
  return m;
}

std::string short_id(const OwnerId& id) { return to_hex(std::span(id.data(), 4)); }

std::string name_of(const Machine& viewer, const OwnerId& owner) {
  if (const Record* r = viewer.replica->state().find(RecordKey{owner, Kind::machine, kMachineRecordName}))
    if (auto v = decode_machine(r->value)) return v->name;
  return short_id(owner);
}

void show(const Machine& m) {
  std::printf("  %s sees %zu records:", m.name.c_str(), m.replica->state().size());
  for (const auto& [subnet, holder] : subnet_holders(m.replica->state()))
    std::printf("  %s=%s", name_of(m, holder.owner).c_str(), subnet.to_string().c_str());
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path root = argc > 1 ? argv[1] : std::filesystem::temp_directory_path() / "weft-state-demo";
  std::filesystem::remove_all(root);
  uint64_t t = kT0;
  SubnetClaimer claimer(kNetwork);

  std::vector<Machine> ms;
  for (const char* name : {"m0", "m1", "m2"}) ms.push_back(open_machine(root / name, name, t));
  std::printf("1. three machines, data dirs under %s (LMDB, 0600)\n", root.c_str());
  for (auto& m : ms) {
    std::printf("  %s id %s  wireguard public key %s...\n", m.name.c_str(), short_id(m.replica->id()).c_str(),
                to_hex(std::span(m.identity->wireguard_public.data(), 8)).c_str());
    m.replica->put(Kind::machine, kMachineRecordName,
                   encode_value(MachineValue{m.name, m.identity->wireguard_public, m.replica->id(),
                                             {"127.0.0.1", 51821}, false, "demo"}),
                   ++t);
  }

  std::printf("2. partition {m0} | {m1, m2}: m0 and m1 both claim 10.210.0.0/24, m2 claims its own\n");
  auto first = *Ipv4Net::parse("10.210.0.0/24");
  for (int i : {0, 1})
    ms[i].replica->put(Kind::subnet_claim, subnet_claim_name(first), encode_value(SubnetClaimValue{first}), ++t);
  claimer.settle(*ms[2].replica, ++t);
  exchange(*ms[1].replica, *ms[2].replica, ++t);
  for (auto& m : ms) show(m);

  std::printf("3. heal: push-pull anti-entropy; every machine applies the rule (lowest HLC, then id)\n");
  exchange(*ms[0].replica, *ms[1].replica, ++t);
  exchange(*ms[0].replica, *ms[2].replica, ++t);
  for (auto& m : ms) {
    auto out = claimer.settle(*m.replica, ++t);
    std::printf("  %s: %s %s\n", m.name.c_str(),
                out.status == SubnetClaimer::Status::holding ? "keeps" : "lost its claim, re-claims",
                out.subnet ? out.subnet->to_string().c_str() : "-");
  }
  exchange(*ms[1].replica, *ms[0].replica, ++t);
  exchange(*ms[2].replica, *ms[0].replica, ++t);
  exchange(*ms[1].replica, *ms[2].replica, ++t);
  for (auto& m : ms) show(m);

  std::printf("4. m1 leases a container address and registers service api; m2 learns both\n");
  auto lease = claimer.lease(*ms[1].replica, true, "c0ffee", "api-1", ++t);
  auto ip = decode_container_lease(lease->value)->address.to_string();
  ms[1].replica->put(Kind::service_instance, "api/" + ip,
                     encode_value(ServiceInstanceValue{"api", ip, 8000, "tcp", "http", true}), ++t);
  exchange(*ms[2].replica, *ms[1].replica, ++t);
  ms[2].replica->state().for_each([&](const Record& r) {
    if (r.key.kind == Kind::service_instance)
      std::printf("  m2: service %s -> %s (owner %s, signature ok)\n", r.key.name.c_str(),
                  decode_service_instance(r.value)->address.c_str(), name_of(ms[2], r.key.owner).c_str());
  });

  std::printf("5. a forged record in m1's name (signed with another key) reaches m0\n");
  Record forged = *ms[2].replica->state().find(RecordKey{ms[1].replica->id(), Kind::service_instance, "api/" + ip});
  forged.value = encode_value(ServiceInstanceValue{"api", "10.210.66.6", 8000, "tcp", "http", true});
  forged.hlc = Hlc{forged.hlc.raw + 1000};
  auto mallory = SigningKey::from_seed(SigningSeed{66});
  mallory.sign(forged);
  ms[0].replica->receive(std::vector{forged}, ++t);
  std::printf("  m0 dropped it: bad_signature=%llu, records unchanged\n",
              static_cast<unsigned long long>(ms[0].replica->count(MergeResult::bad_signature)));

  std::printf("6. persist, close every store, reopen from disk\n");
  for (auto& m : ms) exchange(*m.replica, *ms[0].replica, ++t);
  std::vector<Digest> before;
  for (auto& m : ms) {
    store::persist(*m.store, *m.replica);
    before.push_back(m.replica->state().digest());
  }
  ms.clear();
  bool same = true;
  int i = 0;
  for (const char* name : {"m0", "m1", "m2"}) {
    auto m = open_machine(root / name, name, ++t);
    same &= m.replica->state().digest() == before[i++];
    show(m);
  }
  std::printf("  digests after reopen: %s\n", same ? "identical on all three" : "DIFFERENT");
  std::filesystem::remove_all(root);
  return same ? 0 : 1;
}
