// The relay, both roles (the pure table and frame codec: paths/relay.hpp).
// As an end: for a peer without a working direct path, bind with the pair's relay (a sealed
// RelayBind every 20 s) and, once the relay says both ends are bound, open a local proxy socket
// on 127.0.0.1: path selection may then point the peer's WireGuard endpoint at it. What
// WireGuard sends there goes to the relay in data frames from the control socket; data frames
// from the relay go to WireGuard from the proxy socket, so the device sees the peer there.
// As a relay (a member no NAT stands in front of): answer binds, forward data frames between
// the bound ends of a pair. Neither role looks inside the WireGuard packets.
#include <spdlog/spdlog.h>

#include "agent/address.hpp"
#include "agent/agent.hpp"
#include "base/hex.hpp"
#include "crdt/values.hpp"

namespace weft::agent {

namespace asio = boost::asio;

struct RelayEnd {
  crdt::OwnerId peer{};
  crdt::OwnerId relay{};
  uint64_t channel = 0;
  bool ready = false;
  uint64_t next_bind = 0;
  uint64_t confirmed_at = 0;  // the relay's last RelayBound
  stun::Address relay_at;     // where the relay's answers come from; frames go there
  std::unique_ptr<asio::ip::udp::socket> proxy;
  std::string proxy_endpoint;  // "127.0.0.1:PORT": the WireGuard endpoint of the relayed peer
  std::array<uint8_t, paths::kRelayHeader + 65536> buffer{};  // header room in front of the packet
  asio::ip::udp::endpoint from;
};

std::vector<crdt::OwnerId> Agent::relay_capable_members() const {
  std::vector<crdt::OwnerId> out;
  const auto& state = replica_->state();
  for (const auto& id : live_members()) {
    if (id == replica_->id()) continue;
    const auto* r = state.find(crdt::RecordKey{id, crdt::Kind::machine, crdt::kMachineRecordName});
    if (!r || r->tombstone) continue;
    if (auto m = crdt::decode_machine(r->value); m && m->relay_capable) out.push_back(id);
  }
  return out;
}

std::string Agent::relay_name(const crdt::OwnerId& peer) const {
  auto e = relay_ends_.find(peer);
  if (e == relay_ends_.end()) return "";
  auto m = membership_->members().find(e->second->relay);
  return m ? m->name : short_hex(e->second->relay);
}

void Agent::send_control(const crdt::OwnerId& to, const std::string& address, gossip::Body body, bool route) {
  gossip::Outgoing out;
  out.to = address;
  out.message.from = replica_->id();
  out.message.body = std::move(body);
  if (route) out.to_member = to;
  send(out);
}

void Agent::close_relay_end(const crdt::OwnerId& peer) {
  auto it = relay_ends_.find(peer);
  if (it == relay_ends_.end()) return;
  auto& e = *it->second;
  if (e.proxy) {
    boost::system::error_code ignored;
    e.proxy->close(ignored);
  }
  if (auto c = relay_channels_.find(e.channel); c != relay_channels_.end() && c->second == it->second) relay_channels_.erase(c);
  relay_ends_.erase(it);
}

// For a peer that needs a relay (its direct attempts are not working): keeps its binding with
// the pair's relay fresh; the proxy endpoint once the relay has both ends. Otherwise the
// binding is dropped (the relay lets it lapse).
std::optional<std::string> Agent::relay_for(const crdt::OwnerId& peer, bool needed, uint64_t now) {
  std::optional<crdt::OwnerId> relay;
  if (needed && options_.relay != "off")
    relay = paths::pick_relay(replica_->id(), peer, relay_capable_members());
  auto it = relay_ends_.find(peer);
  if (!relay) {
    close_relay_end(peer);
    return std::nullopt;
  }
  if (it != relay_ends_.end() && it->second->relay != *relay) {
    close_relay_end(peer);
    it = relay_ends_.end();
  }
  if (it == relay_ends_.end()) {
    auto e = std::make_shared<RelayEnd>();
    e->peer = peer;
    e->relay = *relay;
    it = relay_ends_.emplace(peer, std::move(e)).first;
  }
  RelayEnd& e = *it->second;
  if (now >= e.next_bind) {
    auto m = membership_->members().find(e.relay);
    if (m) send_control(e.relay, m->address, gossip::RelayBind{peer}, true);
    e.next_bind = now + (e.ready ? 20'000 : 2'000);
  }
  if (e.ready && now > e.confirmed_at + 60'000) e.ready = false;  // the relay stopped answering
  if (!e.ready || !e.proxy) return std::nullopt;
  return e.proxy_endpoint;
}

void Agent::on_relay_bind(const crdt::OwnerId& sender, const gossip::RelayBind& bind, const std::string& from) {
  auto hp = parse_host_port(from);
  if (!relay_capable_ || !hp) {
    ++relay_refused_;
    return;
  }
  // Only for pairs of live members: a made-up peer id costs the relay nothing.
  if (!is_live(sender) || !is_live(bind.peer)) {
    ++relay_refused_not_live_;
    return;
  }
  auto bound = relay_table_->bind(sender, bind.peer, to_stun(hp->ip, hp->port), now_ms());
  if (!bound) {
    ++relay_refused_;
    return;
  }
  send_control(sender, from, gossip::RelayBound{bind.peer, bound->channel, bound->ready}, false);
}

void Agent::on_relay_bound(const crdt::OwnerId& sender, const gossip::RelayBound& bound, const std::string& from) {
  auto it = relay_ends_.find(bound.peer);
  auto hp = parse_host_port(from);
  if (it == relay_ends_.end() || it->second->relay != sender || !hp) return;
  auto end = it->second;
  RelayEnd& e = *end;
  if (e.channel != bound.channel) {
    if (auto c = relay_channels_.find(e.channel); c != relay_channels_.end() && c->second == end) relay_channels_.erase(c);
    e.channel = bound.channel;
    relay_channels_[e.channel] = end;
  }
  e.relay_at = to_stun(hp->ip, hp->port);
  e.confirmed_at = now_ms();
  bool was_ready = e.ready;
  e.ready = bound.ready;
  if (e.ready && !e.proxy) {
    e.proxy = std::make_unique<asio::ip::udp::socket>(io_);
    boost::system::error_code ec;
    e.proxy->open(asio::ip::udp::v4(), ec);
    if (!ec) e.proxy->bind(asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0), ec);
    if (!ec) e.proxy->non_blocking(true, ec);
    if (ec) {
      spdlog::error("relay proxy socket: {}", ec.message());
      e.proxy.reset();
      return;
    }
    e.proxy_endpoint = format_host_port(asio::ip::address_v4::loopback(), e.proxy->local_endpoint().port());
    receive_proxy(end);
  }
  if (e.ready && !was_ready) {
    auto m = membership_->members().find(bound.peer);
    auto r = membership_->members().find(sender);
    spdlog::info("relay via {} ready for peer {} (channel {:016x}, local endpoint {})",
                 r ? r->name : short_hex(sender),
                 m ? m->name : short_hex(bound.peer), e.channel, e.proxy_endpoint);
    next_mesh_check_ = 0;  // path selection can use it now (after_event follows every frame)
  }
}

// WireGuard -> relay: the packet lands behind the header room; the header goes in front.
void Agent::receive_proxy(std::shared_ptr<RelayEnd> end) {
  auto& e = *end;
  e.proxy->async_receive_from(asio::buffer(e.buffer.data() + paths::kRelayHeader, e.buffer.size() - paths::kRelayHeader), e.from,
                              [this, end](boost::system::error_code ec, size_t n) {
                                if (ec == asio::error::operation_aborted || !end->proxy || !end->proxy->is_open()) return;
                                if (!ec && n > 0 && end->ready) {
                                  paths::encode_relay_header(end->buffer.data(), end->channel);
                                  boost::system::error_code sec;
                                  udp_.send_to(asio::buffer(end->buffer.data(), paths::kRelayHeader + n), from_stun(end->relay_at), 0, sec);
                                  if (sec) ++relay_send_errors_;
                                  else ++relay_out_;
                                }
                                receive_proxy(end);
                              });
}

// A data frame on the control port: ours (from our relay, for a peer we relay with) goes to
// WireGuard; one for a pair we relay is forwarded; anything else is dropped and counted.
void Agent::on_relay_datagram(size_t n) {
  auto frame = paths::decode_relay_frame({datagram_.data(), n});
  if (!frame) {
    ++relay_malformed_;
    return;
  }
  stun::Address from = to_stun(datagram_from_.address(), datagram_from_.port());
  boost::system::error_code ec;
  if (auto it = relay_channels_.find(frame->channel); it != relay_channels_.end()) {
    RelayEnd& e = *it->second;
    if (!(from == e.relay_at) || !e.proxy) {
      ++relay_not_ours_;
      return;
    }
    e.proxy->send_to(asio::buffer(frame->payload.data(), frame->payload.size()),
                     asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), options_.mesh.listen_port), 0, ec);
    if (ec) ++relay_send_errors_;
    else ++relay_in_;
    return;
  }
  if (!relay_capable_) {
    ++relay_not_ours_;
    return;
  }
  auto to = relay_table_->forward(frame->channel, from, now_ms());
  if (!to) return;  // counted by the table, by reason
  udp_.send_to(asio::buffer(datagram_.data(), n), from_stun(*to), 0, ec);
  if (ec) ++relay_send_errors_;
}

}  // namespace weft::agent
