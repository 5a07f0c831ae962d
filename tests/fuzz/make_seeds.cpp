// Writes a seed corpus for record_codec_fuzz: one valid input per decoder, so the fuzzer
// starts from well-formed Cap'n Proto messages instead of discovering the framing itself.
#include <filesystem>
#include <fstream>

#include "crdt/codec.hpp"
#include "crdt/signing.hpp"
#include "crdt/values.hpp"
#include "crdt/anti_entropy.hpp"
#include "gossip/codec.hpp"
#include "gossip/seal.hpp"
#include "dns/wire.hpp"
#include "wg/genl_message.hpp"
#include "stun/message.hpp"
#include "paths/relay.hpp"

#include <netlink/genl/genl.h>
#include <netlink/msg.h>

using namespace weft;
using namespace weft::crdt;

static void write(const std::filesystem::path& dir, int n, uint8_t selector, const std::string& body) {
  std::ofstream f(dir / ("seed-" + std::to_string(n)), std::ios::binary);
  f.put(static_cast<char>(selector));
  f << body;
}

static void gossip_seeds(const std::filesystem::path& dir, const SigningKey& key, const Record& r) {
  using namespace weft::gossip;
  std::vector<Body> bodies{std::monostate{}, Ping{1, key.public_key(), false}, Ack{1, false}, Ping{1, key.public_key(), true}, Ack{1, true}, PingReq{2, key.public_key(), "127.0.0.1:9"},
                           Nack{2}};
  Replica replica(key);
  replica.receive(std::vector{r}, 1'700'000'000'000);
  PushPull pp;
  pp.members = {MemberUpdate{key.public_key(), 1, MemberState::alive, "m", "127.0.0.1:1", key.public_key()}};
  pp.offer = make_offer(replica, 1'700'000'000'000);
  bodies.push_back(pp);
  bodies.push_back(weft::gossip::SyncFinish{weft::crdt::SyncFinish{{r}}});
  bodies.push_back(SyncCheck{3, 42, 7, 99, true});
  FrameSealer sealer(Keyring(ClusterKey{}), SigningKey::from_seed(SigningSeed{9}).public_key(), 5);
  int n = 0;
  for (const auto& body : bodies) {
    Message m;
    m.from = SigningKey::from_seed(SigningSeed{9}).public_key();
    m.body = body;
    m.records = {r};
    auto bytes = encode_message(m);
    write(dir, 100 + n, 1, bytes);
    write(dir, 200 + n, 0, sealer.seal(bytes, 1'700'000'000'000 + n));
    ++n;
  }
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  std::filesystem::path dir = argv[2];
  std::filesystem::create_directories(dir);
  std::string target = argv[1];
  auto key = SigningKey::from_seed(SigningSeed{1});
  Record r;
  r.key = RecordKey{key.public_key(), Kind::service_instance, "api"};
  r.hlc = Hlc::make(1'700'000'000'000, 1);
  r.value = encode_value(ServiceInstanceValue{"api", "10.210.1.2", 80, "tcp", "http", true});
  key.sign(r);
  Record t = r;
  t.tombstone = true;
  t.value.clear();
  key.sign(t);
  if (target == "dns_query_fuzz") {
    using namespace weft::dns;
    int n = 0;
    for (const char* name : {"api.internal", "nearest.api.internal", "_http._tcp.api.internal", "node1.m.internal",
                             "10-210-1-5.ip.internal", "5.1.210.10.in-addr.arpa", "internal", "nope.internal",
                             "example.com", "API.Internal"})
      for (uint16_t t : {type::A, type::SRV, type::AAAA, type::PTR, type::SOA, type::ANY, type::AXFR}) {
        auto q = encode_query(static_cast<uint16_t>(n), *Name::parse_text(name), t, true, n % 2 == 0, 4096);
        std::ofstream f(dir / ("seed-" + std::to_string(n++)), std::ios::binary);
        f.write(reinterpret_cast<const char*>(q.data()), static_cast<std::streamsize>(q.size()));
      }
    return 0;
  }
  if (target == "uapi_reply_fuzz") {
    // The recorded wireguard-go reply (tests/unit/data), and short ones around it.
    std::ifstream in(std::string(WEFT_TEST_DATA) + "/wireguard_go_get_reply.txt", std::ios::binary);
    std::string recorded((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int n = 0;
    for (const std::string& s : {recorded, std::string("errno=0\n\n"), std::string("errno=-22\n\n"),
                                 std::string("listen_port=51820\nfwmark=1\nerrno=0\n\n")}) {
      std::ofstream f(dir / ("seed-" + std::to_string(n++)), std::ios::binary);
      f << s;
    }
    return 0;
  }
  if (target == "stun_message_fuzz") {
    using namespace weft::stun;
    using namespace weft::paths;
    int n = 0;
    auto save = [&](const std::vector<uint8_t>& b) {
      std::ofstream f(dir / ("seed-" + std::to_string(n++)), std::ios::binary);
      f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    };
    Message req;
    req.transaction = {0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    save(encode(req));
    req.fingerprint = true;
    req.software = "seed";
    save(encode(req));
    req.change_request = 0;
    req.transaction[0] = 0x99;  // an RFC 3489 client
    save(encode(req));
    Message resp = req;
    resp.cls = Class::success;
    resp.transaction[0] = 0x21;
    resp.change_request.reset();
    Address a;
    a.ip = {192, 0, 2, 1};
    a.port = 32853;
    resp.xor_mapped = a;
    resp.mapped = a;
    save(encode(resp));
    Message err = resp;
    err.cls = Class::error;
    err.xor_mapped.reset();
    err.error = 420;
    err.reason = "Unknown Attribute";
    err.unknown_attributes = {0x0024, 0x0003};
    save(encode(err));
    return 0;
  }
  if (target == "relay_frame_fuzz") {
    // Data frames (a WireGuard transport header behind the relay header), and op runs: two
    // members bind each other, then frames go both ways, then expiry.
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<uint8_t> frame(weft::paths::kRelayHeader + 32, 0);
    weft::paths::encode_relay_header(frame.data(), 0x0123456789abcdefULL);
    frame[weft::paths::kRelayHeader] = 4;
    seeds.push_back(frame);
    seeds.push_back({0, 1, 2, 10, 0, 2, 1, 10, 1, 1, 3, 5, 1, 2, 3, 5, 2, 0, 0, 200, 1, 1, 3, 5});
    seeds.push_back({0, 1, 2, 10, 1, 1, 3, 5, 1, 4, 3, 254, 0, 3, 3, 1, 3, 1, 1, 1});
    int n = 0;
    for (const auto& b : seeds) {
      std::ofstream f(dir / ("seed-" + std::to_string(n++)), std::ios::binary);
      f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
    return 0;
  }
  if (target == "docker_json_fuzz") {
    // The recorded Engine API replies, and each recorded event line on its own.
    int n = 0;
    auto copy = [&](const std::string& text) {
      std::ofstream f(dir / ("seed-" + std::to_string(n++)), std::ios::binary);
      f << text;
    };
    for (const char* name : {"network.json", "list.json", "inspect.json"}) {
      std::ifstream in(std::string(WEFT_TEST_DATA) + "/docker/" + name, std::ios::binary);
      copy(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
    }
    std::ifstream events(std::string(WEFT_TEST_DATA) + "/docker/events.jsonl");
    for (std::string line; std::getline(events, line) && n < 40;) copy(line);
    return 0;
  }
  if (target == "access_json_fuzz") {
    // A grant request as the CLI sends it and a grant as the agent answers.
    std::ofstream(dir / "seed-0") << R"({"ttl":"2h","label":"laptop","pubkey":"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",)"
                                     R"("to":["api","10.210.3.0/24","10.210.3.5:80"],"endpoint":"203.0.113.10:51820"})";
    std::ofstream(dir / "seed-1") << R"({"id":"00aa11bb22cc33dd","label":"laptop","address":"10.77.7.2/32",)"
                                     R"("server_key":"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=","endpoint":"[2001:db8::1]:51820",)"
                                     R"("allowed_ips":["10.210.0.0/16","10.77.7.1/32"],"expires_ms":1700000000000})";
    return 0;
  }
  if (target == "join_token_fuzz") {
    // Selector 1: token bodies (the harness adds the checksum); 2: addresses and prefixes; 0: a
    // whole token whose checksum does not match.
    const std::string key(64, 'a'), id(32, '0');
    write(dir, 0, 1, key + "." + id + ".10.210.0.0/16.203.0.113.10:51821");
    write(dir, 1, 1, key + "." + id + ".10.210.0.0/16.203.0.113.10:51821,[2001:db8::1]:51821,192.0.2.7:9");
    write(dir, 2, 1, key + "." + id + ".10.0.0.0/8.");
    write(dir, 3, 0, "weft1." + key + "." + id + ".10.210.0.0/16.203.0.113.10:51821.0badc0de");
    write(dir, 4, 2, "203.0.113.10:51821");
    write(dir, 5, 2, "[2001:db8::1]:51820");
    write(dir, 6, 2, "10.210.0.0/16");
    return 0;
  }
  if (target == "genl_reply_fuzz") {
    // Set messages carry the same device/peer attribute layout as get replies.
    weft::wg::DeviceUpdate u;
    u.private_key = weft::wg::Key{};
    u.listen_port = 51820;
    for (int i = 0; i < 3; ++i) {
      weft::wg::PeerUpdate p;
      p.public_key.fill(static_cast<uint8_t>(i));
      p.endpoint = i == 2 ? "[fd00::2]:51820" : "198.51.100.1:51820";
      p.keepalive = 25;
      p.allowed_ips = {"10.210." + std::to_string(i) + ".0/24", "fd00::/64"};
      u.peers.push_back(p);
    }
    int n = 0;
    for (auto& m : weft::wg::build_set_messages(1, "weft", u, 512)) {
      auto* g = static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(m.get())));
      std::ofstream f(dir / ("seed-" + std::to_string(n++)), std::ios::binary);
      f.write(reinterpret_cast<const char*>(genlmsg_attrdata(g, 0)), genlmsg_attrlen(g, 0));
    }
    return 0;
  }
  if (target == "gossip_frame_fuzz") {
    gossip_seeds(dir, key, r);
    return 0;
  }
  write(dir, 0, 0, encode_record(r));
  write(dir, 1, 1, encode_batch(std::vector{r, t}));
  write(dir, 2, 2, encode_value(MachineValue{"m", {}, key.public_key(), {"10.0.0.1", 51821}, true, "v"}));
  write(dir, 3, 3, encode_value(SubnetClaimValue{*Ipv4Net::parse("10.210.3.0/24")}));
  write(dir, 4, 4, encode_value(EndpointCandidatesValue{{{"10.0.0.1", 51820}}}));
  write(dir, 5, 5, encode_value(ObservedEndpointValue{key.public_key(), {"10.0.0.2", 4000}}));
  write(dir, 6, 6, encode_value(ContainerLeaseValue{*Ipv4::parse("10.210.3.2"), "id", "name"}));
  write(dir, 7, 7, r.value);
  write(dir, 8, 8, encode_value(AccessSessionValue{"l", "10.77.0.2/32", {}, 5, {"api", "10.210.3.5:80"}, 1}));
  write(dir, 9, 9, encode_value(MachineRemovalValue{SigningKey::from_seed(SigningSeed{2}).public_key(), "gone"}));
  return 0;
}
