#include "paths/relay.hpp"

#include <algorithm>

namespace weft::paths {

std::optional<RelayFrame> decode_relay_frame(std::span<const uint8_t> bytes) {
  if (bytes.size() <= kRelayHeader || bytes[0] != kRelayDataType) return std::nullopt;
  uint64_t channel = 0;
  for (size_t i = 1; i < kRelayHeader; ++i) channel = channel << 8 | bytes[i];
  return RelayFrame{channel, bytes.subspan(kRelayHeader)};
}

void encode_relay_header(uint8_t* out, uint64_t channel) {
  out[0] = kRelayDataType;
  for (size_t i = kRelayHeader - 1; i >= 1; --i) {
    out[i] = static_cast<uint8_t>(channel);
    channel >>= 8;
  }
}

std::optional<crdt::OwnerId> pick_relay(const crdt::OwnerId& a, const crdt::OwnerId& b,
                                        const std::vector<crdt::OwnerId>& capable) {
  auto [lo, hi] = std::minmax(a, b);
  std::optional<crdt::OwnerId> best;
  uint64_t best_score = 0;
  for (const auto& r : capable) {
    if (r == a || r == b) continue;
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over lo, hi, r: the same on every machine
    for (const auto* id : {&lo, &hi, &r})
      for (uint8_t byte : *id) h = (h ^ byte) * 0x100000001b3ULL;
    h ^= h >> 29;  // FNV's low bits mix poorly: fold
    if (!best || h > best_score || (h == best_score && r < *best)) {
      best = r;
      best_score = h;
    }
  }
  return best;
}

bool RelayTable::Bucket::take(uint64_t now) {
  if (now > at) {
    // Refill; at most a tenth of a second's worth banked (bursts stay short).
    tokens = std::min(tokens + static_cast<double>(now - at) * static_cast<double>(per_s) / 1000.0,
                      std::max(1.0, static_cast<double>(per_s) / 10.0));
    at = now;
  }
  if (tokens < 1.0) return false;
  tokens -= 1.0;
  return true;
}

RelayTable::RelayTable(Config config, uint64_t seed) : config_(config), rng_(seed | 1) {
  total_.per_s = config_.total_pps;
  total_.tokens = static_cast<double>(config_.total_pps) / 10.0;
}

std::optional<RelayTable::Bound> RelayTable::bind(const crdt::OwnerId& member, const crdt::OwnerId& peer,
                                                  const Address& from, uint64_t now) {
  if (member == peer) {
    ++counters_.refused_binds;
    return std::nullopt;
  }
  auto key = std::minmax(member, peer);
  auto it = channel_of_.find({key.first, key.second});
  if (it == channel_of_.end()) {
    if (pairs_.size() >= config_.max_pairs) {
      ++counters_.refused_binds;
      ++counters_.refused_full;
      return std::nullopt;
    }
    size_t& opened = opened_[member];
    if (opened >= config_.max_pairs_per_member) {
      ++counters_.refused_binds;
      ++counters_.refused_quota;
      return std::nullopt;
    }
    ++opened;
    uint64_t channel;
    do {  // xorshift64*: channels are not secrets (sources are checked), only distinct
      rng_ ^= rng_ >> 12;
      rng_ ^= rng_ << 25;
      rng_ ^= rng_ >> 27;
      channel = rng_ * 0x2545F4914F6CDD1DULL;
    } while (channel == 0 || pairs_.contains(channel));
    Pair p;
    p.lo.member = key.first;
    p.hi.member = key.second;
    p.bucket.per_s = config_.pair_pps;
    p.bucket.tokens = static_cast<double>(config_.pair_pps) / 10.0;
    p.bucket.at = now;
    p.opener = member;
    pairs_.emplace(channel, p);
    it = channel_of_.emplace(std::make_pair(key.first, key.second), channel).first;
  }
  Pair& p = pairs_.at(it->second);
  End& end = member == p.lo.member ? p.lo : p.hi;
  end.address = from;
  end.seen = now;
  end.bound = true;
  ++counters_.binds;
  const End& other = member == p.lo.member ? p.hi : p.lo;
  return Bound{it->second, other.bound};
}

std::optional<Address> RelayTable::forward(uint64_t channel, const Address& from, uint64_t now) {
  auto it = pairs_.find(channel);
  if (it == pairs_.end()) {
    ++counters_.unknown_channel;
    return std::nullopt;
  }
  Pair& p = it->second;
  const End* to = nullptr;
  if (p.lo.bound && p.lo.address == from) to = &p.hi;
  else if (p.hi.bound && p.hi.address == from) to = &p.lo;
  if (!to) {
    ++counters_.wrong_source;
    return std::nullopt;
  }
  if (!to->bound) {
    ++counters_.peer_unbound;
    return std::nullopt;
  }
  if (!p.bucket.take(now) || !total_.take(now)) {
    ++counters_.rate_limited;
    return std::nullopt;
  }
  ++counters_.forwarded;
  return to->address;
}

void RelayTable::expire(uint64_t now) {
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    Pair& p = it->second;
    for (End* e : {&p.lo, &p.hi})
      if (e->bound && now > e->seen + config_.ttl_ms) {
        e->bound = false;
        ++counters_.expired;
      }
    if (!p.lo.bound && !p.hi.bound) {
      channel_of_.erase({p.lo.member, p.hi.member});
      if (auto o = opened_.find(p.opener); o != opened_.end() && --o->second == 0) opened_.erase(o);
      it = pairs_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace weft::paths
