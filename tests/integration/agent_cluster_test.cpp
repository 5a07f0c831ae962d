// Real `weft agent` processes on 127.0.0.1 with --wg-backend none: joining through one seed,
// replication of service records, failure detection after kill -9, restart with state, a wrong
// cluster key, bad input on the control port, and the setup errors a user can hit.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <random>

#include "agent/join_token.hpp"
#include "base/hex.hpp"
#include "gossip/codec.hpp"
#include "gossip/seal.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace weft;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kWeft = WEFT_BINARY;

using test::free_port;

class AgentCluster : public ::testing::Test {
 protected:
  struct Agent {
    std::string dir;
    std::string address;
    pid_t pid = -1;
  };

  void TearDown() override {
    for (auto& a : agents_) test::stop(a.pid);
    if (HasFailure())
      for (auto& a : agents_) {
        auto log = test::run({"/bin/cat", a.dir + ".log"});
        std::cerr << "---- " << a.dir << ".log (tail)\n" << log.output.substr(log.output.size() > 3000 ? log.output.size() - 3000 : 0);
      }
  }

  std::string path(const std::string& name) { return (tmp_.path() / name).string(); }

  // Initialises the first machine and returns the join token.
  std::string init_first() {
    Agent a{path("m0"), "127.0.0.1:" + std::to_string(free_port())};
    auto r = test::run({kWeft, "init", "--data-dir", a.dir, "--name", "m0", "--advertise", a.address});
    EXPECT_EQ(r.code, 0) << r.output;
    agents_.push_back(a);
    auto last_newline = r.output.rfind('\n', r.output.size() - 2);
    return r.output.substr(last_newline + 1, r.output.size() - last_newline - 2);
  }

  void start(size_t i, const std::string& token = "") {
    Agent& a = agents_[i];
    std::vector<std::string> args{kWeft, "agent", "--data-dir", a.dir, "--bind", a.address, "--wg-backend", "none",
                                  "--name", "m" + std::to_string(i)};
    if (!token.empty()) {
      args.push_back("--token");
      args.push_back(token);
    }
    a.pid = test::spawn(args, a.dir + ".log");
  }

  size_t add(const std::string& token) {
    agents_.push_back(Agent{path("m" + std::to_string(agents_.size())), "127.0.0.1:" + std::to_string(free_port())});
    start(agents_.size() - 1, token);
    return agents_.size() - 1;
  }

  // name -> state as agent i sees it (empty when its API does not answer).
  std::map<std::string, std::string> members(size_t i) {
    auto r = test::run({kWeft, "members", "--data-dir", agents_[i].dir, "--json"}, 10s);
    std::map<std::string, std::string> out;
    if (r.code != 0) return out;
    auto j = json::parse(r.output, nullptr, false);
    if (!j.is_array()) return out;
    for (const auto& m : j) out[m["name"]] = m["state"];
    return out;
  }

  bool all_see(const std::string& name, const std::string& state, std::optional<size_t> except = {},
               std::optional<size_t> except_too = {}) {
    for (size_t i = 0; i < agents_.size(); ++i) {
      if ((except && *except == i) || (except_too && *except_too == i)) continue;
      auto m = members(i);
      if (!m.count(name) || m[name] != state) return false;
    }
    return true;
  }

  // Every agent lists every agent, all alive.
  bool everyone_alive() {
    for (size_t i = 0; i < agents_.size(); ++i) {
      auto m = members(i);
      if (m.size() != agents_.size()) return false;
      for (const auto& [name, state] : m)
        if (state != "alive") return false;
    }
    return true;
  }

  std::string metric(size_t i, const std::string& name) {
    auto r = test::run({"/usr/bin/curl", "-s", "--unix-socket", agents_[i].dir + "/api.sock", "http://weft/metrics"}, 10s);
    auto pos = r.output.find(name + " ");
    if (pos == std::string::npos) return "";
    auto end = r.output.find('\n', pos);
    return r.output.substr(pos + name.size() + 1, end - pos - name.size() - 1);
  }

  test::TempDir tmp_;
  std::vector<Agent> agents_;
};

TEST_F(AgentCluster, TwelveAgentsJoinReplicateDetectFailureAndRestart) {
  std::string token = init_first();
  start(0);
  for (int i = 1; i < 12; ++i) add(token);
  ASSERT_TRUE(test::wait_until([&] { return everyone_alive(); }, 30s)) << "not all 12 agents see all 12 alive";

  // A service added on one machine is listed by all.
  auto r = test::run({kWeft, "service", "add", "api", "10.210.5.2:8000", "--data-dir", agents_[5].dir});
  ASSERT_EQ(r.code, 0) << r.output;
  ASSERT_TRUE(test::wait_until([&] {
    for (const auto& a : agents_) {
      auto ls = test::run({kWeft, "service", "ls", "--json", "--data-dir", a.dir}, 10s);
      auto j = json::parse(ls.output, nullptr, false);
      if (!j.is_array() || j.size() != 1 || j[0]["address"] != "10.210.5.2" || j[0]["machine"] != "m5") return false;
    }
    return true;
  }, 15s));

  // kill -9 of one is seen as dead by every other.
  test::stop(agents_[5].pid, SIGKILL);
  ASSERT_TRUE(test::wait_until([&] { return all_see("m5", "dead", 5); }, 45s));

  // Restarting it brings it back alive, with its records and a higher incarnation.
  start(5);
  ASSERT_TRUE(test::wait_until([&] { return all_see("m5", "alive"); }, 30s));
  auto ls = test::run({kWeft, "service", "ls", "--json", "--data-dir", agents_[5].dir}, 10s);
  EXPECT_NE(ls.output.find("10.210.5.2"), std::string::npos) << ls.output;
  auto list = json::parse(test::run({kWeft, "members", "--json", "--data-dir", agents_[0].dir}).output);
  for (const auto& m : list) {
    if (m["name"] != "m5") continue;
    EXPECT_GE(m["incarnation"].get<int>(), 1);
  }

  // Every machine got a distinct /24 once synced.
  ASSERT_TRUE(test::wait_until([&] {
    auto j = json::parse(test::run({kWeft, "members", "--json", "--data-dir", agents_[0].dir}).output, nullptr, false);
    std::set<std::string> subnets;
    for (const auto& m : j)
      if (!m["subnet"].is_null()) subnets.insert(m["subnet"].get<std::string>());
    return subnets.size() == 12;
  }, 20s));

  // machine rm: refused for a live machine without --force; a dead one is forgotten everywhere.
  r = test::run({kWeft, "machine", "rm", "m1", "--data-dir", agents_[0].dir});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  test::stop(agents_[7].pid, SIGKILL);
  ASSERT_TRUE(test::wait_until([&] { return all_see("m7", "dead", 7); }, 45s));
  r = test::run({kWeft, "machine", "rm", "m7", "--data-dir", agents_[0].dir});
  ASSERT_EQ(r.code, 0) << r.output;
  ASSERT_TRUE(test::wait_until([&] {
    for (size_t i = 0; i < agents_.size(); ++i) {
      if (i == 7) continue;
      auto m = members(i);
      if (m.size() != 11 || m.count("m7")) return false;
    }
    return true;
  }, 20s));

  // Graceful leave is seen as left, not dead.
  r = test::run({kWeft, "leave", "--data-dir", agents_[3].dir});
  ASSERT_EQ(r.code, 0) << r.output;
  ASSERT_TRUE(test::wait_until([&] { return all_see("m3", "left", 3, 7); }, 10s)) << [&] {
    std::string views;
    for (size_t i = 0; i < agents_.size(); ++i) {
      auto r = test::run({kWeft, "members", "--data-dir", agents_[i].dir}, 10s);
      views += "m" + std::to_string(i) + ": exit " + std::to_string(r.code) + "\n" + r.output;
    }
    return views;
  }();
}

TEST_F(AgentCluster, WrongClusterKeyCannotJoin) {
  std::string token = init_first();
  start(0);
  // A token of another cluster pointing at this cluster's seed.
  auto other = test::run({kWeft, "init", "--data-dir", path("other"), "--advertise", agents_[0].address});
  ASSERT_EQ(other.code, 0);
  auto nl = other.output.rfind('\n', other.output.size() - 2);
  std::string wrong = other.output.substr(nl + 1, other.output.size() - nl - 2);
  auto r = test::run({kWeft, "agent", "--data-dir", path("intruder"), "--bind", "127.0.0.1:" + std::to_string(free_port()),
                      "--token", wrong, "--join-timeout-ms", "3000"}, 30s);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("cluster key"), std::string::npos) << r.output;
  EXPECT_EQ(members(0).size(), 1u);
  EXPECT_NE(metric(0, "weft_frames_dropped_total{reason=\"unknown_key\"}"), "0");
}

TEST_F(AgentCluster, GarbageTruncatedAndReplayedDatagramsOnlyMoveDropCounters) {
  std::string token = init_first();
  start(0);
  add(token);
  ASSERT_TRUE(test::wait_until([&] { return members(0).size() == 2 && all_see("m1", "alive"); }, 20s));
  auto port = static_cast<uint16_t>(std::stoi(agents_[0].address.substr(10)));
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::mt19937 rng(7);
  auto send = [&](const std::string& bytes) {
    sendto(s, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  };
  for (int i = 0; i < 300; ++i) {
    std::string junk(1 + rng() % 1400, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (i % 3 == 0) junk[0] = static_cast<char>(0xC8);  // looks sealed
    send(junk);
  }
  send(std::string(1, static_cast<char>(0xC8)));  // truncated

  // A genuine frame, sealed with the cluster key from the token, sent twice: the first is
  // answered (an ack comes back), the replay is dropped and counted.
  std::string why;
  auto parsed = agent::JoinToken::decode(token, &why);
  ASSERT_TRUE(parsed) << why;
  auto status = json::parse(test::run({kWeft, "status", "--json", "--data-dir", agents_[0].dir}).output);
  auto target = from_hex(status["id"].get<std::string>());
  ASSERT_TRUE(target && target->size() == 32);
  gossip::MemberId fake{};
  fake.fill(0x42);
  gossip::FrameSealer sealer(gossip::Keyring(parsed->key), fake, 99);
  gossip::Message ping;
  ping.from = fake;
  gossip::Ping body;
  body.seq = 4242;
  std::memcpy(body.target.data(), target->data(), 32);
  ping.body = body;
  auto now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch()).count());
  std::string frame = sealer.seal(gossip::encode_message(ping), now_ms);
  // (the socket got its local port from the first sendto above: the ack comes back to it)
  timeval tv{5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  send(frame);
  char reply[2048];
  ssize_t n = recv(s, reply, sizeof reply, 0);
  ASSERT_GT(n, 0) << "no ack for a genuine ping";
  auto opened = sealer.open({reinterpret_cast<const uint8_t*>(reply), static_cast<size_t>(n)});
  ASSERT_TRUE(opened);
  auto ack = gossip::decode_message({reinterpret_cast<const uint8_t*>(opened->payload.data()), opened->payload.size()},
                                    opened->sender);
  ASSERT_TRUE(ack && std::holds_alternative<gossip::Ack>(ack->body));
  EXPECT_EQ(std::get<gossip::Ack>(ack->body).seq, 4242u);
  send(frame);  // the replay
  close(s);
  ASSERT_TRUE(test::wait_until([&] { return metric(0, "weft_frames_dropped_total{reason=\"replayed\"}") == "1"; }, 10s));
  ASSERT_TRUE(test::wait_until([&] {
    auto auth = metric(0, "weft_frames_dropped_total{reason=\"unknown_key\"}");
    auto other = metric(0, "weft_frames_dropped_total{reason=\"not_control\"}");
    auto shortf = metric(0, "weft_frames_dropped_total{reason=\"too_short\"}");
    return !auth.empty() && !other.empty() && std::stoul(auth) > 0 && std::stoul(other) > 0 && std::stoul(shortf) > 0;
  }, 10s));
  // Nothing else changed: both still alive, same membership, agent still answering.
  EXPECT_TRUE(all_see("m1", "alive"));
  EXPECT_TRUE(all_see("m0", "alive"));
  EXPECT_EQ(members(0).size(), 2u);
}

// A holder of the cluster key, speaking as a live member, asks the relay to carry it to 300
// made-up peers (4,100 once filled the relay table): each is refused before the table is
// touched, since a relay binds only pairs of live members.
TEST_F(AgentCluster, RelayBindsForMadeUpPeersAreRefused) {
  std::string token = init_first();
  start(0);
  add(token);
  ASSERT_TRUE(test::wait_until([&] { return members(0).size() == 2 && all_see("m1", "alive"); }, 20s));
  ASSERT_TRUE(test::wait_until([&] {
    auto st = json::parse(test::run({kWeft, "status", "--json", "--data-dir", agents_[0].dir}).output, nullptr, false);
    return st.is_object() && st.value("relay_capable", false);
  }, 30s)) << "m0 never became relay-capable";
  std::string why;
  auto parsed = agent::JoinToken::decode(token, &why);
  ASSERT_TRUE(parsed) << why;
  auto m1 = json::parse(test::run({kWeft, "status", "--json", "--data-dir", agents_[1].dir}).output);
  auto m1_id = from_hex(m1["id"].get<std::string>());
  ASSERT_TRUE(m1_id && m1_id->size() == 32);
  gossip::MemberId as_m1{};
  std::memcpy(as_m1.data(), m1_id->data(), 32);
  gossip::FrameSealer sealer(gossip::Keyring(parsed->key), as_m1, 1234);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(agents_[0].address.substr(10))));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto refused = [&] {
    auto r = metric(0, "weft_relay_bind_refusals_total{reason=\"not_live\"}");
    return r.empty() ? 0ul : std::stoul(r);
  };
  // In batches of 25, each handled before the next is sent: a burst of 300 datagrams can
  // overflow a loopback socket's buffer, and every bind must arrive to be counted.
  for (int i = 0; i < 300; ++i) {
    if (i && i % 25 == 0) {
      ASSERT_TRUE(test::wait_until([&] { return refused() >= static_cast<unsigned long>(i); }, 10s)) << refused();
    }
    gossip::Message m;
    m.from = as_m1;
    gossip::RelayBind bind;
    bind.peer.fill(static_cast<uint8_t>(i));
    bind.peer[31] = 0xEE;
    m.body = bind;
    auto now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch()).count());
    std::string frame = sealer.seal(gossip::encode_message(m), now_ms);
    sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  close(s);
  ASSERT_TRUE(test::wait_until([&] { return refused() == 300; }, 10s)) << refused();
  EXPECT_EQ(metric(0, "weft_relay_pairs"), "0");
  EXPECT_TRUE(all_see("m1", "alive"));
}

TEST_F(AgentCluster, SetupErrorsAreClearAndNonZero) {
  std::string token = init_first();
  start(0);
  ASSERT_TRUE(test::wait_until([&] { return members(0).size() == 1; }, 10s));
  // Bad token.
  auto r = test::run({kWeft, "agent", "--data-dir", path("bad"), "--bind", "127.0.0.1:" + std::to_string(free_port()),
                      "--token", token.substr(0, token.size() - 3) + "xyz"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("bad join token"), std::string::npos) << r.output;
  // Occupied port: the first agent's.
  r = test::run({kWeft, "agent", "--data-dir", path("busy"), "--bind", agents_[0].address, "--token", token});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("cannot bind"), std::string::npos) << r.output;
  // Unreachable seed: a token whose seed has no listener.
  auto lone = test::run({kWeft, "init", "--data-dir", path("lone"), "--advertise", "127.0.0.1:" + std::to_string(free_port())});
  auto nl = lone.output.rfind('\n', lone.output.size() - 2);
  r = test::run({kWeft, "agent", "--data-dir", path("orphan"), "--bind", "127.0.0.1:" + std::to_string(free_port()),
                 "--token", lone.output.substr(nl + 1, lone.output.size() - nl - 2), "--join-timeout-ms", "3000"}, 30s);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("no seed reachable"), std::string::npos) << r.output;
  // A data dir of another cluster.
  r = test::run({kWeft, "agent", "--data-dir", path("lone"), "--bind", "127.0.0.1:" + std::to_string(free_port()),
                 "--token", token});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("belongs to cluster"), std::string::npos) << r.output;
  // The same data dir twice.
  r = test::run({kWeft, "agent", "--data-dir", agents_[0].dir, "--bind", "127.0.0.1:" + std::to_string(free_port())});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("in use"), std::string::npos) << r.output;
  // A wrong flag.
  r = test::run({kWeft, "agent", "--wg-backend", "quantum"});
  EXPECT_NE(r.code, 0);
  // A name that cannot be one DNS label (<name>.m.internal): refused at init and at join.
  r = test::run({kWeft, "init", "--data-dir", path("longname"), "--name", std::string(64, 'n')});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("is not a machine name"), std::string::npos) << r.output;
  r = test::run({kWeft, "agent", "--data-dir", path("dotted"), "--bind", "127.0.0.1:" + std::to_string(free_port()),
                 "--token", token, "--name", "a.b"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("is not a machine name"), std::string::npos) << r.output;
}

namespace {

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// A TCP connection from `from` to the agent's control port that sends only a length prefix.
int prefix_only(const std::string& from, uint16_t port, uint32_t length) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, from.c_str(), &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    close(fd);
    return -1;
  }
  uint8_t p[4] = {static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
                  static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  if (send(fd, p, 4, MSG_NOSIGNAL) != 4) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

// No key needed: 512 connections that each send a 4-byte length prefix (the largest a stranger
// may announce) and then nothing, from 16 loopback sources. Memory follows the bytes that
// arrived, one source holds few slots, the oldest stranger makes room for a newcomer, and a real
// machine still joins through the flooded seed.
TEST_F(AgentCluster, PreAuthenticationConnectionsCannotExhaustTheControlPort) {
  std::string token = init_first();
  start(0);
  ASSERT_TRUE(test::wait_until([&] { return members(0).size() == 1; }, 10s));
  long idle = rss_kib(agents_[0].pid);
  ASSERT_GT(idle, 0);
  uint16_t port = static_cast<uint16_t>(std::stoi(agents_[0].address.substr(agents_[0].address.rfind(':') + 1)));
  std::vector<int> fds;
  for (int i = 0; i < 512; ++i) {
    int fd = prefix_only("127.0.0." + std::to_string(2 + i % 16), port, 4u << 20);
    if (fd >= 0) fds.push_back(fd);
  }
  ASSERT_TRUE(test::wait_until([&] {
    auto accepted = metric(0, "weft_control_streams_total{way=\"accepted\"}");
    auto per_source = metric(0, "weft_control_streams_refused_total{reason=\"per_source\"}");
    return !accepted.empty() && !per_source.empty() && std::stoul(accepted) + std::stoul(per_source) >= 512;
  }, 20s));
  long flooded = rss_kib(agents_[0].pid);
  std::cerr << "agent RSS idle " << idle << " KiB, with 512 pre-auth connections " << flooded << " KiB\n";
  EXPECT_LT(flooded, 2 * idle);
  EXPECT_NE(metric(0, "weft_control_streams_refused_total{reason=\"per_source\"}"), "0");
  EXPECT_EQ(metric(0, "weft_control_streams_unproven_bytes"), "0");
  // A real machine joins while the strangers still hold their sockets.
  add(token);
  ASSERT_TRUE(test::wait_until([&] { return everyone_alive(); }, 30s)) << "a real join failed during the flood";
  for (int fd : fds) close(fd);
}

TEST_F(AgentCluster, SettingsComeFromFlagsThenEnvironmentThenToml) {
  std::string token = init_first();
  std::string cfg = path("weft.toml");
  {
    std::ofstream f(cfg);
    f << "data-dir = \"" << agents_[0].dir << "\"\nbind = \"" << agents_[0].address << "\"\nname = \"from-toml\"\n";
  }
  setenv("WEFT_NAME", "from-env", 1);
  agents_[0].pid = test::spawn({kWeft, "agent", "--config", cfg}, agents_[0].dir + ".log");
  ASSERT_TRUE(test::wait_until([&] { return members(0).count("from-env") == 1; }, 10s)) << "env should beat TOML";
  unsetenv("WEFT_NAME");
  test::stop(agents_[0].pid);
  agents_[0].pid = test::spawn({kWeft, "agent", "--config", cfg, "--name", "from-flag"}, agents_[0].dir + ".log");
  ASSERT_TRUE(test::wait_until([&] { return members(0).count("from-flag") == 1; }, 10s)) << "flag should beat env and TOML";
  test::stop(agents_[0].pid);
  agents_[0].pid = test::spawn({kWeft, "agent", "--config", cfg}, agents_[0].dir + ".log");
  ASSERT_TRUE(test::wait_until([&] { return members(0).count("from-toml") == 1; }, 10s));
  // An unknown key in the file is an error, not silently ignored.
  {
    std::ofstream f(path("bad.toml"));
    f << "data-dir = \"" << agents_[0].dir << "\"\nbindd = \"x\"\n";
  }
  auto r = test::run({kWeft, "agent", "--config", path("bad.toml")});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("unknown setting"), std::string::npos) << r.output;
}

// Bound to the wildcard (the default), no machine needs --advertise: the founder takes the
// address `weft init --advertise` recorded (the one in the token), a joiner the address its
// route to the seed leaves from. A systemd unit then needs no per-machine address.
TEST_F(AgentCluster, WildcardBindAdvertisesInitsAddressOrTheRouteToTheSeed) {
  std::string token = init_first();
  std::string port = agents_[0].address.substr(agents_[0].address.rfind(':') + 1);
  agents_[0].pid = test::spawn({kWeft, "agent", "--data-dir", agents_[0].dir, "--bind", "0.0.0.0:" + port, "--wg-backend",
                                "none"},
                               agents_[0].dir + ".log");
  // A joiner bound to the wildcard advertises the address that reaches its seed (here loopback).
  agents_.push_back(Agent{path("m1"), "127.0.0.1:" + std::to_string(free_port())});
  std::string port1 = agents_[1].address.substr(agents_[1].address.rfind(':') + 1);
  agents_[1].pid = test::spawn({kWeft, "agent", "--data-dir", agents_[1].dir, "--bind", "0.0.0.0:" + port1,
                                "--wg-backend", "none", "--name", "m1", "--token", token},
                               agents_[1].dir + ".log");
  ASSERT_TRUE(test::wait_until([&] { return everyone_alive(); }, 30s));
  for (size_t i : {0, 1}) {
    auto r = test::run({kWeft, "status", "--data-dir", agents_[i].dir, "--json"}, 10s);
    auto j = json::parse(r.output, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.output;
    EXPECT_EQ(j["address"], agents_[i].address);
  }
}

// The example config shipped next to the systemd unit is one the agent takes; --check-config
// shows the layered result and never the token (it carries the cluster key).
TEST_F(AgentCluster, TheShippedConfigIsValidAndCheckConfigHidesTheToken) {
  std::string token = init_first();
  setenv("WEFT_WG_MTU", "1380", 1);
  auto r = test::run({kWeft, "agent", "--config", WEFT_DIST_DIR "/weft.toml", "--check-config", "--token", token});
  unsetenv("WEFT_WG_MTU");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("wg-backend=\"kernel\""), std::string::npos) << r.output;  // from the file
  EXPECT_NE(r.output.find("data-dir=\"/var/lib/weft\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("wg-mtu=1380"), std::string::npos) << r.output;  // the environment beats the file
  EXPECT_NE(r.output.find("token=\"(set, not shown)\""), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(token), std::string::npos) << "the token must not be printed";
}

}  // namespace

namespace {

TEST_F(AgentCluster, ClusterKeyRotatesWithoutAnOutage) {
  std::string token = init_first();
  start(0);
  add(token);
  add(token);
  ASSERT_TRUE(test::wait_until([&] { return everyone_alive(); }, 20s));
  auto gen = test::run({kWeft, "key", "generate"});
  ASSERT_EQ(gen.code, 0);
  std::string key = gen.output.substr(0, 64);
  auto key_op = [&](size_t i, const char* op, const std::string& k) {
    return test::run({kWeft, "key", op, k, "--data-dir", agents_[i].dir});
  };
  auto r = key_op(1, "use", key);
  EXPECT_NE(r.code, 0);  // not installed yet
  EXPECT_NE(r.output.find("install"), std::string::npos) << r.output;
  for (size_t i = 0; i < 3; ++i) ASSERT_EQ(key_op(i, "install", key).code, 0);
  for (size_t i = 0; i < 3; ++i) ASSERT_EQ(key_op(i, "use", key).code, 0);
  // The old key goes; the members keep talking, now only under the new one.
  std::string old_key = token.substr(6, 64);
  for (size_t i = 0; i < 3; ++i) ASSERT_EQ(key_op(i, "remove", old_key).code, 0) << i;
  auto dropped_before = metric(0, "weft_frames_dropped_total{reason=\"unknown_key\"}");
  // A restart keeps the rotated keyring.
  test::stop(agents_[2].pid);
  start(2);
  ASSERT_TRUE(test::wait_until([&] { return everyone_alive(); }, 20s));
  auto ls = json::parse(test::run({kWeft, "key", "ls", "--json", "--data-dir", agents_[2].dir}).output);
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_TRUE(ls[0]["primary"].get<bool>());
  // A machine holding only the old key is no longer heard.
  auto intruder = test::run({kWeft, "agent", "--data-dir", path("old-key"), "--bind", "127.0.0.1:" + std::to_string(free_port()),
                             "--token", token, "--join-timeout-ms", "3000"}, 30s);
  EXPECT_EQ(intruder.code, 2) << intruder.output;
  EXPECT_NE(metric(0, "weft_frames_dropped_total{reason=\"unknown_key\"}"), dropped_before);
}

}  // namespace
