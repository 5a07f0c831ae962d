// After concurrent claims on both sides of a partition and a full exchange, no two machines
// hold the same /24, and every machine holds exactly one.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "crdt/anti_entropy.hpp"
#include "crdt/subnet.hpp"
#include "property/generators.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::crdt;
using namespace weft::test;

RC_GTEST_PROP(SubnetProperties, NoTwoMachinesHoldTheSameSubnetAfterFullExchange, ()) {
  // A /21 has 8 subnets: with up to 8 machines, collisions are frequent.
  const Ipv4Net network = *Ipv4Net::parse("10.210.8.0/21");
  SubnetClaimer claimer(network);
  int n = *rc::gen::inRange(2, 9);
  auto seed = *rc::gen::inRange(1, 120);
  auto machines = make_replicas(n, static_cast<uint8_t>(seed));
  uint64_t t = kT0;

  // Partition into two sides; each machine claims, some of them a forced choice that collides.
  auto side = *rc::gen::container<std::vector<bool>>(n, rc::gen::arbitrary<bool>());
  for (int i = 0; i < n; ++i) {
    if (*rc::gen::arbitrary<bool>()) {
      Ipv4Net forced{Ipv4{network.base.value + (static_cast<uint32_t>(*rc::gen::inRange(0, 8)) << 8)}, 24};
      machines[i].put(Kind::subnet_claim, subnet_claim_name(forced), encode_value(SubnetClaimValue{forced}), t);
    } else {
      claimer.settle(machines[i], t);
    }
    t += *rc::gen::inRange(0, 3);
  }
  // Gossip within each side, settling as they learn.
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j)
        if (side[i] == side[j]) {
          exchange(machines[i], machines[j], ++t);
          claimer.settle(machines[i], t);
          claimer.settle(machines[j], t);
        }
  // Heal: full exchanges and settling until quiet.
  bool changed = true;
  for (int round = 0; changed && round < 4 * n; ++round) {
    changed = false;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) exchange(machines[i], machines[j], ++t);
    for (auto& m : machines) {
      auto before = m.state().digest();
      claimer.settle(m, ++t);
      changed |= !(m.state().digest() == before);
    }
  }
  RC_ASSERT(!changed);

  std::map<Ipv4Net, int> live_claims;
  for (auto& m : machines) {
    int mine = 0;
    m.state().for_owner(m.id(), [&](const Record& r) {
      if (r.key.kind == Kind::subnet_claim && !r.tombstone) {
        ++mine;
        ++live_claims[*Ipv4Net::parse(r.key.name)];
      }
    });
    RC_ASSERT(mine == 1);
    RC_ASSERT(subnet_of(m.state(), m.id()).has_value());
    RC_ASSERT(m.state().digest() == machines[0].state().digest());
  }
  for (const auto& [subnet, count] : live_claims) RC_ASSERT(count == 1);
}
