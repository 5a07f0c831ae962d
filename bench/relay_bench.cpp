// Relay throughput: two fake ends of a pair (two UDP sockets on loopback, sealed with the
// cluster key from a join token) bind with a weft relay, then one end sends data frames as fast
// as it can (sendmmsg batches) for N seconds and the other counts what arrives (recvmmsg).
// With --plain the same generator drives a plain UDP forwarder instead (raw payloads to it; it
// forwards them to the receiver): the baseline the relay is measured against in the same run.
//   weft-bench-relay --token T --relay IP:PORT [--seconds 5] [--size 128]
//   weft-bench-relay --plain IP:PORT --receiver-port P [--seconds 5] [--size 128]
// Prints one line: sent=N received=N seconds=S pps=R (received packets per second).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "agent/join_token.hpp"
#include "gossip/codec.hpp"
#include "gossip/seal.hpp"
#include "paths/relay.hpp"

using namespace weft;
using Clock = std::chrono::steady_clock;

namespace {

sockaddr_in parse(const std::string& hp) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  auto colon = hp.rfind(':');
  inet_pton(AF_INET, hp.substr(0, colon).c_str(), &a.sin_addr);
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(hp.substr(colon + 1))));
  return a;
}

int udp_socket(const char* ip, uint16_t port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    perror("bind");
    std::exit(1);
  }
  int big = 8 << 20;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  return s;
}

// Binds end `self` (for `peer`) with the relay until it answers (and says ready, when
// `need_ready`); returns the channel.
uint64_t bind_end(int sock, gossip::FrameSealer& sealer, const gossip::MemberId& self, const gossip::MemberId& peer,
                  const sockaddr_in& relay, bool need_ready) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    gossip::Message m;
    m.from = self;
    m.body = gossip::RelayBind{peer};
    auto frame = sealer.seal(gossip::encode_message(m), 1);
    sendto(sock, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&relay), sizeof relay);
    pollfd p{sock, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    uint8_t buf[2048];
    ssize_t n = recv(sock, buf, sizeof buf, 0);
    if (n <= 0) continue;
    auto opened = sealer.open({buf, static_cast<size_t>(n)});
    if (!opened) continue;
    auto reply = gossip::decode_message({reinterpret_cast<const uint8_t*>(opened->payload.data()), opened->payload.size()},
                                        opened->sender);
    if (!reply) continue;
    if (const auto* b = std::get_if<gossip::RelayBound>(&reply->body); b && (b->ready || !need_ready)) return b->channel;
  }
  std::fprintf(stderr, "the relay never reported the pair ready\n");
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string token, relay, plain;
  int seconds = 5, size = 128, receiver_port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--token") token = v;
    else if (k == "--relay") relay = v;
    else if (k == "--plain") plain = v;
    else if (k == "--seconds") seconds = std::stoi(v);
    else if (k == "--size") size = std::stoi(v);
    else if (k == "--receiver-port") receiver_port = std::stoi(v);
  }
  if (sodium_init() < 0) return 1;
  int tx = udp_socket("127.0.0.2", 0);
  int rx = udp_socket("127.0.0.3", static_cast<uint16_t>(receiver_port));
  sockaddr_in to{};
  std::vector<uint8_t> packet(static_cast<size_t>(size), 0x5a);
  if (!plain.empty()) {
    to = parse(plain);
  } else {
    std::string why;
    auto t = agent::JoinToken::decode(token, &why);
    if (!t) {
      std::fprintf(stderr, "bad token: %s\n", why.c_str());
      return 2;
    }
    to = parse(relay);
    gossip::MemberId x{}, y{};
    randombytes_buf(x.data(), x.size());
    randombytes_buf(y.data(), y.size());
    gossip::FrameSealer sx(gossip::Keyring(t->key), x, 1), sy(gossip::Keyring(t->key), y, 2);
    bind_end(tx, sx, x, y, to, false);
    uint64_t channel = bind_end(rx, sy, y, x, to, true);
    packet.resize(paths::kRelayHeader + static_cast<size_t>(size), 0x5a);
    paths::encode_relay_header(packet.data(), channel);
    packet[paths::kRelayHeader] = 4;  // shaped like a WireGuard transport message
  }

  std::atomic<bool> done{false};
  std::atomic<uint64_t> received{0};
  std::thread receiver([&] {
    constexpr int kBatch = 64;
    static uint8_t bufs[kBatch][2048];
    iovec iov[kBatch];
    mmsghdr msgs[kBatch];
    timeval tv{0, 100'000};
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!done) {
      for (int i = 0; i < kBatch; ++i) {
        iov[i] = {bufs[i], sizeof bufs[i]};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(rx, msgs, kBatch, MSG_WAITFORONE, nullptr);
      if (n > 0) received += static_cast<uint64_t>(n);
    }
  });
  constexpr int kBatch = 32;
  mmsghdr msgs[kBatch];
  iovec iov{packet.data(), packet.size()};
  for (auto& m : msgs) {
    m = {};
    m.msg_hdr.msg_name = &to;
    m.msg_hdr.msg_namelen = sizeof to;
    m.msg_hdr.msg_iov = &iov;
    m.msg_hdr.msg_iovlen = 1;
  }
  uint64_t sent = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(seconds);
  uint64_t at_start = received;
  while (Clock::now() < end) {
    int n = sendmmsg(tx, msgs, kBatch, 0);
    if (n > 0) sent += static_cast<uint64_t>(n);
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t got = received - at_start;
  // Whatever is still in flight arrives within a moment; it was sent in the window.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  got = received - at_start;
  done = true;
  receiver.join();
  std::printf("sent=%llu received=%llu seconds=%.2f pps=%.0f\n", static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(got), elapsed, static_cast<double>(got) / elapsed);
  return 0;
}
