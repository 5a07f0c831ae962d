#include "access/plan.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <set>

namespace weft::access {

std::optional<uint64_t> parse_ttl(std::string_view text, std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<uint64_t> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (text.empty()) return fail("empty TTL");
  uint64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc{} || end == text.data() + i) return fail("TTL " + std::string(text) + ": expected a number");
    i = static_cast<size_t>(end - text.data());
    if (i >= text.size()) return fail("TTL " + std::string(text) + ": a unit (s, m, h, d) must follow " + std::to_string(n));
    uint64_t unit = 0;
    switch (text[i]) {
      case 's': unit = 1000; break;
      case 'm': unit = 60'000; break;
      case 'h': unit = 3'600'000; break;
      case 'd': unit = 86'400'000; break;
      default: return fail("TTL " + std::string(text) + ": unknown unit '" + std::string(1, text[i]) + "' (s, m, h, d)");
    }
    ++i;
    if (n > kMaxTtlMs / unit) return fail("TTL " + std::string(text) + " is longer than 30 days");
    total += n * unit;
    if (total > kMaxTtlMs) return fail("TTL " + std::string(text) + " is longer than 30 days");
  }
  if (total == 0) return fail("TTL " + std::string(text) + " is zero");
  return total;
}

std::string check_access_range(const Ipv4Net& range, const Ipv4Net& cluster, const std::vector<Ipv4Net>& routes) {
  if (range.prefix != cluster.prefix)
    return "access range " + range.to_string() + " must be the size of the cluster network " + cluster.to_string() +
           " (machine N serves the N-th /24 of both)";
  if (range.contains(cluster.base) || cluster.contains(range.base))
    return "access range " + range.to_string() + " overlaps the cluster network " + cluster.to_string();
  for (const auto& r : routes) {
    if (r.prefix == 0) continue;  // the default route overlaps everything
    if (range.contains(r.base) || r.contains(range.base))
      return "access range " + range.to_string() + " overlaps the local route " + r.to_string();
  }
  return "";
}

std::vector<AccessSession> sessions_of(const crdt::ClusterState& state, const crdt::OwnerId& owner) {
  std::vector<AccessSession> out;
  state.for_each_of_kind(crdt::Kind::access_session, [&](const crdt::Record& r) {
    if (r.tombstone || r.key.owner != owner) return;
    if (auto v = crdt::decode_access_session(r.value)) out.push_back(AccessSession{r.key.name, *v});
  });
  return out;
}

std::optional<Ipv4> allocate_access_address(const Ipv4Net& block, const std::vector<AccessSession>& sessions, uint64_t now) {
  std::set<uint32_t> used;
  for (const auto& s : sessions) {
    if (s.value.expires_ms <= now) continue;
    std::string text = s.value.address.substr(0, s.value.address.find('/'));
    if (auto ip = Ipv4::parse(text)) used.insert(ip->value);
  }
  for (uint32_t host = 2; host <= 254; ++host)
    if (!used.contains(block.base.value + host)) return Ipv4{block.base.value + host};
  return std::nullopt;
}

std::optional<uint64_t> next_expiry(const std::vector<AccessSession>& sessions, uint64_t now) {
  std::optional<uint64_t> next;
  for (const auto& s : sessions)
    if (s.value.expires_ms > now && (!next || s.value.expires_ms < *next)) next = s.value.expires_ms;
  return next;
}

std::string check_target(std::string_view text, const Ipv4Net& access_range) {
  std::string t(text);
  if (crdt::valid_service_name(t)) return "";
  auto colon = t.find(':');
  auto ip = Ipv4::parse(t.substr(0, colon));
  if (!ip) return "target " + t + " is neither a service name nor IPv4[:PORT]";
  if (colon != std::string::npos) {
    std::string_view port = std::string_view(t).substr(colon + 1);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc{} || end != port.data() + port.size() || n == 0 || n > 65535)
      return "target " + t + ": the port must be 1-65535";
  }
  if (access_range.contains(*ip)) return "target " + t + " is in the access range: a session never reaches another";
  return "";
}

std::vector<AccessTarget> resolve_targets(const crdt::ClusterState& state, const std::vector<std::string>& targets,
                                          const Ipv4Net& own_subnet) {
  std::set<AccessTarget> out;
  if (targets.empty()) out.insert(AccessTarget{own_subnet, "", 0});
  std::set<std::string> services;
  for (const auto& t : targets) {
    if (crdt::valid_service_name(t)) {
      services.insert(t);
      continue;
    }
    auto colon = t.find(':');
    auto ip = Ipv4::parse(t.substr(0, colon));
    if (!ip) continue;
    uint16_t port = 0;
    if (colon != std::string::npos) {
      unsigned n = 0;
      std::from_chars(t.data() + colon + 1, t.data() + t.size(), n);
      port = static_cast<uint16_t>(n);
    }
    out.insert(AccessTarget{Ipv4Net{*ip, 32}, "", port});
  }
  if (!services.empty())
    state.for_each_of_kind(crdt::Kind::service_instance, [&](const crdt::Record& r) {
      if (r.tombstone) return;
      auto v = crdt::decode_service_instance(r.value);
      if (!v || !services.contains(v->service)) return;
      auto ip = Ipv4::parse(v->address);
      if (ip) out.insert(AccessTarget{Ipv4Net{*ip, 32}, v->port ? v->protocol : "", v->port});
    });
  return {out.begin(), out.end()};
}

std::vector<std::string> client_allowed_ips(const std::vector<AccessTarget>& targets) {
  std::set<Ipv4Net> nets;
  for (const auto& t : targets) nets.insert(t.destination);
  std::vector<std::string> out;
  for (const auto& n : nets) out.push_back(n.to_string());
  return out;
}

std::vector<AccessSession> live_sessions(const std::vector<AccessSession>& sessions, uint64_t now) {
  std::vector<AccessSession> out;
  for (const auto& s : sessions)
    if (s.value.expires_ms > now) out.push_back(s);
  return out;
}

PeerSet session_peers(const std::vector<AccessSession>& live) {
  PeerSet peers;
  for (const auto& s : live) {
    wg::WantedPeer p;
    p.name = "access " + s.id;
    p.access = true;
    p.keepalive = wg::kDefaultKeepalive;
    std::string address = s.value.address;
    if (address.find('/') == std::string::npos) address += "/32";
    p.allowed_ips = {address};
    peers.emplace(s.value.client_key, p);
  }
  return peers;
}

std::vector<FirewallRule> access_rules(const crdt::ClusterState& state, const std::vector<AccessSession>& live,
                                       const Ipv4Net& own_subnet) {
  std::vector<FirewallRule> rules;
  auto add = [&](std::vector<std::string> match) { rules.push_back(FirewallRule{"filter", kAccessChain, std::move(match)}); };
  add({"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"});
  for (const auto& s : live) {
    std::string source = s.value.address;
    if (source.find('/') == std::string::npos) source += "/32";
    for (const auto& t : resolve_targets(state, s.value.targets, own_subnet)) {
      std::vector<std::string> base{"-s", source, "-d", t.destination.to_string()};
      if (!t.port) {
        base.insert(base.end(), {"-j", "ACCEPT"});
        add(base);
        continue;
      }
      for (const char* proto : {"tcp", "udp"}) {
        if (!t.protocol.empty() && t.protocol != proto) continue;
        auto m = base;
        m.insert(m.end(), {"-p", proto, "--dport", std::to_string(t.port), "-j", "ACCEPT"});
        add(m);
      }
    }
  }
  add({"-j", "DROP"});
  return rules;
}

std::string render_wg_quick(const ClientConfig& c) {
  std::string out;
  std::time_t t = static_cast<std::time_t>(c.expires_ms / 1000);
  char when[32] = "?";
  if (std::tm tm{}; gmtime_r(&t, &tm)) std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  out += "# weft access session" + (c.label.empty() ? std::string() : " \"" + c.label + "\"") + ", valid until " + when + "\n";
  out += "[Interface]\n";
  out += "PrivateKey = " + (c.private_key.empty() ? std::string("<your private key>") : c.private_key) + "\n";
  out += "Address = " + c.address + "\n\n";
  out += "[Peer]\n";
  out += "PublicKey = " + c.server_key + "\n";
  out += "Endpoint = " + c.endpoint + "\n";
  std::string allowed;
  for (const auto& a : c.allowed_ips) allowed += (allowed.empty() ? "" : ", ") + a;
  out += "AllowedIPs = " + allowed + "\n";
  out += "PersistentKeepalive = 25\n";
  return out;
}

}  // namespace weft::access
