#include "agent/dns_forwarder.hpp"

#include <sodium.h>

#include <sstream>

#include "dns/wire.hpp"
#include "dns/zone.hpp"

namespace weft::agent {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;

struct DnsForwarder::Pending {
  explicit Pending(asio::io_context& io) : timer(io), stream(io) {}
  std::vector<uint8_t> query;
  uint16_t client_id = 0;
  bool client_tcp = false;
  Reply reply;
  size_t upstream = 0;  // index of the upstream being tried
  uint16_t upstream_id = 0;
  asio::steady_timer timer;
  tcp::socket stream;
  std::array<uint8_t, 2> length{};
  std::vector<uint8_t> answer;
  bool done = false;
};

namespace {

std::vector<uint8_t> servfail_for(std::span<const uint8_t> query) {
  dns::Parsed p = dns::parse_query(query);
  if (p.kind == dns::Parsed::Kind::ignore) return {};
  bool with_question = p.kind == dns::Parsed::Kind::query;
  return dns::encode_response(dns::error_response(p.query, dns::rcode::servfail, with_question), dns::kMaxUdpWithoutEdns);
}

uint16_t random_id() {
  uint16_t id;
  randombytes_buf(&id, sizeof id);
  return id;
}

}  // namespace

DnsForwarder::DnsForwarder(asio::io_context& io, std::vector<udp::endpoint> upstreams)
    : io_(io), upstreams_(std::move(upstreams)), v4_(io), v6_(io) {
  for (auto* s : {&v4_, &v6_}) {
    bool v6 = s == &v6_;
    if (std::none_of(upstreams_.begin(), upstreams_.end(), [&](const udp::endpoint& u) { return u.address().is_v6() == v6; }))
      continue;
    s->socket.open(v6 ? udp::v6() : udp::v4());
    if (v6) s->socket.set_option(asio::ip::v6_only(true));
    s->socket.bind(udp::endpoint(v6 ? udp::v6() : udp::v4(), 0));
    receive(*s);
  }
}

DnsForwarder::~DnsForwarder() {
  *alive_ = false;
  for (auto& [id, p] : by_id_) p->timer.cancel();
}

bool DnsForwarder::may_serve(const asio::ip::address& client, const Ipv4Net& network) {
  if (client.is_loopback()) return true;
  if (client.is_v6() && client.to_v6().is_v4_mapped()) return may_serve(client.to_v6().to_v4(), network);
  return client.is_v4() && network.contains(Ipv4{client.to_v4().to_uint()});
}

std::vector<udp::endpoint> DnsForwarder::from_resolv_conf(const std::string& text, const std::vector<udp::endpoint>& exclude) {
  std::vector<udp::endpoint> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string keyword, address;
    if (!(words >> keyword >> address) || keyword != "nameserver") continue;
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(address, ec);
    if (ec) continue;
    udp::endpoint ep(ip, 53);
    bool self = false;
    // Listening on 0.0.0.0:53 (or [::]:53) makes every loopback resolver on port 53 possibly us.
    for (const auto& x : exclude)
      self |= x == ep || (x.port() == 53 && x.address().is_unspecified() && ip.is_loopback() &&
                          x.address().is_v6() == ip.is_v6());
    if (!self && std::find(out.begin(), out.end(), ep) == out.end()) out.push_back(ep);
  }
  return out;
}

void DnsForwarder::forward(std::span<const uint8_t> query, bool client_tcp, Reply reply) {
  if (query.size() < 12) return;
  if (upstreams_.empty() || by_id_.size() >= kMaxInFlight) {
    if (!upstreams_.empty()) ++counters_.over_limit;
    ++counters_.servfail;
    reply(servfail_for(query));
    return;
  }
  auto p = std::make_shared<Pending>(io_);
  p->query.assign(query.begin(), query.end());
  p->client_id = static_cast<uint16_t>(query[0] << 8 | query[1]);
  p->client_tcp = client_tcp;
  p->reply = std::move(reply);
  ++counters_.forwarded;
  attempt(p);
}

void DnsForwarder::attempt(std::shared_ptr<Pending> p) {
  if (p->done) return;
  if (p->upstream >= upstreams_.size()) {
    ++counters_.servfail;
    p->done = true;
    p->query[0] = static_cast<uint8_t>(p->client_id >> 8);  // the client's id, not our last attempt's
    p->query[1] = static_cast<uint8_t>(p->client_id);
    p->reply(servfail_for(p->query));
    return;
  }
  uint16_t id;
  do id = random_id();
  while (by_id_.count(id));
  p->upstream_id = id;
  by_id_[id] = p;
  p->query[0] = static_cast<uint8_t>(id >> 8);
  p->query[1] = static_cast<uint8_t>(id);
  boost::system::error_code ec;
  socket_for(upstreams_[p->upstream]).socket.send_to(asio::buffer(p->query), upstreams_[p->upstream], 0, ec);
  p->timer.expires_after(kAttemptTimeout);
  p->timer.async_wait([this, p, id, alive = alive_](boost::system::error_code e) {
    if (!*alive || e || p->done) return;
    if (auto it = by_id_.find(id); it != by_id_.end() && it->second == p) by_id_.erase(it);
    ++counters_.timeouts;
    ++p->upstream;
    attempt(p);
  });
}

void DnsForwarder::receive(Socket& s) {
  s.socket.async_receive_from(asio::buffer(s.buffer), s.from, [this, &s, alive = alive_](boost::system::error_code ec, size_t n) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (!ec) {
      std::span<const uint8_t> bytes(s.buffer.data(), n);
      auto header = dns::peek_response(bytes);
      auto it = header ? by_id_.find(header->id) : by_id_.end();
      // Only the upstream we asked, answering the id we sent, counts (spoofing defence).
      if (it == by_id_.end() || s.from != upstreams_[it->second->upstream]) {
        ++counters_.stray;
      } else {
        auto p = it->second;
        by_id_.erase(it);
        p->timer.cancel();
        if (header->tc && p->client_tcp) {
          ++counters_.tcp_retries;
          attempt_tcp(p);
        } else {
          finish(p, std::vector<uint8_t>(bytes.begin(), bytes.end()));
        }
      }
    }
    receive(s);
  });
}

void DnsForwarder::attempt_tcp(std::shared_ptr<Pending> p) {
  auto fail = [this, p] {
    if (p->done) return;
    boost::system::error_code ignored;
    p->stream.close(ignored);
    p->timer.cancel();
    ++p->upstream;
    attempt(p);
  };
  p->timer.expires_after(kAttemptTimeout);
  p->timer.async_wait([p, alive = alive_](boost::system::error_code e) {
    if (!*alive || e || p->done) return;
    boost::system::error_code ignored;
    p->stream.cancel(ignored);  // the pending operation fails and moves on
  });
  const auto& up = upstreams_[p->upstream];
  p->stream.async_connect(tcp::endpoint(up.address(), up.port()), [this, p, fail, alive = alive_](boost::system::error_code ec) {
    if (!*alive) return;
    if (ec) return fail();
    auto out = std::make_shared<std::vector<uint8_t>>(p->query.size() + 2);
    (*out)[0] = static_cast<uint8_t>(p->query.size() >> 8);
    (*out)[1] = static_cast<uint8_t>(p->query.size());
    std::copy(p->query.begin(), p->query.end(), out->begin() + 2);
    asio::async_write(p->stream, asio::buffer(*out), [this, p, out, fail, alive](boost::system::error_code ec2, size_t) {
      if (!*alive) return;
      if (ec2) return fail();
      asio::async_read(p->stream, asio::buffer(p->length), [this, p, fail, alive](boost::system::error_code ec3, size_t) {
        if (!*alive) return;
        if (ec3) return fail();
        p->answer.resize(static_cast<size_t>(p->length[0]) << 8 | p->length[1]);
        asio::async_read(p->stream, asio::buffer(p->answer), [this, p, fail, alive](boost::system::error_code ec4, size_t) {
          if (!*alive) return;
          auto header = dns::peek_response(p->answer);
          if (ec4 || !header || header->id != p->upstream_id) return fail();
          p->timer.cancel();
          boost::system::error_code ignored;
          p->stream.close(ignored);
          finish(p, std::move(p->answer));
        });
      });
    });
  });
}

void DnsForwarder::finish(std::shared_ptr<Pending> p, std::vector<uint8_t> answer) {
  if (p->done) return;
  p->done = true;
  ++counters_.answered;
  answer[0] = static_cast<uint8_t>(p->client_id >> 8);
  answer[1] = static_cast<uint8_t>(p->client_id);
  p->reply(std::move(answer));
}

}  // namespace weft::agent
