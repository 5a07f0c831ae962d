// STUN conformance with real peers on loopback: the agent's control port answers the `stun`
// client (stun-client, RFC 3489 style) and coturn's turnutils clients (RFC 5389/8489) with the
// right reflexive address; our codec's request gets a correct answer from coturn's turnserver.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <filesystem>
#include <regex>

#include "stun/message.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace weft;
using namespace std::chrono_literals;

namespace {

const std::string kWeft = WEFT_BINARY;

class StunAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = test::free_port();
    dir_ = (tmp_.path() / "d").string();
    auto init = test::run({kWeft, "init", "--data-dir", dir_, "--name", "s0", "--advertise", "127.0.0.1:" + std::to_string(port_)});
    ASSERT_EQ(init.code, 0) << init.output;
    pid_ = test::spawn({kWeft, "agent", "--data-dir", dir_, "--bind", "127.0.0.1:" + std::to_string(port_), "--dns-upstream", "none"},
                       tmp_.path() / "agent.log");
    ASSERT_TRUE(test::wait_until([&] { return test::run({kWeft, "status", "--data-dir", dir_}, 5s).code == 0; }, 10s));
  }
  void TearDown() override { test::stop(pid_); }
  std::string metrics() {
    return test::run({"/usr/bin/curl", "-s", "--unix-socket", dir_ + "/api.sock", "http://weft/metrics"}, 10s).output;
  }
  test::TempDir tmp_;
  uint16_t port_ = 0;
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace

TEST_F(StunAgent, AnswersTheStunClientWithItsOwnAddress) {
  // test 1 of the stun client: one Binding request (RFC 3489: no cookie, CHANGE-REQUEST 0).
  auto r = test::run({"/usr/bin/stun", "127.0.0.1:" + std::to_string(port_), "1", "-v"}, 20s);
  std::smatch opened, mapped;
  ASSERT_TRUE(std::regex_search(r.output, opened, std::regex("Opened port (\\d+)"))) << r.output;
  ASSERT_TRUE(std::regex_search(r.output, mapped, std::regex("MappedAddress = 127\\.0\\.0\\.1:(\\d+)"))) << r.output;
  EXPECT_EQ(opened[1], mapped[1]) << r.output;
  EXPECT_NE(r.output.find("ok=1"), std::string::npos) << r.output;
}

TEST_F(StunAgent, AnswersCoturnsClientsWithTheirReflexiveAddress) {
  auto d = test::run({"/usr/bin/turnutils_natdiscovery", "-m", "-p", std::to_string(port_), "127.0.0.1"}, 20s);
  std::smatch reflexive, local;
  ASSERT_TRUE(std::regex_search(d.output, reflexive, std::regex("UDP reflexive addr: 127\\.0\\.0\\.1:(\\d+)"))) << d.output;
  ASSERT_TRUE(std::regex_search(d.output, local, std::regex("Local addr: : 0\\.0\\.0\\.0:(\\d+)"))) << d.output;
  EXPECT_EQ(reflexive[1], local[1]) << d.output;  // loopback: no NAT, so the same port
  auto c = test::run({"/usr/bin/turnutils_stunclient", "-p", std::to_string(port_), "127.0.0.1"}, 20s);
  EXPECT_TRUE(std::regex_search(c.output, std::regex("UDP reflexive addr: 127\\.0\\.0\\.1:\\d+"))) << c.output;
  auto m = metrics();
  EXPECT_TRUE(std::regex_search(m, std::regex("weft_stun_answered_total [1-9]"))) << m;
  // And the agent still speaks its own protocol on that port.
  EXPECT_EQ(test::run({kWeft, "members", "--data-dir", dir_}, 10s).code, 0);
}

TEST_F(StunAgent, GarbageThatLooksLikeStunIsCountedNotAnswered) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port_);
  uint8_t junk[24] = {0x00, 0x01, 0x00, 0x40};  // length beyond the datagram
  sendto(s, junk, sizeof junk, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(s);
  ASSERT_TRUE(test::wait_until([&] { return metrics().find("weft_frames_dropped_total{reason=\"stun\"} 1") != std::string::npos; }, 10s))
      << metrics();
}

// Anyone may ask, but one source gets its burst of answers and then its rate: 200 requests at
// once get at most the burst (40) back, and the rest are counted, not answered.
TEST_F(StunAgent, OneSourceGetsItsShareOfAnswersNotMore) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port_);
  for (int i = 0; i < 200; ++i) {
    stun::Message m;
    m.transaction = {0x21, 0x12, 0xA4, 0x42, static_cast<uint8_t>(i)};
    auto bytes = stun::encode(m);
    sendto(s, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  timeval tv{1, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int answers = 0;
  uint8_t buf[512];
  while (recv(s, buf, sizeof buf, 0) > 0) ++answers;
  close(s);
  EXPECT_GT(answers, 0);
  EXPECT_LE(answers, 45);  // the burst, and what 20/s refills while they arrive
  ASSERT_TRUE(test::wait_until([&] {
    auto m = metrics();
    auto pos = m.find("weft_stun_rate_limited_total ");
    return pos != std::string::npos && std::stoul(m.substr(pos + 29)) >= 100;
  }, 10s)) << metrics();
}

// Three agents on three loopback addresses ask each other who they are: each learns its own
// control address and, with answers from two distinct addresses, an endpoint-independent
// mapping (there is no NAT on loopback).
TEST(StunReflexive, AgentsLearnTheirAddressAndMappingFromEachOther) {
  test::TempDir tmp;
  std::vector<std::string> dirs, binds;
  std::vector<pid_t> pids;
  std::string token;
  for (int i = 0; i < 3; ++i) {
    dirs.push_back((tmp.path() / ("a" + std::to_string(i))).string());
    binds.push_back("127.0.0." + std::to_string(i + 1) + ":" + std::to_string(test::free_port()));
  }
  auto init = test::run({kWeft, "init", "--data-dir", dirs[0], "--name", "a0", "--advertise", binds[0]});
  ASSERT_EQ(init.code, 0) << init.output;
  token = init.output.substr(init.output.rfind("weft1"));
  token = token.substr(0, token.find_first_of(" \n"));
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> cmd{kWeft, "agent", "--data-dir", dirs[i], "--bind", binds[i], "--dns-upstream", "none"};
    if (i > 0) {
      std::filesystem::create_directories(dirs[i]);
      cmd.insert(cmd.end(), {"--token", token, "--name", "a" + std::to_string(i)});
    }
    pids.push_back(test::spawn(cmd, dirs[i] + ".log"));
  }
  auto learned = [&](int i) {
    auto r = test::run({kWeft, "status", "--json", "--data-dir", dirs[i]}, 5s);
    return r.output.find("\"reflexive_address\": \"" + binds[i] + "\"") != std::string::npos &&
           r.output.find("\"nat_mapping\": \"endpoint-independent\"") != std::string::npos;
  };
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(test::wait_until([&] { return learned(i); }, 30s))
        << test::run({kWeft, "status", "--json", "--data-dir", dirs[i]}, 5s).output;
  for (pid_t p : pids) test::stop(p);
}

TEST(StunCodec, CoturnAnswersOurBindingRequest) {
  test::TempDir tmp;
  uint16_t port = test::free_port();
  pid_t coturn = test::spawn({"/usr/bin/turnserver", "-S", "-L", "127.0.0.1", "-p", std::to_string(port), "-z", "-n", "--no-cli",
                              "--no-tls", "--no-dtls", "--log-file", "stdout"},
                             tmp.path() / "coturn.log");
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  socklen_t len = sizeof local;
  getsockname(s, reinterpret_cast<sockaddr*>(&local), &len);
  timeval tv{0, 300'000};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons(port);
  stun::Message req;
  req.transaction = {0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  req.fingerprint = true;
  auto bytes = stun::encode(req);
  std::optional<stun::Message> answer;
  // coturn needs a moment to bind: resend until it answers (the RFC's client retransmits too).
  ASSERT_TRUE(test::wait_until([&] {
    sendto(s, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&server), sizeof server);
    std::vector<uint8_t> buf(1500);
    ssize_t n = recv(s, buf.data(), buf.size(), 0);
    if (n <= 0) return false;
    buf.resize(static_cast<size_t>(n));
    std::string why;
    answer = stun::parse(buf, &why);
    EXPECT_TRUE(answer) << why;
    return true;
  }, 10s)) << test::run({"/bin/cat", (tmp.path() / "coturn.log").string()}).output;
  close(s);
  test::stop(coturn);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->cls, stun::Class::success);
  EXPECT_EQ(answer->transaction, req.transaction);
  ASSERT_TRUE(answer->xor_mapped);
  EXPECT_EQ(answer->xor_mapped->to_string(), "127.0.0.1:" + std::to_string(ntohs(local.sin_port)));
  EXPECT_TRUE(answer->fingerprint);  // present and verified by our parser
  EXPECT_NE(answer->software.find("Coturn"), std::string::npos) << answer->software;
}

// The agent's own STUN client against a real server: two coturn instances on two loopback
// addresses, configured with --stun-server; the lone agent learns its address from them and, as
// they agree, an endpoint-independent mapping.
TEST(StunReflexive, AgentLearnsItsAddressFromConfiguredCoturnServers) {
  test::TempDir tmp;
  std::vector<pid_t> coturns;
  std::vector<std::string> servers;
  for (const char* ip : {"127.0.0.2", "127.0.0.3"}) {
    uint16_t port = test::free_port();
    coturns.push_back(test::spawn({"/usr/bin/turnserver", "-S", "-L", ip, "-p", std::to_string(port), "-z", "-n", "--no-cli",
                                   "--no-tls", "--no-dtls", "--log-file", "stdout"},
                                  tmp.path() / (std::string("coturn-") + ip + ".log")));
    servers.push_back(std::string(ip) + ":" + std::to_string(port));
  }
  std::string dir = (tmp.path() / "a").string();
  std::string bind = "127.0.0.4:" + std::to_string(test::free_port());
  ASSERT_EQ(test::run({kWeft, "init", "--data-dir", dir, "--name", "a", "--advertise", bind}).code, 0);
  pid_t agent = test::spawn({kWeft, "agent", "--data-dir", dir, "--bind", bind, "--dns-upstream", "none", "--stun-server",
                             servers[0] + "," + servers[1]},
                            dir + ".log");
  auto learned = [&] {
    auto r = test::run({kWeft, "status", "--json", "--data-dir", dir}, 5s);
    return r.output.find("\"reflexive_address\": \"" + bind + "\"") != std::string::npos &&
           r.output.find("\"nat_mapping\": \"endpoint-independent\"") != std::string::npos;
  };
  EXPECT_TRUE(test::wait_until(learned, 30s)) << test::run({kWeft, "status", "--json", "--data-dir", dir}, 5s).output;
  std::string other = (tmp.path() / "b").string();
  ASSERT_EQ(test::run({kWeft, "init", "--data-dir", other, "--name", "b"}).code, 0);
  auto bad = test::run({kWeft, "agent", "--data-dir", other, "--bind", "127.0.0.5:1", "--stun-server", "nonsense"}, 10s);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find("--stun-server nonsense is not IP:PORT"), std::string::npos) << bad.output;
  test::stop(agent);
  for (pid_t p : coturns) test::stop(p);
}
