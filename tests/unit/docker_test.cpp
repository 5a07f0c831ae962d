// Docker Engine API JSON recorded from dockerd 20.10.24 (API 1.41) in a namespace on this machine
// kind (tests/unit/data/docker/), and the records containers become.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "crdt/values.hpp"
#include "docker/container_records.hpp"
#include "docker/engine_json.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::docker;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(WEFT_TEST_DATA) + "/docker/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr uint64_t kNow = 1'700'000'000'000;
const std::string kApi1 = "46ad55bb44c93f32d64bd298b1c0e4efe962dc05a06a4ecc9ec1476532dca49b";
const std::string kApi2 = "9ced36b27524fc20f7bdeb88f77a2bcb6addf3d4b403f703163d481ce9eb0b9b";

Container running(std::string id, std::string ip, std::map<std::string, std::string> labels, Health h = Health::none) {
  Container c;
  c.id = std::move(id);
  c.name = "c-" + c.id;
  c.running = true;
  c.health = h;
  c.labels = std::move(labels);
  c.address = Ipv4::parse(ip);
  return c;
}

// Applies a plan through the replica, as the agent does.
void apply(crdt::Replica& r, const ContainerPlan& plan) {
  for (const auto& w : plan.writes) {
    if (w.value.empty()) r.erase(w.kind, w.name, kNow + 10);
    else r.put(w.kind, w.name, w.value, kNow + 10);
  }
}

}  // namespace

TEST(DockerJson, ReadsTheRecordedNetwork) {
  std::string why;
  auto n = parse_network(fixture("network.json"), &why);
  ASSERT_TRUE(n) << why;
  EXPECT_EQ(n->name, "weft");
  EXPECT_EQ(n->driver, "bridge");
  EXPECT_EQ(n->bridge_name, "weft-br");
  EXPECT_FALSE(n->masquerade);
  EXPECT_EQ(n->subnet, Ipv4Net::parse("10.210.1.0/24"));
  EXPECT_EQ(n->gateway, Ipv4::parse("10.210.1.1"));
  EXPECT_FALSE(parse_network(R"({"message":"network nope not found"})", &why));
}

TEST(DockerJson, ReadsTheRecordedContainerListAndInspect) {
  std::string why;
  auto list = parse_container_list(fixture("list.json"), "weft", &why);
  ASSERT_TRUE(list) << why;
  ASSERT_EQ(list->size(), 2u);
  const auto& healthy = (*list)[0];
  EXPECT_EQ(healthy.id, kApi2);
  EXPECT_EQ(healthy.name, "api-2");
  EXPECT_TRUE(healthy.running);
  EXPECT_EQ(healthy.health, Health::healthy);
  EXPECT_EQ(healthy.address, Ipv4::parse("10.210.1.3"));
  EXPECT_EQ(healthy.labels.at("weft.service"), "api");
  EXPECT_EQ((*list)[1].health, Health::unhealthy);
  EXPECT_FALSE(parse_container_list(fixture("list.json"), "bridge", &why)->at(0).address);  // not on that network

  auto one = parse_container_inspect(fixture("inspect.json"), "weft", &why);
  ASSERT_TRUE(one) << why;
  EXPECT_EQ(one->id, kApi1);
  EXPECT_EQ(one->name, "api-1");
  EXPECT_TRUE(one->running);
  EXPECT_EQ(one->health, Health::unhealthy);
  EXPECT_EQ(one->address, Ipv4::parse("10.210.1.2"));
  EXPECT_EQ(one->labels.at("weft.port"), "http:8000/tcp");
}

TEST(DockerJson, ReadsEveryRecordedEvent) {
  std::istringstream lines(fixture("events.jsonl"));
  std::map<std::string, int> actions;
  int health = 0;
  for (std::string line; std::getline(lines, line);) {
    std::string why;
    auto e = parse_event(line, &why);
    ASSERT_TRUE(e) << why << ": " << line;
    EXPECT_TRUE(e->id == kApi1 || e->id == kApi2) << e->id;
    EXPECT_EQ(e->labels.at("weft.service"), "api");
    EXPECT_FALSE(e->labels.count("name"));
    ++actions[e->action];
    if (e->action == "health_status") {
      ++health;
      EXPECT_EQ(*e->health, e->id == kApi1 ? Health::unhealthy : Health::healthy);
    }
  }
  EXPECT_EQ(health, 2);
  for (const char* a : {"create", "start", "die", "stop", "destroy", "kill", "exec_die"}) EXPECT_GT(actions[a], 0) << a;
}

TEST(DockerJson, RefusesWhatIsNotTheApisShape) {
  std::string why;
  for (const char* bad : {"", "{", "[]", "null", R"({"Type":"network","Action":"create","Actor":{"ID":"x"}})",
                          R"({"Type":"container","Action":"start"})", R"({"Type":"container","Actor":{"ID":"x"}})",
                          R"({"Type":"container","Action":"health_status: weird","Actor":{"ID":"x"}})"}) {
    why.clear();
    EXPECT_FALSE(parse_event(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  EXPECT_FALSE(parse_container_list(R"({"message":"x"})", "weft", &why));
  EXPECT_FALSE(parse_container_list(R"([{"Names":["/x"]}])", "weft", &why));
  EXPECT_FALSE(parse_container_inspect("[1]", "weft", &why));
  // Wrong types inside are skipped, not trusted.
  auto odd = parse_container_list(R"([{"Id":"a","Names":[7],"Labels":{"weft.service":3},"NetworkSettings":{"Networks":{"weft":{"IPAddress":"x"}}}}])",
                                  "weft", &why);
  ASSERT_TRUE(odd);
  EXPECT_EQ((*odd)[0].name, "");
  EXPECT_TRUE((*odd)[0].labels.empty());
  EXPECT_FALSE((*odd)[0].address);
}

TEST(DockerLabels, ServiceAndPort) {
  std::string why;
  auto l = parse_labels({{"weft.service", "api"}, {"weft.port", "http:8000/tcp"}}, &why);
  ASSERT_TRUE(l) << why;
  EXPECT_EQ(l->service, "api");
  EXPECT_EQ(l->port, 8000);
  EXPECT_EQ(l->port_name, "http");
  EXPECT_EQ(l->protocol, "tcp");
  EXPECT_EQ(parse_labels({{"weft.service", "dns"}, {"weft.port", "dns:53/udp"}}, &why)->protocol, "udp");
  EXPECT_EQ(parse_labels({{"weft.service", "api"}, {"weft.port", "http:80"}}, &why)->protocol, "tcp");
  for (const auto& bad : std::vector<std::map<std::string, std::string>>{
           {}, {{"weft.service", ""}}, {{"weft.service", "a.b"}}, {{"weft.service", "-x"}},
           {{"weft.service", "api"}, {"weft.port", "8000"}}, {{"weft.service", "api"}, {"weft.port", "http:0/tcp"}},
           {{"weft.service", "api"}, {"weft.port", "http:65536/tcp"}}, {{"weft.service", "api"}, {"weft.port", "http:80/sctp"}},
           {{"weft.service", "api"}, {"weft.port", ":80/tcp"}}, {{"weft.service", "api"}, {"weft.port", "http:8x/tcp"}}}) {
    why.clear();
    EXPECT_FALSE(parse_labels(bad, &why));
    EXPECT_FALSE(why.empty());
  }
}

TEST(ContainerRecords, RunningLabelledContainersBecomeInstancesAndLeases) {
  auto r = test::test_replica(1);
  auto subnet = *Ipv4Net::parse("10.210.1.0/24");
  std::vector<Container> cs{
      running("aaa", "10.210.1.2", {{"weft.service", "api"}, {"weft.port", "http:8000/tcp"}}, Health::healthy),
      running("bbb", "10.210.1.3", {{"weft.service", "api"}}, Health::unhealthy),
      running("ccc", "10.210.1.4", {{"other", "x"}}),                      // no weft.service: ignored
      running("ddd", "10.210.2.4", {{"weft.service", "api"}}),             // outside our /24
      running("eee", "10.210.1.5", {{"weft.service", "bad name"}}),        // malformed label
      running("fff", "10.210.1.2", {{"weft.service", "db"}}),              // address taken
  };
  cs.push_back(running("ggg", "10.210.1.6", {{"weft.service", "api"}}));
  cs.back().running = false;  // stopped: nothing
  auto plan = plan_container_records(r.state(), r.id(), subnet, cs);
  EXPECT_EQ(plan.refused.size(), 3u);
  ASSERT_EQ(plan.writes.size(), 4u);
  apply(r, plan);
  auto a = crdt::decode_service_instance(r.state().find({r.id(), crdt::Kind::service_instance, "docker:aaa"})->value);
  EXPECT_EQ(a->service, "api");
  EXPECT_EQ(a->address, "10.210.1.2");
  EXPECT_EQ(a->port, 8000);
  EXPECT_EQ(a->port_name, "http");
  EXPECT_TRUE(a->healthy);
  auto b = crdt::decode_service_instance(r.state().find({r.id(), crdt::Kind::service_instance, "docker:bbb"})->value);
  EXPECT_FALSE(b->healthy);  // Docker's healthcheck failed: DNS skips it
  auto lease = crdt::decode_container_lease(r.state().find({r.id(), crdt::Kind::container_lease, "10.210.1.3"})->value);
  EXPECT_EQ(lease->container_id, "bbb");
  // Unchanged: nothing to write.
  EXPECT_TRUE(plan_container_records(r.state(), r.id(), subnet, cs).writes.empty());
  // bbb turns healthy, aaa stops: bbb's instance updates, aaa's goes, and fff (which wanted
  // aaa's address) now gets its instance and the lease of 10.210.1.2.
  cs[1].health = Health::healthy;
  cs[0].running = false;
  auto next = plan_container_records(r.state(), r.id(), subnet, cs);
  std::vector<RecordWrite> erases, puts;
  for (const auto& w : next.writes) (w.value.empty() ? erases : puts).push_back(w);
  EXPECT_EQ(puts.size(), 3u);
  ASSERT_EQ(erases.size(), 1u);
  EXPECT_EQ(erases[0].name, "docker:aaa");
  apply(r, next);
  EXPECT_TRUE(r.state().find({r.id(), crdt::Kind::service_instance, "docker:aaa"})->tombstone);
  EXPECT_EQ(crdt::decode_container_lease(r.state().find({r.id(), crdt::Kind::container_lease, "10.210.1.2"})->value)->container_id,
            "fff");
  // Services added by hand (weft service add) are not Docker's to remove.
  r.put(crdt::Kind::service_instance, "manual", test::service_value("web", "10.210.1.9"), kNow + 20);
  EXPECT_TRUE(plan_container_records(r.state(), r.id(), subnet, cs).writes.empty());
}
