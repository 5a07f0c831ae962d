#include "agent/control_streams.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "agent/address.hpp"

namespace weft::agent {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

ControlStreams::ControlStreams(asio::io_context& io, uint32_t min_frame, uint32_t max_frame, OnFrame on_frame,
                               OnConnectFailure on_failure, StreamLimits limits)
    : io_(io), acceptor_(io), min_frame_(min_frame), max_frame_(max_frame), limits_(limits), on_frame_(std::move(on_frame)),
      on_failure_(std::move(on_failure)) {}

ControlStreams::~ControlStreams() { close_all(); }

void ControlStreams::listen(const tcp::endpoint& at) {
  boost::system::error_code ec;
  acceptor_.open(at.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(at, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(ec.message());
  accept();
}

void ControlStreams::close_all() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  auto links = links_;
  for (const auto& l : links) close(l);
}

void ControlStreams::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) admit(std::move(socket));
    accept();
  });
}

void ControlStreams::admit(tcp::socket socket) {
  boost::system::error_code rec;
  auto peer = socket.remote_endpoint(rec);
  auto refuse = [&](uint64_t& counter) {
    ++counter;
    boost::system::error_code ignored;
    socket.close(ignored);
  };
  if (rec) return refuse(counters_.refused);
  // One source cannot hold the slots an honest member needs to sync.
  size_t from_source = 0;
  for (const auto& l : links_)
    if (unproven(*l) && l->source == peer.address()) ++from_source;
  if (from_source >= limits_.max_unproven_per_source) return refuse(counters_.refused_source);
  if (links_.size() >= limits_.max_links && !make_room()) return refuse(counters_.refused);
  auto link = std::make_shared<Link>(io_);
  link->socket = std::move(socket);
  link->peer = format_host_port(peer.address(), peer.port());
  link->source = peer.address();
  link->inbound = true;
  link->connected = true;
  link->used = link->opened = std::chrono::steady_clock::now();
  links_.insert(link);
  ++counters_.accepted;
  link->pre_auth.expires_after(std::chrono::milliseconds(limits_.pre_auth_ms));
  link->pre_auth.async_wait([this, link](boost::system::error_code tec) {
    if (tec || link->closed || link->proven) return;
    ++counters_.pre_auth_timeouts;
    close(link);
  });
  read(link);
}

// The table is full: the oldest inbound link whose sender is not proven goes, so strangers
// holding slots cannot lock out a member that connects after them.
bool ControlStreams::make_room() {
  std::shared_ptr<Link> oldest;
  for (const auto& l : links_)
    if (unproven(*l) && (!oldest || l->opened < oldest->opened)) oldest = l;
  if (!oldest) return false;
  ++counters_.evicted;
  close(oldest);
  return true;
}

void ControlStreams::bind(const std::shared_ptr<Link>& link, const crdt::OwnerId& member) {
  if (link->member == member) return;
  link->member = member;
  auto& slot = by_member_[member];
  if (slot.expired()) slot = link;  // the first open connection with a member carries what we send it
}

void ControlStreams::read(std::shared_ptr<Link> link) {
  auto header = std::make_shared<std::array<uint8_t, 4>>();
  asio::async_read(link->socket, asio::buffer(*header), [this, link, header](boost::system::error_code ec, size_t) {
    if (ec || link->closed) return close(link);
    uint32_t len = uint32_t{(*header)[0]} << 24 | uint32_t{(*header)[1]} << 16 | uint32_t{(*header)[2]} << 8 | (*header)[3];
    // Until a frame has opened, an inbound link is a stranger's: its frames stay small.
    uint32_t cap = unproven(*link) ? std::min(max_frame_, limits_.max_first_frame) : max_frame_;
    if (len > cap || len < min_frame_) {
      ++counters_.oversized;
      return close(link);
    }
    link->frame.clear();
    link->frame_got = 0;
    link->frame_length = len;
    read_body(link);
  });
}

// The frame's buffer doubles as its bytes arrive (from 64 KiB), and grows only once bytes are
// there to fill it, so a length prefix alone costs nothing: memory follows what was sent.
void ControlStreams::read_body(std::shared_ptr<Link> link) {
  if (link->frame_got == link->frame_length) {
    std::vector<uint8_t> frame = std::move(link->frame);
    link->frame.clear();
    link->frame_got = 0;
    if (unproven(*link)) unproven_bytes_ -= frame.size();
    link->used = std::chrono::steady_clock::now();
    on_frame_(frame, link->peer, [this, link](const crdt::OwnerId& sender) {
      if (link->closed) return;
      link->proven = true;
      link->pre_auth.cancel();
      bind(link, sender);
    });
    if (!link->closed) read(link);
    return;
  }
  auto fill = [this, link] {
    asio::mutable_buffer space(link->frame.data() + link->frame_got, link->frame.size() - link->frame_got);
    link->socket.async_read_some(space, [this, link](boost::system::error_code ec, size_t n) {
      if (ec || link->closed) return close(link);
      link->frame_got += n;
      read_body(link);
    });
  };
  if (link->frame_got < link->frame.size()) return fill();
  link->socket.async_wait(tcp::socket::wait_read, [this, link, fill](boost::system::error_code ec) {
    if (ec || link->closed) return close(link);
    size_t next = std::min(link->frame_length, std::max(link->frame.size() * 2, size_t{64} << 10));
    size_t growth = next - link->frame.size();
    if (unproven(*link)) {
      if (unproven_bytes_ + growth > limits_.unproven_bytes_budget) {
        ++counters_.pre_auth_budget;
        return close(link);
      }
      unproven_bytes_ += growth;
    }
    link->frame.resize(next);
    fill();
  });
}

void ControlStreams::send(const std::optional<crdt::OwnerId>& member, const std::string& address,
                          std::shared_ptr<std::string> frame) {
  if (member) {
    if (auto it = by_member_.find(*member); it != by_member_.end()) {
      if (auto link = it->second.lock(); link && !link->closed) {
        ++counters_.reused;
        link->queue.push_back(std::move(frame));
        link->used = std::chrono::steady_clock::now();
        write(link);
        return;
      }
      by_member_.erase(it);
    }
  }
  auto hp = parse_host_port(address);
  if (!hp) return;
  auto link = std::make_shared<Link>(io_);
  link->peer = address;
  link->used = std::chrono::steady_clock::now();
  link->queue.push_back(std::move(frame));
  links_.insert(link);
  if (member) bind(link, *member);
  ++counters_.opened;
  link->opened = link->used;
  link->socket.async_connect(tcp::endpoint(hp->ip, hp->port), [this, link, address](boost::system::error_code ec) {
    if (link->closed) return;
    if (ec) {
      ++counters_.connect_failures;
      on_failure_(address);
      return close(link);
    }
    link->connected = true;
    read(link);  // answers come back on this connection
    write(link);
  });
}

void ControlStreams::write(std::shared_ptr<Link> link) {
  if (!link->connected || link->writing || link->closed || link->queue.empty()) return;
  link->writing = true;
  auto frame = link->queue.front();
  auto header = std::make_shared<std::array<uint8_t, 4>>();
  uint32_t len = static_cast<uint32_t>(frame->size());
  *header = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16), static_cast<uint8_t>(len >> 8),
             static_cast<uint8_t>(len)};
  std::array<asio::const_buffer, 2> buffers{asio::buffer(*header), asio::buffer(*frame)};
  asio::async_write(link->socket, buffers, [this, link, header, frame](boost::system::error_code ec, size_t) {
    link->writing = false;
    if (ec || link->closed) return close(link);
    link->queue.pop_front();
    link->used = std::chrono::steady_clock::now();
    write(link);
  });
}

void ControlStreams::sweep(uint64_t idle_ms) {
  auto cutoff = std::chrono::steady_clock::now() - std::chrono::milliseconds(idle_ms);
  std::vector<std::shared_ptr<Link>> idle;
  for (const auto& l : links_)
    if (l->used < cutoff && !l->writing && l->queue.empty()) idle.push_back(l);
  for (const auto& l : idle) {
    ++counters_.idle_closed;
    close(l);
  }
}

void ControlStreams::close(const std::shared_ptr<Link>& link) {
  if (link->closed) return;
  link->closed = true;
  unproven_bytes_ -= unproven_share(*link);
  link->frame.clear();
  link->frame_got = 0;
  link->pre_auth.cancel();
  boost::system::error_code ignored;
  link->socket.shutdown(tcp::socket::shutdown_both, ignored);
  link->socket.close(ignored);
  if (link->member)
    if (auto it = by_member_.find(*link->member); it != by_member_.end() && it->second.lock() == link) by_member_.erase(it);
  links_.erase(link);
}

}  // namespace weft::agent
