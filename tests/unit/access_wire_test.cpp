// The access grant on the wire: the request the CLI sends and the grant the agent answers with,
// parsed strictly (wg/access_wire.hpp). Nothing that could add a line to a wg-quick config passes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "access/plan.hpp"
#include "access/wire.hpp"

using namespace weft::wg;
using namespace weft::access;

namespace {

const char* kKey = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

std::string refusal_of_request(const std::string& body) {
  std::string why;
  EXPECT_FALSE(parse_grant_request(body, &why)) << body;
  EXPECT_FALSE(why.empty()) << body;
  return why;
}

// A well-formed grant, with `field` replaced by the JSON `value_json` (none: as it is).
std::string grant_json(const std::string& field, const std::string& value_json) {
  auto j = nlohmann::json::parse(R"({"id":"00aa11bb22cc33dd","label":"laptop","address":"10.77.7.2/32",)"
                                 R"("server_key":"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=","endpoint":"203.0.113.10:51820",)"
                                 R"("allowed_ips":["10.210.0.0/16"],"expires_ms":1700000000000})");
  if (!field.empty()) j[field] = nlohmann::json::parse(value_json);
  return j.dump();
}

}  // namespace

TEST(AccessWire, AGrantRequestParsesWithDefaults) {
  std::string why;
  auto r = parse_grant_request(std::string(R"({"pubkey":")") + kKey + "\"}", &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->ttl_ms, 2 * 3'600'000u);
  EXPECT_EQ(r->label, "");
  EXPECT_TRUE(r->targets.empty());
  EXPECT_EQ(r->endpoint, "");
  r = parse_grant_request(std::string(R"({"pubkey":")") + kKey +
                              R"(","ttl":"90m","label":"ci runner","to":["api","10.210.3.0/24"],"endpoint":"gw.example.net:51820"})",
                          &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->ttl_ms, 90 * 60'000u);
  EXPECT_EQ(r->label, "ci runner");
  EXPECT_EQ(r->targets, (std::vector<std::string>{"api", "10.210.3.0/24"}));
  EXPECT_EQ(r->endpoint, "gw.example.net:51820");
}

TEST(AccessWire, ABadGrantRequestIsRefusedWithAReason) {
  std::string k = std::string("\"pubkey\":\"") + kKey + "\"";
  EXPECT_EQ(refusal_of_request("[]"), "body must be a JSON object");
  EXPECT_EQ(refusal_of_request("{not json"), "body must be a JSON object");
  EXPECT_NE(refusal_of_request("{}").find("pubkey"), std::string::npos);
  EXPECT_NE(refusal_of_request(R"({"pubkey":"not-a-key"})").find("not a WireGuard public key"), std::string::npos);
  EXPECT_NE(refusal_of_request(R"({"pubkey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="})").find("not zero"), std::string::npos);
  EXPECT_NE(refusal_of_request(R"({"pubkey":17})").find("pubkey must be a string"), std::string::npos);
  EXPECT_NE(refusal_of_request("{" + k + R"(,"ttl":"31d"})").find("30 days"), std::string::npos);
  EXPECT_NE(refusal_of_request("{" + k + R"(,"ttl":5})").find("ttl must be a string"), std::string::npos);
  EXPECT_NE(refusal_of_request("{" + k + R"(,"label":"a\"b"})").find("label"), std::string::npos);
  EXPECT_NE(refusal_of_request("{" + k + R"(,"label":"two\nlines"})").find("label"), std::string::npos);
  EXPECT_EQ(refusal_of_request("{" + k + R"(,"to":"api"})"), "to must be a list");
  EXPECT_EQ(refusal_of_request("{" + k + R"(,"to":[1]})"), "to must be a list of strings");
  std::string many = "[";
  for (int i = 0; i < 33; ++i) many += std::string(i ? "," : "") + "\"s" + std::to_string(i) + "\"";
  EXPECT_EQ(refusal_of_request("{" + k + R"(,"to":)" + many + "]}"), "at most 32 targets");
  EXPECT_NE(refusal_of_request("{" + k + R"(,"endpoint":"1.2.3.4:51820\nPostUp = touch /tmp/x"})").find("not HOST:PORT"),
            std::string::npos);
  EXPECT_NE(refusal_of_request("{" + k + R"(,"endpoint":"1.2.3.4"})").find("not HOST:PORT"), std::string::npos);
}

TEST(AccessWire, EndpointsAreHostAndPortAndNothingElse) {
  for (const char* ok : {"203.0.113.10:51820", "gw.example.net:1", "[2001:db8::1]:51820", "host_1.lan:65535"})
    EXPECT_TRUE(valid_endpoint(ok)) << ok;
  for (const char* bad : {"", ":51820", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:051820", "a b:1",
                          "a..b:1", "[2001:db8::1:51820", "[zz]:1", "1.2.3.4:51820 ", "host:1\n", "2001:db8::1:51820x"})
    EXPECT_FALSE(valid_endpoint(bad)) << bad;
}

TEST(AccessWire, TheAgentsGrantParsesAndRendersAConfig) {
  std::string why;
  auto g = parse_grant(grant_json("", ""), &why);
  ASSERT_TRUE(g) << why;
  EXPECT_EQ(g->id, "00aa11bb22cc33dd");
  EXPECT_EQ(g->address, "10.77.7.2/32");
  EXPECT_EQ(g->endpoint, "203.0.113.10:51820");
  EXPECT_EQ(g->allowed_ips, (std::vector<std::string>{"10.210.0.0/16"}));
  EXPECT_EQ(g->expires_ms, 1'700'000'000'000u);
  ClientConfig c{"", g->address, g->server_key, g->endpoint, g->allowed_ips, g->label, g->expires_ms};
  auto conf = render_wg_quick(c);
  EXPECT_NE(conf.find("Endpoint = 203.0.113.10:51820\n"), std::string::npos);
}

TEST(AccessWire, AGrantThatCouldAddALineToTheConfigIsRefused) {
  std::vector<std::pair<std::string, std::string>> bad = {
      {"endpoint", R"("203.0.113.10:51820\nPostUp = touch /tmp/owned")"},
      {"address", R"("10.77.7.2/32\nPostUp = x")"},
      {"address", R"("10.77.7.0/24")"},
      {"server_key", R"("abc")"},
      {"label", R"("a\nb")"},
      {"id", R"("../x")"},
      {"allowed_ips", R"(["10.210.0.0/16\nPostUp = x"])"},
      {"allowed_ips", R"(["10.210.0.5/16"])"},
      {"allowed_ips", R"("10.210.0.0/16")"},
      {"expires_ms", R"(-1)"},
      {"expires_ms", R"("soon")"},
  };
  for (const auto& [field, value] : bad) {
    std::string body = grant_json(field, value), why;
    EXPECT_FALSE(parse_grant(body, &why)) << body;
    EXPECT_FALSE(why.empty()) << body;
  }
  std::string why;
  EXPECT_FALSE(parse_grant("{}", &why));
  EXPECT_EQ(why, "the agent's answer has no string id");
  EXPECT_FALSE(parse_grant("nope", &why));
}
