#include "agent/dns_server.hpp"

#include <stdexcept>

#include "agent/address.hpp"

namespace weft::agent {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;

struct DnsServer::Udp {
  explicit Udp(asio::io_context& io) : socket(io) {}
  udp::socket socket;
  std::array<uint8_t, 65535> buffer{};
  udp::endpoint from;
};

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
  u.socket.async_receive_from(asio::buffer(u.buffer), u.from, [this, &u, alive = alive_](boost::system::error_code ec, size_t n) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (!ec) {
      ++counters_.udp_queries;
      handler_(std::span<const uint8_t>(u.buffer.data(), n), false, u.from.address(), [&u, to = u.from, alive](std::vector<uint8_t> reply) {
        if (!*alive || reply.empty()) return;
        boost::system::error_code send_ec;
        u.socket.send_to(asio::buffer(reply), to, 0, send_ec);  // a full buffer drops it, as UDP does
      });
    }
    receive(u);
  });
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
