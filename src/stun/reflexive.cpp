#include "stun/reflexive.hpp"

#include <algorithm>
#include <limits>
#include <set>

namespace weft::stun {

const char* mapping_name(Mapping m) {
  switch (m) {
    case Mapping::unknown: return "unknown";
    case Mapping::endpoint_independent: return "endpoint-independent";
    case Mapping::address_dependent: return "address-dependent";
  }
  return "?";
}

namespace {

// Address without the port: the key of "a distinct server IP".
std::array<uint8_t, 16> ip_key(const Address& a) {
  std::array<uint8_t, 16> k = a.ip;
  if (!a.v6) std::fill(k.begin() + 4, k.end(), 0);
  k[15] ^= a.v6 ? 1 : 0;
  return k;
}

}  // namespace

ReflexiveProbe::ReflexiveProbe(Config config, uint64_t seed) : config_(config), rng_(seed | 1) {}

std::vector<ReflexiveProbe::Send> ReflexiveProbe::start(const std::vector<Address>& candidates, uint64_t now) {
  pending_.clear();
  answers_.clear();
  // Distinct IPs first (a classification needs two), in the given order.
  std::vector<Address> chosen;
  std::set<std::array<uint8_t, 16>> ips;
  for (const auto& c : candidates)
    if (chosen.size() < config_.servers && ips.insert(ip_key(c)).second) chosen.push_back(c);
  for (const auto& c : candidates)
    if (chosen.size() < config_.servers && std::find(chosen.begin(), chosen.end(), c) == chosen.end()) chosen.push_back(c);
  std::vector<Send> out;
  for (const auto& server : chosen) {
    Message req;
    req.transaction = {0x21, 0x12, 0xA4, 0x42};
    for (size_t i = 4; i < 16; ++i) {
      rng_ ^= rng_ << 13;  // xorshift64: ids only need to be unpredictable to a passive peer
      rng_ ^= rng_ >> 7;
      rng_ ^= rng_ << 17;
      req.transaction[i] = static_cast<uint8_t>(rng_ >> 24);
    }
    req.fingerprint = true;
    Transaction t{server, encode(req), 1, now + config_.rto_ms};
    out.push_back({server, t.request});
    pending_.emplace(req.transaction, std::move(t));
  }
  return out;
}

std::vector<ReflexiveProbe::Send> ReflexiveProbe::on_timer(uint64_t now) {
  std::vector<Send> out;
  for (auto it = pending_.begin(); it != pending_.end();) {
    Transaction& t = it->second;
    if (t.next_at > now) {
      ++it;
      continue;
    }
    if (t.sent >= config_.attempts) {
      it = pending_.erase(it);  // no answer from this server this round
      finish_if_done();
      continue;
    }
    out.push_back({t.server, t.request});
    t.next_at = now + (config_.rto_ms << t.sent);
    ++t.sent;
    ++it;
  }
  return out;
}

bool ReflexiveProbe::on_response(std::span<const uint8_t> bytes, const Address& from) {
  auto m = parse(bytes, nullptr);
  if (!m || (m->cls != Class::success && m->cls != Class::error)) return false;
  auto it = pending_.find(m->transaction);
  if (it == pending_.end() || it->second.server != from) return false;  // not ours, or spoofed
  pending_.erase(it);
  if (m->cls == Class::success) {
    auto mapped = m->xor_mapped ? m->xor_mapped : m->mapped;
    if (mapped) answers_[ip_key(from)] = *mapped;
  }
  finish_if_done();
  return true;
}

void ReflexiveProbe::finish_if_done() {
  if (pending_.empty()) result_ = answers_;
}

uint64_t ReflexiveProbe::next_wakeup() const {
  uint64_t t = std::numeric_limits<uint64_t>::max();
  for (const auto& [id, tx] : pending_) t = std::min(t, tx.next_at);
  return t;
}

std::optional<Address> ReflexiveProbe::reflexive() const {
  if (result_.empty()) return std::nullopt;
  // The most common answer (behind an address-dependent NAT each server sees another port).
  std::map<std::string, std::pair<int, Address>> votes;
  for (const auto& [ip, a] : result_) {
    auto& v = votes[a.to_string()];
    ++v.first;
    v.second = a;
  }
  auto best = std::max_element(votes.begin(), votes.end(), [](const auto& x, const auto& y) { return x.second.first < y.second.first; });
  return best->second.second;
}

Mapping ReflexiveProbe::mapping() const {
  if (result_.size() < 2) return Mapping::unknown;
  const Address& first = result_.begin()->second;
  for (const auto& [ip, a] : result_)
    if (a != first) return Mapping::address_dependent;
  return Mapping::endpoint_independent;
}

}  // namespace weft::stun
