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
  uint64_t refused_source = 0;   // inbound from a source already holding its share of unproven links
  uint64_t evicted = 0;          // an unproven link closed to make room for a new connection
  uint64_t pre_auth_timeouts = 0;  // no authenticated frame in time
  uint64_t pre_auth_budget = 0;    // unproven links together buffered too much: the growing one closed
};

// What a connection may cost before its sender is proven (a frame of it opened under the
// cluster key). A stranger can only make the agent hold bytes it actually sent, up to these.
struct StreamLimits {
  size_t max_links = 512;                     // connections at a time, all kinds
  size_t max_unproven_per_source = 16;        // inbound links from one IP with no proven sender
  uint32_t max_first_frame = 4u << 20;        // frame size until the sender is proven (a join's push-pull fits)
  size_t unproven_bytes_budget = 32u << 20;   // bytes buffered by all unproven links together
  uint64_t pre_auth_ms = 10'000;              // an inbound link must prove its sender within this
};

class ControlStreams {
 public:
  // A frame arrived. The receiver calls `authenticated` with the sender as soon as the frame has
  // opened, before acting on it, so that its answers already go back on this connection.
  using Authenticated = std::function<void(const crdt::OwnerId&)>;
  using OnFrame = std::function<void(std::span<const uint8_t>, const std::string& from, const Authenticated& authenticated)>;
  // A connection attempt to `address` failed.
  using OnConnectFailure = std::function<void(const std::string& address)>;

  ControlStreams(boost::asio::io_context& io, uint32_t min_frame, uint32_t max_frame, OnFrame on_frame,
                 OnConnectFailure on_failure, StreamLimits limits = {});
  ~ControlStreams();
  // Binds and listens; throws std::runtime_error with the reason.
  void listen(const boost::asio::ip::tcp::endpoint& at);
  // On the open connection with `member` when there is one, else on a new one to `address`.
  void send(const std::optional<crdt::OwnerId>& member, const std::string& address, std::shared_ptr<std::string> frame);
  // Closes connections idle for longer than idle_ms.
  void sweep(uint64_t idle_ms);
  void close_all();
  size_t open() const { return links_.size(); }
  // Bytes held for frames not yet complete on links whose sender is not proven.
  size_t unproven_bytes() const { return unproven_bytes_; }
  const StreamCounters& counters() const { return counters_; }

 private:
  struct Link {
    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer pre_auth;  // inbound only: closes the link unless a frame opens in time
    std::string peer;  // address text, for logs and the core
    boost::asio::ip::address source;  // inbound: the remote IP, for the per-source limit
    std::optional<crdt::OwnerId> member;  // whom we send to on it (ours, or proven by a frame)
    bool inbound = false;
    bool proven = false;  // a frame from it opened under the cluster key
    std::deque<std::shared_ptr<std::string>> queue;
    bool connected = false, writing = false, closed = false;
    std::chrono::steady_clock::time_point used, opened;
    std::vector<uint8_t> frame;  // the frame being read: its buffer grows as its bytes arrive
    size_t frame_got = 0, frame_length = 0;
    explicit Link(boost::asio::io_context& io) : socket(io), pre_auth(io) {}
  };
  void accept();
  void admit(boost::asio::ip::tcp::socket socket);
  bool make_room();
  void read(std::shared_ptr<Link> link);
  void read_body(std::shared_ptr<Link> link);
  // A stranger's link: inbound, and no frame of it has opened yet. Outbound links go to an
  // address we chose.
  static bool unproven(const Link& link) { return link.inbound && !link.proven; }
  size_t unproven_share(const Link& link) const { return unproven(link) ? link.frame.size() : 0; }
  void write(std::shared_ptr<Link> link);
  void bind(const std::shared_ptr<Link>& link, const crdt::OwnerId& member);
  void close(const std::shared_ptr<Link>& link);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint32_t min_frame_, max_frame_;
  StreamLimits limits_;
  size_t unproven_bytes_ = 0;
  OnFrame on_frame_;
  OnConnectFailure on_failure_;
  std::set<std::shared_ptr<Link>> links_;
  std::map<crdt::OwnerId, std::weak_ptr<Link>> by_member_;
  StreamCounters counters_;
};

}  // namespace weft::agent
