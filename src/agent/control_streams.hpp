// The control port's stream transport (TCP): length-prefixed sealed frames (push-pull syncs and
// their answers). A connection stays open for a while after use and carries frames both ways,
// keyed by the member authenticated on it: the answer to a sync a machine behind NAT started
// goes back over the connection it started, since nothing can connect to it from outside.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>

#include "crdt/record.hpp"

namespace weft::agent {

struct StreamCounters {
  uint64_t oversized = 0;        // length prefix out of bounds: connection closed
  uint64_t connect_failures = 0;
  uint64_t reused = 0;           // frames sent on an open connection
  uint64_t opened = 0, accepted = 0, idle_closed = 0;
  uint64_t refused = 0;          // inbound connections over the limit: closed at once
};

class ControlStreams {
 public:
  // A frame arrived. The receiver calls `authenticated` with the sender as soon as the frame has
  // opened, before acting on it, so that its answers already go back on this connection.
  using Authenticated = std::function<void(const crdt::OwnerId&)>;
  using OnFrame = std::function<void(std::span<const uint8_t>, const std::string& from, const Authenticated& authenticated)>;
  // A connection attempt to `address` failed.
  using OnConnectFailure = std::function<void(const std::string& address)>;

  // At most `max_links` connections at a time (unauthenticated peers cannot hold more).
  ControlStreams(boost::asio::io_context& io, uint32_t min_frame, uint32_t max_frame, OnFrame on_frame,
                 OnConnectFailure on_failure, size_t max_links = 512);
  ~ControlStreams();
  // Binds and listens; throws std::runtime_error with the reason.
  void listen(const boost::asio::ip::tcp::endpoint& at);
  // On the open connection with `member` when there is one, else on a new one to `address`.
  void send(const std::optional<crdt::OwnerId>& member, const std::string& address, std::shared_ptr<std::string> frame);
  // Closes connections idle for longer than idle_ms.
  void sweep(uint64_t idle_ms);
  void close_all();
  size_t open() const { return links_.size(); }
  const StreamCounters& counters() const { return counters_; }

 private:
  struct Link {
    boost::asio::ip::tcp::socket socket;
    std::string peer;  // address text, for logs and the core
    std::optional<crdt::OwnerId> member;
    std::deque<std::shared_ptr<std::string>> queue;
    bool connected = false, writing = false, closed = false;
    std::chrono::steady_clock::time_point used;
    explicit Link(boost::asio::io_context& io) : socket(io) {}
  };
  void accept();
  void read(std::shared_ptr<Link> link);
  void write(std::shared_ptr<Link> link);
  void bind(const std::shared_ptr<Link>& link, const crdt::OwnerId& member);
  void close(const std::shared_ptr<Link>& link);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint32_t min_frame_, max_frame_;
  size_t max_links_;
  OnFrame on_frame_;
  OnConnectFailure on_failure_;
  std::set<std::shared_ptr<Link>> links_;
  std::map<crdt::OwnerId, std::weak_ptr<Link>> by_member_;
  StreamCounters counters_;
};

}  // namespace weft::agent
