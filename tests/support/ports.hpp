// Free loopback ports for tests that start real processes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>

namespace weft::test {

// A port free for both UDP and TCP on 127.0.0.1 right now, below the ephemeral range
// (32768-60999) so an agent's outgoing TCP connection cannot take it before the agent binds it.
// Never the same port twice in one test process: a port handed out but not yet bound (or bound
// on another address, such as ::1) still looks free here.
inline uint16_t free_port() {
  static std::mt19937 rng(std::random_device{}());
  static std::set<uint16_t> handed_out;
  for (int attempt = 0; attempt < 200; ++attempt) {
    uint16_t port = static_cast<uint16_t>(20000 + rng() % 12000);
    if (handed_out.count(port)) continue;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    bool ok = bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
              bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(u);
    close(t);
    if (ok) {
      handed_out.insert(port);
      return port;
    }
  }
  throw std::runtime_error("no free port");
}

}  // namespace weft::test
