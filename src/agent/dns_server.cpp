#include "agent/dns_server.hpp"

#include <sys/socket.h>

#include <cstring>
#include <stdexcept>

#include "agent/address.hpp"

namespace weft::agent {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;

// UDP in batches: one recvmmsg takes up to kBatch queries, the answers given at once go back in
// one sendmmsg; answers given later (forwarded names) go out one by one. A query longer than a
// slot (4 KiB: far above any real query) is dropped and counted.
struct DnsServer::Udp {
  static constexpr size_t kBatch = 64;
  static constexpr size_t kSlot = 4096;
  static constexpr int kRoundsPerWakeup = 8;  // then yield to the rest of the agent
  explicit Udp(asio::io_context& io) : socket(io) {}
  udp::socket socket;
  std::array<std::array<uint8_t, kSlot>, kBatch> buffers;  // not zeroed: untouched pages cost no RSS
  std::array<sockaddr_storage, kBatch> from{};
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  // Answers collected while a batch is handled.
  bool in_batch = false;
  std::vector<std::vector<uint8_t>> out;
  std::vector<udp::endpoint> out_to;
};

namespace {

udp::endpoint to_endpoint(const sockaddr_storage& sa, socklen_t len) {
  udp::endpoint ep;
  if (len <= ep.capacity()) {
    std::memcpy(ep.data(), &sa, len);
    ep.resize(len);
  }
  return ep;
}

// sendmmsg of every collected answer; what the kernel does not take is dropped, as UDP does.
void flush(int fd, std::vector<std::vector<uint8_t>>& out, std::vector<udp::endpoint>& to) {
  constexpr size_t kMax = 64;
  for (size_t start = 0; start < out.size(); start += kMax) {
    size_t n = std::min(kMax, out.size() - start);
    std::array<mmsghdr, kMax> msgs{};
    std::array<iovec, kMax> iov{};
    for (size_t i = 0; i < n; ++i) {
      iov[i] = iovec{out[start + i].data(), out[start + i].size()};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = to[start + i].data();
      msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(to[start + i].size());
    }
    size_t sent = 0;
    while (sent < n) {
      int r = ::sendmmsg(fd, msgs.data() + sent, static_cast<unsigned>(n - sent), MSG_DONTWAIT);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      sent += static_cast<size_t>(r);
    }
  }
  out.clear();
  to.clear();
}

}  // namespace

struct DnsServer::Session {
  Session(asio::io_context& io, tcp::socket s) : socket(std::move(s)), idle(io) {}
  tcp::socket socket;
  asio::steady_timer idle;
  std::array<uint8_t, 2> length{};
  std::vector<uint8_t> message;
};

DnsServer::DnsServer(asio::io_context& io, Handler handler) : io_(io), handler_(std::move(handler)) {}

DnsServer::~DnsServer() { *alive_ = false; }

void DnsServer::listen(const std::string& host_port) {
  auto hp = parse_host_port(host_port);
  if (!hp) throw std::runtime_error("DNS listen address " + host_port + " is not IP:PORT");
  boost::system::error_code ec;
  auto u = std::make_unique<Udp>(io_);
  udp::endpoint uep(hp->ip, hp->port);
  u->socket.open(uep.protocol(), ec);
  if (!ec) u->socket.bind(uep, ec);
  if (ec) throw std::runtime_error("cannot bind DNS UDP " + host_port + ": " + ec.message());
  auto a = std::make_unique<tcp::acceptor>(io_);
  tcp::endpoint tep(hp->ip, hp->port);
  a->open(tep.protocol(), ec);
  if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a->bind(tep, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot bind DNS TCP " + host_port + ": " + ec.message());
  receive(*u);
  accept(*a);
  udp_.push_back(std::move(u));
  tcp_.push_back(std::move(a));
}

void DnsServer::receive(Udp& u) {
  u.socket.async_wait(udp::socket::wait_read, [this, &u, alive = alive_](boost::system::error_code ec) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    keep_draining(u);
  });
}

// Drains, then waits for the next datagram; when the socket still holds queries, continues
// after the agent's other ready work (a wait now could miss the readiness already reported).
void DnsServer::keep_draining(Udp& u) {
  if (drain(u)) return receive(u);
  asio::post(io_, [this, &u, alive = alive_] {
    if (*alive) keep_draining(u);
  });
}

// Handles what the socket holds; true when it is empty (wait for the next datagram), false when
// it stopped early to let the rest of the agent run.
bool DnsServer::drain(Udp& u) {
  int fd = u.socket.native_handle();
  for (int round = 0; round < Udp::kRoundsPerWakeup; ++round) {
    for (size_t i = 0; i < Udp::kBatch; ++i) {
      u.iov[i] = iovec{u.buffers[i].data(), Udp::kSlot};
      u.msgs[i] = mmsghdr{};
      u.msgs[i].msg_hdr.msg_iov = &u.iov[i];
      u.msgs[i].msg_hdr.msg_iovlen = 1;
      u.msgs[i].msg_hdr.msg_name = &u.from[i];
      u.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    int n = ::recvmmsg(fd, u.msgs.data(), Udp::kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    u.in_batch = true;
    for (int i = 0; i < n; ++i) {
      const mmsghdr& m = u.msgs[static_cast<size_t>(i)];
      if (m.msg_hdr.msg_flags & MSG_TRUNC) {
        ++counters_.udp_oversized;
        continue;
      }
      ++counters_.udp_queries;
      udp::endpoint from = to_endpoint(u.from[static_cast<size_t>(i)], m.msg_hdr.msg_namelen);
      handler_(std::span<const uint8_t>(u.buffers[static_cast<size_t>(i)].data(), m.msg_len), false, from.address(),
               [&u, from, alive = alive_](std::vector<uint8_t> reply) {
                 if (!*alive || reply.empty()) return;
                 if (u.in_batch) {
                   u.out.push_back(std::move(reply));
                   u.out_to.push_back(from);
                   return;
                 }
                 boost::system::error_code send_ec;
                 u.socket.send_to(asio::buffer(reply), from, 0, send_ec);  // a full buffer drops it, as UDP does
               });
    }
    u.in_batch = false;
    flush(fd, u.out, u.out_to);
    if (static_cast<size_t>(n) < Udp::kBatch) return true;
  }
  return false;
}

void DnsServer::accept(tcp::acceptor& a) {
  a.async_accept([this, &a, alive = alive_](boost::system::error_code ec, tcp::socket socket) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (open_sessions_ >= kMaxTcpConnections) {
        ++counters_.tcp_refused;  // bounded: a flood of idle connections cannot starve us
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        ++open_sessions_;
        ++counters_.tcp_connections;
        read(std::make_shared<Session>(io_, std::move(socket)));
      }
    }
    accept(a);
  });
}

void DnsServer::read(std::shared_ptr<Session> s) {
  auto close = [this, s] {
    boost::system::error_code ignored;
    s->idle.cancel();
    if (s->socket.is_open()) {
      s->socket.close(ignored);
      --open_sessions_;
    }
  };
  s->idle.expires_after(kTcpIdle);
  s->idle.async_wait([this, s, alive = alive_](boost::system::error_code ec) {
    if (!*alive || ec) return;
    ++counters_.tcp_idle_closed;
    boost::system::error_code ignored;
    s->socket.cancel(ignored);  // the pending read fails and closes the session
  });
  asio::async_read(s->socket, asio::buffer(s->length), [this, s, close, alive = alive_](boost::system::error_code ec, size_t) {
    if (!*alive) return;
    if (ec) return close();
    size_t n = static_cast<size_t>(s->length[0]) << 8 | s->length[1];
    s->message.resize(n);
    asio::async_read(s->socket, asio::buffer(s->message), [this, s, close, alive](boost::system::error_code ec2, size_t) {
      if (!*alive) return;
      if (ec2) return close();
      ++counters_.tcp_queries;
      s->idle.cancel();  // a forwarded query may take a while: the idle clock restarts after it
      boost::system::error_code peer_ec;
      auto peer = s->socket.remote_endpoint(peer_ec).address();
      handler_(s->message, true, peer, [this, s, close, alive](std::vector<uint8_t> reply) {
        if (!*alive) return;
        if (reply.empty() || reply.size() > 65535) return close();
        auto out = std::make_shared<std::vector<uint8_t>>(reply.size() + 2);
        (*out)[0] = static_cast<uint8_t>(reply.size() >> 8);
        (*out)[1] = static_cast<uint8_t>(reply.size());
        std::copy(reply.begin(), reply.end(), out->begin() + 2);
        asio::async_write(s->socket, asio::buffer(*out), [this, s, out, close, alive](boost::system::error_code ec3, size_t) {
          if (!*alive) return;
          if (ec3) return close();
          read(s);  // the next query on the same connection
        });
      });
    });
  });
}

}  // namespace weft::agent
