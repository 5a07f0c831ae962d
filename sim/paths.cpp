#include "sim/paths.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "base/ipv4.hpp"
#include "base/rng.hpp"
#include "paths/candidates.hpp"
#include "paths/path_select.hpp"

namespace weft::sim {

const char* nat_name(NatType type) {
  switch (type) {
    case NatType::none: return "public";
    case NatType::endpoint_independent: return "endpoint-independent NAT";
    case NatType::symmetric: return "symmetric NAT";
  }
  return "?";
}

namespace {

constexpr uint64_t kTickMs = 1'000;
constexpr uint64_t kRejectAfterMs = 180'000;  // WireGuard: a session older than this is unusable
constexpr uint64_t kRekeyAfterMs = 120'000;   // renewed by the next send past this age
constexpr uint64_t kRekeyTimeoutMs = 5'000;   // at most one initiation per 5 s
constexpr uint16_t kWireguardPort = 51820;

enum class Packet { initiation, response, keepalive };

struct Device {  // one machine's WireGuard peer entry for another machine
  std::string endpoint;
  uint16_t keepalive = 0;
  uint64_t last_handshake = 0;
  uint64_t rx = 0;
  uint64_t next_keepalive = 0, next_initiation = 0;
};

struct Machine {
  NatType nat = NatType::none;
  std::string public_ip, private_ip;
  Ipv4Net lan;
  uint64_t started = 0;
  std::set<std::string> sent_to;               // behind a NAT: who may answer
  std::map<std::string, std::string> mapping;  // symmetric: destination -> external endpoint
  uint16_t next_port = 40'000;
  std::vector<Device> devices;                 // by peer
  std::vector<paths::PathSelector> selectors;   // by peer
  std::vector<char> relay_bound;               // by peer
};

std::string endpoint(const std::string& ip, uint16_t port) { return ip + ":" + std::to_string(port); }
std::string proxy(size_t peer) { return endpoint("127.0.0.1", static_cast<uint16_t>(20'000 + peer)); }

class PathSim {
 public:
  explicit PathSim(const PathSimOptions& o) : o_(o), rng_(o.seed) {
    size_t n = std::max<size_t>(o.nodes, 2);
    m_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      Machine& m = m_[i];
      // Machine 0 is public (the seed, and the relay); the others a third each.
      m.nat = i == 0 ? NatType::none : static_cast<NatType>(rng_.below(3));
      uint32_t a = static_cast<uint32_t>(i >> 8) & 0xff, b = static_cast<uint32_t>(i) & 0xff;
      m.public_ip = Ipv4{(198u << 24) | (18u << 16) | (a << 8) | b}.to_string();
      m.lan = Ipv4Net{Ipv4{(10u << 24) | (a << 16) | (b << 8)}, 24};
      m.private_ip = Ipv4{m.lan.base.value | 2}.to_string();
      m.started = rng_.below(5'000);
      m.devices.resize(n);
      m.selectors.resize(n);
      if (o.broken_relay_trigger)
        for (auto& s : m.selectors) s.set_broken_relay_trigger_for_tests(true);
      m.relay_bound.assign(n, 0);
      // Public and endpoint-independent: one external endpoint (the WireGuard port, preserved).
      if (m.nat != NatType::symmetric) owners_[endpoint(m.public_ip, kWireguardPort)] = {i, ""};
      report_.nats.push_back(m.nat);
    }
  }

  PathSimReport run() {
    size_t n = m_.size();
    auto expected_direct = [&](size_t x, size_t y) {
      NatType a = m_[x].nat, b = m_[y].nat;
      return a == NatType::none || b == NatType::none ||
             (a == NatType::endpoint_independent && b == NatType::endpoint_independent);
    };
    std::vector<std::vector<uint64_t>> settled(n, std::vector<uint64_t>(n, 0));
    uint64_t end = o_.limit_ms + o_.hold_ms;
    for (now_ = 0; now_ <= end && report_.ok; now_ += kTickMs) {
      for (size_t x = 0; x < n; ++x)
        if (now_ >= m_[x].started)
          for (size_t y = 0; y < n; ++y)
            if (y != x) select(x, y);
      for (size_t x = 0; x < n; ++x)
        if (now_ >= m_[x].started)
          for (size_t y = 0; y < n; ++y)
            if (y != x) device_tick(x, y);
      for (size_t x = 0; x < n; ++x)
        for (size_t y = x + 1; y < n; ++y) {
          bool direct = expected_direct(x, y);
          bool holds = holds_path(x, y, direct) && holds_path(y, x, direct);
          if (holds && !settled[x][y]) settled[x][y] = now_;
          // Once found, a direct path stays direct (rekeys included).
          if (settled[x][y] && direct && !holds && now_ > o_.limit_ms)
            fail(x, y, "lost its direct path at t=" + std::to_string(now_ / 1000) + " s");
          if (now_ == o_.limit_ms && !settled[x][y])
            fail(x, y, std::string("no ") + (direct ? "direct" : "relayed") + " path within " +
                           std::to_string(o_.limit_ms / 1000) + " s");
          if (now_ + kTickMs > end && !holds) fail(x, y, std::string("not ") + (direct ? "direct" : "relayed") + " at the end");
        }
    }
    std::vector<double> times;
    for (size_t x = 0; x < n; ++x)
      for (size_t y = x + 1; y < n; ++y) {
        ++report_.pairs;
        (expected_direct(x, y) ? report_.direct : report_.relayed)++;
        if (settled[x][y]) times.push_back((settled[x][y] - std::max(m_[x].started, m_[y].started)) / 1000.0);
      }
    std::sort(times.begin(), times.end());
    auto pct = [&](double p) {
      return times.empty() ? -1.0 : times[std::min(times.size() - 1, static_cast<size_t>(std::ceil(p * times.size())) - 1)];
    };
    report_.settle_p50_s = pct(0.5);
    report_.settle_p99_s = pct(0.99);
    report_.settle_max_s = times.empty() ? -1 : times.back();
    report_.trace_hash = trace_;
    return report_;
  }

 private:
  void fail(size_t x, size_t y, const std::string& what) {
    if (!report_.ok) return;
    report_.ok = false;
    Device& a = m_[x].devices[y];
    Device& b = m_[y].devices[x];
    report_.violation = "seed " + std::to_string(o_.seed) + ": machines " + std::to_string(x) + " (" + nat_name(m_[x].nat) +
                        ") and " + std::to_string(y) + " (" + nat_name(m_[y].nat) + ") " + what + "; ends: " +
                        paths::path_name(m_[x].selectors[y].kind()) + " at " + a.endpoint + ", " +
                        paths::path_name(m_[y].selectors[x].kind()) + " at " + b.endpoint;
  }

  bool session(const Device& d) const { return d.last_handshake && now_ < d.last_handshake + kRejectAfterMs; }

  bool holds_path(size_t x, size_t y, bool direct) const {
    const Device& d = m_[x].devices[y];
    auto kind = m_[x].selectors[y].kind();
    if (!session(d)) return false;
    return direct ? kind == paths::PathKind::direct && d.endpoint != proxy(y)
                  : kind == paths::PathKind::relay && d.endpoint == proxy(y);
  }

  // What machine x knows of y's endpoints, ranked as the agent ranks them.
  std::vector<std::string> candidates(size_t x, size_t y) const {
    const Machine& p = m_[y];
    std::vector<crdt::Endpoint> published, observed;
    if (p.nat != NatType::none) published.push_back({p.private_ip, kWireguardPort});
    published.push_back({p.public_ip, kWireguardPort});
    // Machine 0 reports where y's packets came from.
    const std::string& seen = m_[0].devices[y].endpoint;
    if (y != 0 && !seen.empty() && seen != proxy(y)) {
      auto colon = seen.rfind(':');
      observed.push_back({seen.substr(0, colon), static_cast<uint16_t>(std::stoi(seen.substr(colon + 1)))});
    }
    std::vector<std::string> out;
    for (const auto& e : paths::rank_candidates(published, observed, {m_[x].lan})) out.push_back(endpoint(e.ip, e.port));
    return out;
  }

  void select(size_t x, size_t y) {
    Machine& m = m_[x];
    Device& d = m.devices[y];
    paths::PathSelector& selector = m.selectors[y];
    paths::PathInputs in;
    in.now = now_;
    in.epoch = std::max(m.started, m_[y].started);
    in.candidates = candidates(x, y);
    in.device_endpoint = d.endpoint;
    in.last_handshake_ms = d.last_handshake;
    in.rx_bytes = d.rx;
    // The selector says when a relay is bound; it carries packets once both ends have bound it.
    if (selector.wants_relay(now_)) m.relay_bound[y] = 1;
    if (m.relay_bound[y] && m_[y].relay_bound[x]) in.relay = proxy(y);
    auto choice = selector.step(in);
    if (!choice.endpoint.empty()) d.endpoint = choice.endpoint;
    d.keepalive = choice.keepalive;
    if (choice.restart) {
      d.last_handshake = 0;
      d.rx = 0;
      d.next_initiation = now_;
    }
    if (choice.kick || choice.restart) d.next_keepalive = now_;
  }

  void device_tick(size_t x, size_t y) {
    Device& d = m_[x].devices[y];
    if (d.endpoint.empty() || !d.keepalive || now_ < d.next_keepalive) return;
    d.next_keepalive = now_ + d.keepalive * 1000ull;
    bool renew = !session(d) || now_ >= d.last_handshake + kRekeyAfterMs;
    if (renew && now_ >= d.next_initiation) {
      d.next_initiation = now_ + kRekeyTimeoutMs;
      send(x, y, Packet::initiation);
    } else if (session(d)) {
      send(x, y, Packet::keepalive);
    }
  }

  // The source address x's packets to `to` carry outside its NAT.
  std::string external(size_t x, const std::string& to) {
    Machine& m = m_[x];
    if (m.nat != NatType::symmetric) return endpoint(m.public_ip, kWireguardPort);
    auto [it, fresh] = m.mapping.try_emplace(to);
    if (fresh) {
      it->second = endpoint(m.public_ip, m.next_port++);
      owners_[it->second] = {x, to};
    }
    return it->second;
  }

  // x's device for peer y sends a packet to its endpoint.
  void send(size_t x, size_t y, Packet type) {
    ++report_.packets;
    const std::string to = m_[x].devices[y].endpoint;
    size_t r;
    std::string from;
    if (to == proxy(y)) {
      if (!m_[x].relay_bound[y] || !m_[y].relay_bound[x]) return drop();
      r = y;
      from = proxy(x);  // it reaches y's device from y's local end of the relay
    } else {
      from = external(x, to);
      if (m_[x].nat != NatType::none) m_[x].sent_to.insert(to);
      auto owner = owners_.find(to);
      if (owner == owners_.end()) return drop();  // a private address elsewhere, or nobody's
      r = owner->second.first;
      // WireGuard answers only the peer whose key the packet is for.
      if (r != y || now_ < m_[r].started) return drop();
      const Machine& dest = m_[r];
      if (dest.nat == NatType::endpoint_independent && !dest.sent_to.count(from)) return drop();
      if (dest.nat == NatType::symmetric && owner->second.second != from) return drop();
    }
    trace_ = (trace_ ^ (now_ * 1315423911u + x * 2654435761u + r * 97 + static_cast<unsigned>(type))) * 0x100000001b3ull;
    Device& in = m_[r].devices[x];
    in.rx += type == Packet::initiation ? 148 : type == Packet::response ? 92 : 32;
    in.endpoint = from;  // roaming: the device follows where authenticated packets come from
    if (type == Packet::initiation) {
      send(r, x, Packet::response);
    } else if (type == Packet::response) {
      in.last_handshake = now_;
      m_[x].devices[r].last_handshake = now_;  // the initiator's confirmation reaches it at once
    }
  }
  void drop() { ++report_.packets_dropped; }

  PathSimOptions o_;
  Rng rng_;
  std::vector<Machine> m_;
  std::map<std::string, std::pair<size_t, std::string>> owners_;  // external endpoint -> (machine, sole peer)
  uint64_t now_ = 0;
  uint64_t trace_ = 0xcbf29ce484222325ull;
  PathSimReport report_;
};

}  // namespace

PathSimReport run_paths(const PathSimOptions& options) { return PathSim(options).run(); }

}  // namespace weft::sim
