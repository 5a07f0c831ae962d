// The DNS server shell: UDP and TCP listeners (RFC 7766: length-prefixed messages, several
// queries per connection, an idle timeout, a bound on open connections) handing every query
// to a handler that answers through a callback (at once, or later for forwarded queries). Everything DNS-shaped
// lives in src/dns; this file only moves bytes.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace weft::agent {

struct DnsCounters {
  uint64_t udp_queries = 0, udp_oversized = 0, tcp_queries = 0, tcp_connections = 0, tcp_refused = 0, tcp_idle_closed = 0;
};

class DnsServer {
 public:
  // Called with (query bytes, over TCP, reply); reply(response bytes) answers, now or later
  // (forwarded queries); an empty response means stay silent.
  using Reply = std::function<void(std::vector<uint8_t>)>;
  // (query, over TCP, the client's address, reply)
  using Handler = std::function<void(std::span<const uint8_t>, bool, const boost::asio::ip::address&, Reply)>;
  static constexpr size_t kMaxTcpConnections = 128;
  static constexpr std::chrono::seconds kTcpIdle{10};

  DnsServer(boost::asio::io_context& io, Handler handler);
  ~DnsServer();
  // Binds UDP and TCP on IP:PORT; throws std::runtime_error with the reason.
  void listen(const std::string& host_port);
  const DnsCounters& counters() const { return counters_; }

 private:
  struct Udp;
  struct Session;
  void receive(Udp& u);
  bool drain(Udp& u);
  void keep_draining(Udp& u);
  void accept(boost::asio::ip::tcp::acceptor& a);
  void read(std::shared_ptr<Session> s);

  boost::asio::io_context& io_;
  Handler handler_;
  std::vector<std::unique_ptr<Udp>> udp_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> tcp_;
  size_t open_sessions_ = 0;
  DnsCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // sessions outliving us check it
};

}  // namespace weft::agent
