// The agent's DNS server, queried with the real dig and kdig over loopback: two real `weft
// agent` processes, each serving .internal on its own --dns-listen port.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "agent/dns_forwarder.hpp"
#include "dns/wire.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace weft;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kWeft = WEFT_BINARY;

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.insert(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// A UDP socket with a 2 s receive timeout, and 127.0.0.1:port to send to.
int loopback_udp(uint16_t port, sockaddr_in& to) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{2, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  to = sockaddr_in{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  return s;
}

// Sends raw bytes over UDP and returns the reply (empty on timeout).
std::vector<uint8_t> udp_exchange(uint16_t port, const std::vector<uint8_t>& query) {
  sockaddr_in a;
  int s = loopback_udp(port, a);
  sendto(s, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  std::vector<uint8_t> reply(65535);
  ssize_t n = recv(s, reply.data(), reply.size(), 0);
  close(s);
  reply.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return reply;
}

class DnsAgent : public ::testing::Test {
 protected:
  struct Machine {
    std::string dir, address;
    uint16_t dns_port = 0;
    pid_t pid = -1;
  };

  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      machines_.push_back(Machine{(tmp_.path() / ("m" + std::to_string(i))).string(),
                                  "127.0.0.1:" + std::to_string(test::free_port()), test::free_port()});
    }
    auto init = test::run({kWeft, "init", "--data-dir", machines_[0].dir, "--name", "m0", "--advertise", machines_[0].address});
    ASSERT_EQ(init.code, 0) << init.output;
    auto last = init.output.rfind('\n', init.output.size() - 2);
    token_ = init.output.substr(last + 1, init.output.size() - last - 2);
    start(0);
    start(1, token_);
    // Both joined, both hold a /24 (a machine name answers with its .1).
    ASSERT_TRUE(test::wait_until([&] { return subnet(0) && subnet(1); }, 30s));
  }

  void TearDown() override {
    for (auto& m : machines_) test::stop(m.pid);
    if (HasFailure())
      for (auto& m : machines_) std::cerr << "---- " << m.dir << ".log\n" << test::run({"/bin/cat", m.dir + ".log"}).output;
  }

  void start(size_t i, const std::string& token = "") {
    Machine& m = machines_[i];
    // Never the host's resolvers: a test sends traffic only to loopback (upstream_: a local
    // dnsmasq the test started, or none).
    std::vector<std::string> args{kWeft, "agent", "--data-dir", m.dir, "--bind", m.address, "--wg-backend", "none",
                                  "--name", "m" + std::to_string(i), "--dns-listen", "127.0.0.1:" + std::to_string(m.dns_port),
                                  "--dns-upstream", upstream_};
    if (!token.empty()) args.insert(args.end(), {"--token", token});
    m.pid = test::spawn(args, m.dir + ".log");
  }

  std::optional<std::string> subnet(size_t i) {
    auto r = test::run({kWeft, "status", "--json", "--data-dir", machines_[i].dir}, 10s);
    if (r.code != 0) return std::nullopt;
    auto j = json::parse(r.output, nullptr, false);
    if (!j.is_object() || !j["subnet"].is_string()) return std::nullopt;
    return j["subnet"].get<std::string>();
  }
  std::string dot_one(size_t i) {
    auto s = *subnet(i);
    return s.substr(0, s.rfind('.')) + ".1";
  }

  test::RunResult dig(size_t i, std::vector<std::string> args) {
    std::vector<std::string> cmd{"/usr/bin/dig", "@127.0.0.1", "-p", std::to_string(machines_[i].dns_port), "+time=2", "+tries=1"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    return test::run(cmd, 20s);
  }
  std::set<std::string> dig_short(size_t i, std::vector<std::string> args) {
    args.push_back("+short");
    auto r = dig(i, args);
    return r.code == 0 ? lines(r.output) : std::set<std::string>{"dig failed: " + r.output};
  }
  void service(size_t i, std::vector<std::string> args) {
    std::vector<std::string> cmd{kWeft, "service"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    cmd.insert(cmd.end(), {"--data-dir", machines_[i].dir});
    auto r = test::run(cmd, 10s);
    ASSERT_EQ(r.code, 0) << r.output;
  }

  test::TempDir tmp_;
  std::vector<Machine> machines_;
  std::string token_;
  std::string upstream_ = "none";
};

// The same cluster with a real dnsmasq on loopback as the upstream resolver.
class DnsForwarding : public DnsAgent {
 protected:
  virtual std::string upstream_ip() const { return "127.0.0.1"; }
  void SetUp() override {
    const std::string ip = upstream_ip();
    const bool v6 = ip.find(':') != std::string::npos;
    dnsmasq_port_ = test::free_port();
    std::string big;
    for (int i = 0; i < 12; ++i) big += ",\"" + std::string(60, static_cast<char>('a' + i)) + "\"";
    dnsmasq_ = test::spawn({"/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                            "--pid-file=", "--bind-interfaces", "--listen-address=" + ip,
                            "--port=" + std::to_string(dnsmasq_port_), "--address=/example.test/192.0.2.7",
                            "--txt-record=big.example.test" + big, "--log-facility=-"},
                           (tmp_.path() / "dnsmasq.log").string());
    auto ready = [&] {
      auto r = test::run({"/usr/bin/dig", "@" + ip, "-p", std::to_string(dnsmasq_port_), "+time=1", "+tries=1", "+short",
                          "example.test"}, 5s);
      return lines(r.output) == std::set<std::string>{"192.0.2.7"};
    };
    ASSERT_TRUE(test::wait_until(ready, 10s)) << test::run({"/bin/cat", (tmp_.path() / "dnsmasq.log").string()}).output;
    upstream_ = (v6 ? "[" + ip + "]:" : ip + ":") + std::to_string(dnsmasq_port_);
    DnsAgent::SetUp();
  }
  void TearDown() override {
    DnsAgent::TearDown();
    test::stop(dnsmasq_);
  }
  uint16_t dnsmasq_port_ = 0;
  pid_t dnsmasq_ = -1;
};

// The same, with the upstream on IPv6 loopback.
class DnsForwardingV6 : public DnsForwarding {
 protected:
  std::string upstream_ip() const override { return "::1"; }
};

}  // namespace

TEST_F(DnsAgent, ServicesMachinesSrvPtrAndTheApexAnswerOverUdpAndTcp) {
  service(0, {"add", "api", "10.210.200.2:8080", "--port-name", "http"});
  service(1, {"add", "api", "10.210.201.2:8080", "--port-name", "http"});
  std::set<std::string> both{"10.210.200.2", "10.210.201.2"};
  // Written on one machine, answered on both as soon as it arrives.
  ASSERT_TRUE(test::wait_until([&] { return dig_short(0, {"api.internal"}) == both; }, 10s));
  ASSERT_TRUE(test::wait_until([&] { return dig_short(1, {"api.internal"}) == both; }, 10s));
  EXPECT_EQ(dig_short(1, {"+tcp", "api.internal"}), both);
  auto k = test::run({"/usr/bin/kdig", "@127.0.0.1", "-p", std::to_string(machines_[1].dns_port), "+tcp", "+short", "api.internal"}, 20s);
  EXPECT_EQ(lines(k.output), both) << k.output;

  // Case-insensitive, echoed as asked.
  auto mixed = dig(0, {"ApI.InTeRnAl", "+noall", "+answer"});
  EXPECT_NE(mixed.output.find("ApI.InTeRnAl."), std::string::npos) << mixed.output;

  EXPECT_EQ(dig_short(0, {"_http._tcp.api.internal", "SRV"}),
            (std::set<std::string>{"0 10 8080 10-210-200-2.ip.internal.", "0 10 8080 10-210-201-2.ip.internal."}));
  EXPECT_EQ(dig_short(0, {"m1.m.internal"}), std::set<std::string>{dot_one(1)});
  EXPECT_EQ(dig_short(1, {"-x", dot_one(0)}), std::set<std::string>{"m0.m.internal."});
  EXPECT_EQ(dig_short(0, {"-x", "10.210.201.2"}), std::set<std::string>{"api.internal."});
  auto soa = dig_short(0, {"internal", "SOA"});
  ASSERT_EQ(soa.size(), 1u);
  EXPECT_EQ(soa.begin()->rfind("m0.m.internal. hostmaster.internal. ", 0), 0u) << *soa.begin();
  EXPECT_EQ(dig_short(1, {"internal", "NS"}), std::set<std::string>{"m1.m.internal."});
}

// No key needed: DNS-over-TCP messages that are responses (QR set) are never answered; each
// closes its connection, so 200 of them (more than the 128 slots) leave TCP queries working.
TEST_F(DnsAgent, TcpMessagesThatAreNotQueriesCloseAndFreeTheirSlot) {
  auto q = dns::encode_query(1, *dns::Name::parse_text("m0.m.internal"), dns::type::A, false, false);
  q[2] |= 0x80;  // QR: a response
  std::vector<uint8_t> framed{static_cast<uint8_t>(q.size() >> 8), static_cast<uint8_t>(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(machines_[0].dns_port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(send(fd, framed.data(), framed.size(), MSG_NOSIGNAL), static_cast<ssize_t>(framed.size()));
    fds.push_back(fd);
  }
  // Each is closed by the server: a read returns end of file (or reset), never an answer.
  size_t closed = 0;
  for (int fd : fds) {
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t buf[2];
    errno = 0;
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) ++closed;
    close(fd);
  }
  EXPECT_EQ(closed, fds.size());
  EXPECT_EQ(dig_short(0, {"+tcp", "m0.m.internal"}), std::set<std::string>{dot_one(0)});
}

TEST_F(DnsAgent, NxdomainNodataRefusedFormerrNotimp) {
  service(0, {"add", "api", "10.210.200.2"});
  ASSERT_TRUE(test::wait_until([&] { return !dig_short(0, {"api.internal"}).empty(); }, 10s));
  auto nx = dig(0, {"nope.internal"});
  EXPECT_NE(nx.output.find("status: NXDOMAIN"), std::string::npos) << nx.output;
  EXPECT_NE(nx.output.find("AUTHORITY: 1"), std::string::npos) << nx.output;
  auto nodata = dig(0, {"api.internal", "AAAA"});
  EXPECT_NE(nodata.output.find("status: NOERROR"), std::string::npos) << nodata.output;
  EXPECT_NE(nodata.output.find("ANSWER: 0, AUTHORITY: 1"), std::string::npos) << nodata.output;
  EXPECT_NE(nodata.output.find("SOA"), std::string::npos) << nodata.output;
  // Outside names: no upstream in this build, so refused, never forwarded or recursed.
  auto outside = dig(0, {"example.com"});
  EXPECT_NE(outside.output.find("status: REFUSED"), std::string::npos) << outside.output;
  auto notify = dig(0, {"+opcode=notify", "internal", "SOA"});
  EXPECT_NE(notify.output.find("status: NOTIMP"), std::string::npos) << notify.output;

  uint16_t port = machines_[0].dns_port;
  auto axfr = udp_exchange(port, dns::encode_query(77, *dns::Name::parse_text("internal"), dns::type::AXFR, false, false));
  ASSERT_TRUE(dns::peek_response(axfr));
  EXPECT_EQ(dns::peek_response(axfr)->rcode, dns::rcode::refused);
  auto query = dns::encode_query(78, *dns::Name::parse_text("api.internal"), dns::type::A, true, false);
  auto cut = query;
  cut.resize(cut.size() - 3);
  auto formerr = udp_exchange(port, cut);
  ASSERT_TRUE(dns::peek_response(formerr));
  EXPECT_EQ(dns::peek_response(formerr)->id, 78);
  EXPECT_EQ(dns::peek_response(formerr)->rcode, dns::rcode::formerr);
  // Garbage and a reflected response get no answer at all, and the server keeps serving.
  EXPECT_TRUE(udp_exchange(port, {1, 2, 3}).empty());
  auto reflected = query;
  reflected[2] |= 0x80;
  EXPECT_TRUE(udp_exchange(port, reflected).empty());
  EXPECT_EQ(dig_short(0, {"api.internal"}), std::set<std::string>{"10.210.200.2"});
}

TEST_F(DnsAgent, BurstsAreAnsweredInFullAndOversizedDatagramsAreDropped) {
  service(0, {"add", "api", "10.210.200.2"});
  ASSERT_TRUE(test::wait_until([&] { return !dig_short(0, {"api.internal"}).empty(); }, 10s));
  uint16_t port = machines_[0].dns_port;
  // 150 queries back to back from one socket (within the default receive buffer): the server reads them in batches and must answer
  // every one (each with its own id).
  sockaddr_in a;
  int s = loopback_udp(port, a);
  int buf = 1 << 20;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  std::set<uint16_t> asked, answered;
  for (uint16_t id = 1; id <= 150; ++id) {
    auto q = dns::encode_query(id, *dns::Name::parse_text(id % 3 ? "api.internal" : "nope.internal"), dns::type::A, true, false);
    ASSERT_EQ(sendto(s, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a), static_cast<ssize_t>(q.size()));
    asked.insert(id);
  }
  std::vector<uint8_t> reply(65535);
  while (answered.size() < asked.size()) {
    ssize_t n = recv(s, reply.data(), reply.size(), 0);
    if (n <= 0) break;  // 2 s without an answer: give up and report below
    auto r = dns::peek_response(std::vector<uint8_t>(reply.begin(), reply.begin() + n));
    ASSERT_TRUE(r);
    answered.insert(r->id);
  }
  close(s);
  EXPECT_EQ(answered.size(), asked.size());
  EXPECT_EQ(answered, asked);
  // A datagram larger than any query: dropped (no answer), and the server keeps serving.
  auto big = dns::encode_query(9, *dns::Name::parse_text("api.internal"), dns::type::A, true, false);
  big.resize(6000, 0);
  EXPECT_TRUE(udp_exchange(port, big).empty());
  EXPECT_EQ(dig_short(0, {"api.internal"}), std::set<std::string>{"10.210.200.2"});
  auto metrics = test::run({"/usr/bin/curl", "-s", "--unix-socket", machines_[0].dir + "/api.sock", "http://weft/metrics"}, 10s).output;
  EXPECT_NE(metrics.find("weft_dns_udp_oversized_total 1"), std::string::npos) << metrics;
}

TEST_F(DnsAgent, LargeAnswersTruncateOverUdpAndCompleteOverTcp) {
  for (int i = 2; i < 62; ++i) service(0, {"add", "big", "10.210.200." + std::to_string(i)});
  ASSERT_TRUE(test::wait_until([&] { return dig_short(0, {"+tcp", "big.internal"}).size() == 60; }, 10s));
  // 60 A records need ~1 kB: over 512 without EDNS, within the 1232-byte EDNS default.
  auto udp512 = dig(0, {"+noedns", "+ignore", "big.internal"});
  EXPECT_NE(udp512.output.find("flags: qr aa tc"), std::string::npos) << udp512.output;
  EXPECT_NE(udp512.output.find("ANSWER: 0"), std::string::npos) << udp512.output;
  EXPECT_EQ(dig_short(0, {"+noedns", "big.internal"}).size(), 60u);  // dig retries over TCP on TC
  auto edns = dig(0, {"+bufsize=1232", "+ignore", "big.internal"});
  EXPECT_EQ(edns.output.find(" tc"), std::string::npos) << edns.output;
  EXPECT_NE(edns.output.find("ANSWER: 60"), std::string::npos) << edns.output;
  EXPECT_NE(edns.output.find("udp: 1232"), std::string::npos) << edns.output;
  auto small = dig(0, {"+bufsize=512", "+ignore", "big.internal"});
  EXPECT_NE(small.output.find("flags: qr aa tc"), std::string::npos) << small.output;
  // Several queries on one TCP connection (RFC 7766 pipelining).
  auto k = test::run({"/usr/bin/kdig", "@127.0.0.1", "-p", std::to_string(machines_[0].dns_port), "+tcp", "+keepopen",
                      "+short", "big.internal", "m0.m.internal"}, 20s);
  EXPECT_EQ(lines(k.output).size(), 61u) << k.output;
}

TEST_F(DnsAgent, InstancesOfADeadMachineAndRemovedServicesDisappear) {
  service(0, {"add", "api", "10.210.200.2"});
  service(1, {"add", "api", "10.210.201.2"});
  ASSERT_TRUE(test::wait_until([&] { return dig_short(0, {"api.internal"}).size() == 2; }, 10s));
  service(0, {"rm", "api", "10.210.200.2"});
  ASSERT_TRUE(test::wait_until([&] { return dig_short(1, {"api.internal"}) == std::set<std::string>{"10.210.201.2"}; }, 10s));
  test::stop(machines_[1].pid, SIGKILL);
  machines_[1].pid = -1;
  // Once SWIM declares m1 dead, its instance and its name leave the answers.
  ASSERT_TRUE(test::wait_until([&] { return dig(0, {"api.internal"}).output.find("status: NXDOMAIN") != std::string::npos; }, 40s));
  EXPECT_NE(dig(0, {"m1.m.internal"}).output.find("status: NXDOMAIN"), std::string::npos);
}

TEST_F(DnsForwarding, OutsideNamesGoToTheUpstreamTruncatedOnesOverTcp) {
  EXPECT_EQ(dig_short(0, {"example.test"}), std::set<std::string>{"192.0.2.7"});
  EXPECT_EQ(dig_short(1, {"+tcp", "Www.Example.Test"}), std::set<std::string>{"192.0.2.7"});
  auto nx = dig(0, {"nothing.invalid"});  // dnsmasq has no upstream: its answer is passed through
  EXPECT_NE(nx.output.find("status: REFUSED"), std::string::npos) << nx.output;
  // 12 x 60 bytes of TXT: truncated over plain UDP, complete when the client retries over TCP
  // (the forwarder then asks dnsmasq over TCP too).
  auto udp = dig(0, {"+noedns", "+ignore", "big.example.test", "TXT"});
  EXPECT_NE(udp.output.find(" tc"), std::string::npos) << udp.output;
  auto full = dig(0, {"+noedns", "big.example.test", "TXT", "+short"});
  EXPECT_EQ(full.output.find("\"llllll"), full.output.rfind("\"llllll")) << full.output;
  EXPECT_NE(full.output.find("\"llllll"), std::string::npos) << full.output;
  // Our own zone is still answered here, not forwarded.
  service(0, {"add", "api", "10.210.200.2"});
  ASSERT_TRUE(test::wait_until([&] { return dig_short(0, {"api.internal"}) == std::set<std::string>{"10.210.200.2"}; }, 10s));
  // The upstream goes away: SERVFAIL after the attempt times out, and the agent serves on.
  test::stop(dnsmasq_);
  dnsmasq_ = -1;
  auto dead = dig(0, {"+time=6", "example.test"});
  EXPECT_NE(dead.output.find("status: SERVFAIL"), std::string::npos) << dead.output;
  EXPECT_EQ(dig_short(0, {"api.internal"}), std::set<std::string>{"10.210.200.2"});
}

TEST_F(DnsForwardingV6, OutsideNamesGoToAnIpv6UpstreamOverUdpAndTcp) {
  EXPECT_EQ(dig_short(0, {"example.test"}), std::set<std::string>{"192.0.2.7"});
  auto full = dig(0, {"+noedns", "big.example.test", "TXT", "+short"});  // TC, then TCP to [::1]
  EXPECT_NE(full.output.find("\"llllll"), std::string::npos) << full.output;
}

TEST(DnsForwarderConfig, UpstreamsFromResolvConfNeverIncludeOurselves) {
  using boost::asio::ip::make_address;
  using boost::asio::ip::udp;
  std::string text =
      "# comment\nsearch example.test\nnameserver 192.0.2.53\nnameserver 127.0.0.53\nnameserver ::1\n"
      "nameserver 192.0.2.53\nnameserver bogus\noptions edns0\n";
  auto ups = agent::DnsForwarder::from_resolv_conf(text, {udp::endpoint(make_address("127.0.0.53"), 53)});
  ASSERT_EQ(ups.size(), 2u);  // ourselves, duplicates and junk dropped; IPv6 kept
  EXPECT_EQ(ups[0], udp::endpoint(make_address("192.0.2.53"), 53));
  EXPECT_EQ(ups[1], udp::endpoint(make_address("::1"), 53));
  auto any = agent::DnsForwarder::from_resolv_conf(text, {udp::endpoint(make_address("0.0.0.0"), 53)});
  ASSERT_EQ(any.size(), 2u);  // listening on every IPv4 address: IPv4 loopback resolvers may be us
  EXPECT_EQ(any[0], udp::endpoint(make_address("192.0.2.53"), 53));
  auto any6 = agent::DnsForwarder::from_resolv_conf(text, {udp::endpoint(make_address("::"), 53)});
  EXPECT_EQ(any6.size(), 2u);  // [::]:53: ::1 may be us
  EXPECT_EQ(any6[1], udp::endpoint(make_address("127.0.0.53"), 53));
}

TEST(DnsForwarderConfig, OnlyLoopbackAndMeshClientsGetOutsideNamesResolved) {
  using boost::asio::ip::make_address;
  auto net = *Ipv4Net::parse("10.210.0.0/16");
  EXPECT_TRUE(agent::DnsForwarder::may_serve(make_address("127.0.0.1"), net));
  EXPECT_TRUE(agent::DnsForwarder::may_serve(make_address("::1"), net));
  EXPECT_TRUE(agent::DnsForwarder::may_serve(make_address("10.210.7.2"), net));
  EXPECT_TRUE(agent::DnsForwarder::may_serve(make_address("::ffff:10.210.7.2"), net));
  EXPECT_FALSE(agent::DnsForwarder::may_serve(make_address("10.211.0.1"), net));
  EXPECT_FALSE(agent::DnsForwarder::may_serve(make_address("192.0.2.1"), net));
  EXPECT_FALSE(agent::DnsForwarder::may_serve(make_address("2001:db8::1"), net));
}
