#include <gtest/gtest.h>

#include "crdt/anti_entropy.hpp"
#include "crdt/subnet.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::crdt;

namespace {
constexpr uint64_t kT0 = 1'700'000'000'000;
const Ipv4Net kNet = *Ipv4Net::parse("10.210.0.0/16");

Record claim(Replica& r, const char* subnet, uint64_t t) {
  auto net = *Ipv4Net::parse(subnet);
  return r.put(Kind::subnet_claim, subnet_claim_name(net), encode_value(SubnetClaimValue{net}), t);
}
}  // namespace

TEST(Subnet, FirstClaimWinsAndTheLoserReclaims) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  SubnetClaimer claimer(kNet);
  claim(a, "10.210.5.0/24", kT0);
  claim(b, "10.210.5.0/24", kT0 + 1);  // concurrent, slightly later
  exchange(a, b, kT0 + 10);
  auto holders = subnet_holders(b.state());
  EXPECT_EQ(holders.at(*Ipv4Net::parse("10.210.5.0/24")).owner, a.id());

  EXPECT_EQ(claimer.settle(a, kT0 + 11).status, SubnetClaimer::Status::holding);
  auto out = claimer.settle(b, kT0 + 11);
  EXPECT_EQ(out.status, SubnetClaimer::Status::claimed);
  ASSERT_TRUE(out.subnet);
  EXPECT_NE(*out.subnet, *Ipv4Net::parse("10.210.5.0/24"));
  exchange(a, b, kT0 + 20);
  EXPECT_EQ(subnet_of(a.state(), b.id()), out.subnet);
  EXPECT_EQ(subnet_of(b.state(), a.id()), Ipv4Net::parse("10.210.5.0/24"));
}

TEST(Subnet, EqualHlcIsSettledByOwnerId) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  Record ra = claim(a, "10.210.5.0/24", kT0);
  Record rb = claim(b, "10.210.5.0/24", kT0);
  ASSERT_EQ(ra.hlc, rb.hlc);
  exchange(a, b, kT0 + 1);
  OwnerId low = std::min(a.id(), b.id());
  EXPECT_EQ(subnet_holders(a.state()).begin()->second.owner, low);
  EXPECT_EQ(subnet_holders(b.state()).begin()->second.owner, low);
}

TEST(Subnet, LeasesOnlyFromAConfirmedSubnetAndOnlyHosts2To254) {
  auto a = test::test_replica(1);
  SubnetClaimer claimer(*Ipv4Net::parse("10.210.0.0/24"));
  EXPECT_EQ(claimer.settle(a, kT0).status, SubnetClaimer::Status::claimed);
  EXPECT_FALSE(claimer.lease(a, /*synced=*/false, "c0", "web", kT0));
  std::set<std::string> seen;
  for (int i = 0; i < 253; ++i) {
    auto lease = claimer.lease(a, true, "c" + std::to_string(i), "web", kT0 + i);
    ASSERT_TRUE(lease) << i;
    EXPECT_TRUE(lease_is_valid(a.state(), *lease));
    seen.insert(lease->key.name);
  }
  EXPECT_EQ(seen.size(), 253u);
  EXPECT_FALSE(seen.count("10.210.0.0") || seen.count("10.210.0.1") || seen.count("10.210.0.255"));
  EXPECT_FALSE(claimer.lease(a, true, "full", "web", kT0 + 999));  // exhausted
}

TEST(Subnet, LeaseOutsideTheOwnersSubnetIsNotValid) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  claim(a, "10.210.5.0/24", kT0);
  claim(b, "10.210.6.0/24", kT0);
  // b writes a lease in a's /24: signed by b, so it merges, but it is not a valid lease.
  auto ip = *Ipv4::parse("10.210.5.7");
  Record bad = b.put(Kind::container_lease, container_lease_name(ip), encode_value(ContainerLeaseValue{ip, "x", "y"}), kT0 + 1);
  exchange(a, b, kT0 + 2);
  EXPECT_FALSE(lease_is_valid(a.state(), bad));
}

TEST(Subnet, ExhaustedNetworkIsReported) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  SubnetClaimer claimer(*Ipv4Net::parse("10.210.0.0/24"));  // room for one machine
  claimer.settle(a, kT0);
  exchange(a, b, kT0 + 1);
  EXPECT_EQ(claimer.settle(b, kT0 + 2).status, SubnetClaimer::Status::exhausted);
}
