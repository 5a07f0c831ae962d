// Forwards queries for names outside the mesh's zones to the host's upstream resolvers: over
// UDP with a fresh random query id per attempt, retried over TCP when the upstream truncates
// and the client asked over TCP, one upstream after another on timeout, with a bound on
// queries in flight. SERVFAIL when every upstream fails. Never forwards to itself.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/ipv4.hpp"

namespace weft::agent {

struct ForwarderCounters {
  uint64_t forwarded = 0, answered = 0, tcp_retries = 0, timeouts = 0, servfail = 0, over_limit = 0, stray = 0;
};

class DnsForwarder {
 public:
  using Reply = std::function<void(std::vector<uint8_t>)>;
  static constexpr size_t kMaxInFlight = 256;
  static constexpr std::chrono::milliseconds kAttemptTimeout{1500};

  DnsForwarder(boost::asio::io_context& io, std::vector<boost::asio::ip::udp::endpoint> upstreams);
  ~DnsForwarder();
  bool empty() const { return upstreams_.empty(); }
  const std::vector<boost::asio::ip::udp::endpoint>& upstreams() const { return upstreams_; }
  // Forwards one query (its bytes as the client sent them); `reply` gets the upstream's
  // answer with the client's id, or a SERVFAIL. `client_tcp`: the client can take a large
  // answer, so a truncated upstream answer is retried over TCP.
  void forward(std::span<const uint8_t> query, bool client_tcp, Reply reply);
  const ForwarderCounters& counters() const { return counters_; }

  // Whether a client may have outside names resolved: loopback and mesh addresses only, so
  // the agent is never an open resolver whatever address it listens on.
  static bool may_serve(const boost::asio::ip::address& client, const Ipv4Net& network);

  // Upstreams from resolv.conf text: every "nameserver" line (IPv4 or IPv6, with a scope for
  // link-local), minus addresses in `exclude`
  // (our own DNS listen addresses: forwarding to ourselves would loop).
  static std::vector<boost::asio::ip::udp::endpoint> from_resolv_conf(
      const std::string& text, const std::vector<boost::asio::ip::udp::endpoint>& exclude);

 private:
  struct Pending;
  void attempt(std::shared_ptr<Pending> p);
  void attempt_tcp(std::shared_ptr<Pending> p);
  void finish(std::shared_ptr<Pending> p, std::vector<uint8_t> answer);
  struct Socket {
    explicit Socket(boost::asio::io_context& io) : socket(io) {}
    boost::asio::ip::udp::socket socket;
    std::array<uint8_t, 65535> buffer;  // not zeroed: untouched pages cost no RSS
    boost::asio::ip::udp::endpoint from;
  };
  void receive(Socket& s);
  Socket& socket_for(const boost::asio::ip::udp::endpoint& upstream) { return upstream.address().is_v6() ? v6_ : v4_; }

  boost::asio::io_context& io_;
  std::vector<boost::asio::ip::udp::endpoint> upstreams_;
  Socket v4_, v6_;  // one socket per address family for every UDP attempt, opened when needed
  std::map<uint16_t, std::shared_ptr<Pending>> by_id_;  // upstream query id -> pending
  ForwarderCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace weft::agent
