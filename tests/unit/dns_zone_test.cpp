// The .internal zone answered from cluster state: names, types, NXDOMAIN vs NODATA, liveness.
#include <gtest/gtest.h>

#include <set>

#include "crdt/anti_entropy.hpp"
#include "crdt/subnet.hpp"
#include "crdt/values.hpp"
#include "dns/zone.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::dns;

namespace {

constexpr uint64_t kNow = 1'700'000'000'000;

uint32_t ip(const char* s) { return Ipv4::parse(s)->value; }

Query query(const std::string& name, uint16_t qtype) {
  Query q;
  q.id = 42;
  q.question = Question{*Name::parse_text(name), qtype, kClassIn};
  return q;
}

// Three machines: m0 (self, 10.210.0.0/24), m1 (10.210.1.0/24), m2 (10.210.2.0/24, dead).
struct Cluster {
  std::vector<crdt::Replica> replicas;
  crdt::Replica all = test::test_replica(100);
  Cluster() {
    for (uint8_t i = 0; i < 3; ++i) {
      replicas.push_back(test::test_replica(i + 1));
      auto& r = replicas.back();
      crdt::MachineValue m{"m" + std::to_string(i), {}, r.id(), {"192.0.2.1", 51821}, false, "t"};
      r.put(crdt::Kind::machine, crdt::kMachineRecordName, crdt::encode_value(m), kNow);
      auto subnet = *Ipv4Net::parse("10.210." + std::to_string(i) + ".0/24");
      r.put(crdt::Kind::subnet_claim, crdt::subnet_claim_name(subnet), crdt::encode_value(crdt::SubnetClaimValue{subnet}), kNow);
    }
    service(0, "api-a", "API", "10.210.0.2", 8080, "tcp", "http");
    service(1, "api-b", "api", "10.210.1.2", 8080, "tcp", "http");
    service(2, "api-c", "api", "10.210.2.2", 8080, "tcp", "http");  // on the dead machine
    service(1, "db", "db", "10.210.1.3", 0, "", "");
    crdt::ServiceInstanceValue sick{"api", "10.210.1.9", 8080, "tcp", "http", false};
    replicas[1].put(crdt::Kind::service_instance, "api-sick", crdt::encode_value(sick), kNow);
    for (auto& r : replicas) crdt::exchange(all, r, kNow);
  }
  void service(size_t i, const std::string& key, const std::string& name, const std::string& address, uint16_t port,
               const std::string& proto, const std::string& port_name) {
    crdt::ServiceInstanceValue v{name, address, port, proto, port_name, true};
    replicas[i].put(crdt::Kind::service_instance, key, crdt::encode_value(v), kNow);
  }
  ZoneView view() const {
    std::set<crdt::OwnerId> live{replicas[0].id(), replicas[1].id()};
    return build_view(all.state(), live, replicas[0].id(), *Ipv4Net::parse("10.210.0.0/16"));
  }
};

std::set<uint32_t> addresses(const std::vector<Record>& rs) {
  std::set<uint32_t> out;
  for (const auto& r : rs)
    if (r.rtype == type::A) out.insert(r.a);
  return out;
}

}  // namespace

TEST(DnsZone, ServiceNamesAnswerLiveHealthyInstancesOnly) {
  Cluster c;
  auto v = c.view();
  Rng rng(1);
  auto r = answer(query("api.internal", type::A), v, rng);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rcode, rcode::noerror);
  EXPECT_TRUE(r->aa);
  // Not the dead machine's instance, not the unhealthy one.
  EXPECT_EQ(addresses(r->answers), (std::set<uint32_t>{ip("10.210.0.2"), ip("10.210.1.2")}));
  for (const auto& a : r->answers) EXPECT_EQ(a.ttl, kServiceTtl);
}

TEST(DnsZone, MatchingIsCaseInsensitiveAndEchoesTheNameAsAsked) {
  Cluster c;
  auto v = c.view();
  Rng rng(1);
  auto r = answer(query("ApI.InTeRnAl", type::A), v, rng);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->answers.size(), 2u);
  EXPECT_EQ(r->answers[0].name.text(), "ApI.InTeRnAl");
  EXPECT_EQ(r->question->name.text(), "ApI.InTeRnAl");
}

TEST(DnsZone, AnswersAreShuffledAndNearestPutsLocalInstancesFirst) {
  ZoneView v;
  v.network = *Ipv4Net::parse("10.210.0.0/16");
  v.self[0] = 1;
  crdt::OwnerId other{};
  other[0] = 2;
  for (uint32_t i = 2; i < 12; ++i) v.services["web"].push_back(Instance{ip("10.210.1.0") + i, 0, "", "", other});
  v.services["web"].push_back(Instance{ip("10.210.0.7"), 0, "", "", v.self});
  Rng rng(3);
  std::set<uint32_t> firsts;
  for (int k = 0; k < 50; ++k) {
    firsts.insert(answer(query("web.internal", type::A), v, rng)->answers.at(0).a);
    EXPECT_EQ(answer(query("nearest.web.internal", type::A), v, rng)->answers.at(0).a, ip("10.210.0.7"));
  }
  EXPECT_GT(firsts.size(), 3u);
}

// The longest names a record can carry answer as A and PTR and encode on the wire; a longer one
// never enters the view (merge refuses it), so a PTR query cannot meet a name it cannot encode.
TEST(DnsZone, LongestLabelsAnswerAndLongerOnesNeverArrive) {
  Cluster c;
  std::string longest(63, 'q');
  crdt::ServiceInstanceValue s{longest, "10.210.1.7", 0, "", "", true};
  c.replicas[1].put(crdt::Kind::service_instance, "long", crdt::encode_value(s), kNow);
  crdt::ServiceInstanceValue too_long{longest + "q", "10.210.1.8", 0, "", "", true};
  EXPECT_THROW(c.replicas[1].put(crdt::Kind::service_instance, "too-long", crdt::encode_value(too_long), kNow),
               std::exception);  // not even its owner can write it
  crdt::exchange(c.all, c.replicas[1], kNow);
  auto v = c.view();
  Rng rng(1);
  auto ptr = answer(query("7.1.210.10.in-addr.arpa", type::PTR), v, rng);
  ASSERT_TRUE(ptr && ptr->answers.size() == 1u);
  EXPECT_EQ(ptr->answers[0].target.text(), longest + ".internal");
  EXPECT_FALSE(encode_response(*ptr, 512).empty());
  auto none = answer(query("8.1.210.10.in-addr.arpa", type::PTR), v, rng);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->rcode, rcode::nxdomain);
}

TEST(DnsZone, MachinesPtrAndAddressNames) {
  Cluster c;
  auto v = c.view();
  Rng rng(1);
  auto m1 = answer(query("m1.m.internal", type::A), v, rng);
  ASSERT_EQ(m1->answers.size(), 1u);
  EXPECT_EQ(m1->answers[0].a, ip("10.210.1.1"));
  EXPECT_EQ(m1->answers[0].ttl, kMachineTtl);
  auto ptr = answer(query("1.1.210.10.in-addr.arpa", type::PTR), v, rng);
  ASSERT_EQ(ptr->answers.size(), 1u);
  EXPECT_EQ(ptr->answers[0].target.text(), "m1.m.internal");
  auto svc_ptr = answer(query("2.1.210.10.in-addr.arpa", type::PTR), v, rng);
  ASSERT_EQ(svc_ptr->answers.size(), 1u);
  EXPECT_EQ(svc_ptr->answers[0].target.text(), "api.internal");
  auto by_address = answer(query("10-210-1-2.ip.internal", type::A), v, rng);
  ASSERT_EQ(by_address->answers.size(), 1u);
  EXPECT_EQ(by_address->answers[0].a, ip("10.210.1.2"));
  EXPECT_EQ(answer(query("10-210-9-9.ip.internal", type::A), v, rng)->rcode, rcode::nxdomain);
  EXPECT_EQ(answer(query("9.9.210.10.in-addr.arpa", type::PTR), v, rng)->rcode, rcode::nxdomain);
  EXPECT_EQ(answer(query("1.210.10.in-addr.arpa", type::PTR), v, rng)->rcode, rcode::noerror);  // empty non-terminal
  // The dead machine has no name.
  EXPECT_EQ(answer(query("m2.m.internal", type::A), v, rng)->rcode, rcode::nxdomain);
}

TEST(DnsZone, SrvForServicesWithPortsWithTargetsInAdditional) {
  Cluster c;
  auto v = c.view();
  Rng rng(1);
  auto r = answer(query("_http._tcp.api.internal", type::SRV), v, rng);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->answers.size(), 2u);
  std::set<std::string> targets;
  for (const auto& s : r->answers) {
    EXPECT_EQ(s.rtype, type::SRV);
    EXPECT_EQ(s.port, 8080);
    targets.insert(s.target.text());
  }
  EXPECT_EQ(targets, (std::set<std::string>{"10-210-0-2.ip.internal", "10-210-1-2.ip.internal"}));
  EXPECT_EQ(addresses(r->additional), (std::set<uint32_t>{ip("10.210.0.2"), ip("10.210.1.2")}));
  EXPECT_EQ(answer(query("_tcp.api.internal", type::SRV), v, rng)->rcode, rcode::noerror);  // ENT: NODATA
  EXPECT_EQ(answer(query("_dns._udp.api.internal", type::SRV), v, rng)->rcode, rcode::nxdomain);
  EXPECT_EQ(answer(query("_http._tcp.db.internal", type::SRV), v, rng)->rcode, rcode::nxdomain);  // db has no port
}

TEST(DnsZone, NxdomainVersusNodataBothCarryTheSoa) {
  Cluster c;
  auto v = c.view();
  Rng rng(1);
  auto nx = answer(query("nope.internal", type::A), v, rng);
  EXPECT_EQ(nx->rcode, rcode::nxdomain);
  EXPECT_TRUE(nx->answers.empty());
  ASSERT_EQ(nx->authority.size(), 1u);
  EXPECT_EQ(nx->authority[0].rtype, type::SOA);
  EXPECT_EQ(nx->authority[0].name.text(), "internal");
  EXPECT_EQ(nx->authority[0].ttl, kNegativeTtl);
  auto nodata = answer(query("api.internal", type::AAAA), v, rng);
  EXPECT_EQ(nodata->rcode, rcode::noerror);
  EXPECT_TRUE(nodata->answers.empty());
  ASSERT_EQ(nodata->authority.size(), 1u);
  EXPECT_EQ(nodata->authority[0].rtype, type::SOA);
}

TEST(DnsZone, ApexHasSoaAndNsAndRefusesTransfers) {
  Cluster c;
  auto v = c.view();
  Rng rng(1);
  auto soa = answer(query("internal", type::SOA), v, rng);
  ASSERT_EQ(soa->answers.size(), 1u);
  EXPECT_EQ(soa->answers[0].soa_mname.text(), "m0.m.internal");
  auto ns = answer(query("internal", type::NS), v, rng);
  ASSERT_EQ(ns->answers.size(), 1u);
  EXPECT_EQ(ns->answers[0].target.text(), "m0.m.internal");
  EXPECT_EQ(answer(query("internal", type::AXFR), v, rng)->rcode, rcode::refused);
  EXPECT_EQ(answer(query("210.10.in-addr.arpa", type::SOA), v, rng)->answers.size(), 1u);
}

TEST(DnsZone, OutsideNamesAreNotAnsweredHere) {
  Cluster c;
  auto v = c.view();
  Rng rng(1);
  EXPECT_FALSE(answer(query("example.com", type::A), v, rng));
  EXPECT_FALSE(answer(query("internal.example.com", type::A), v, rng));
  EXPECT_FALSE(answer(query("1.0.168.192.in-addr.arpa", type::PTR), v, rng));
}

TEST(DnsZone, AnswersChangeWithTheStateAndLiveness) {
  Cluster c;
  std::set<crdt::OwnerId> all_live{c.replicas[0].id(), c.replicas[1].id(), c.replicas[2].id()};
  auto net = *Ipv4Net::parse("10.210.0.0/16");
  Rng rng(1);
  auto with_m2 = build_view(c.all.state(), all_live, c.replicas[0].id(), net);
  EXPECT_EQ(answer(query("api.internal", type::A), with_m2, rng)->answers.size(), 3u);
  c.replicas[1].erase(crdt::Kind::service_instance, "api-b", kNow + 1);
  crdt::exchange(c.all, c.replicas[1], kNow + 1);
  auto after = build_view(c.all.state(), all_live, c.replicas[0].id(), net);
  EXPECT_EQ(addresses(answer(query("api.internal", type::A), after, rng)->answers),
            (std::set<uint32_t>{ip("10.210.0.2"), ip("10.210.2.2")}));
}
