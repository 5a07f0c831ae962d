#include "stun/rate_limit.hpp"

#include <algorithm>

namespace weft::stun {

size_t SourceRateLimit::KeyHash::operator()(const Key& k) const {
  uint64_t h = 0xcbf29ce484222325ull ^ (k.v6 ? 1u : 0u);
  for (uint8_t b : k.ip) h = (h ^ b) * 0x100000001b3ull;
  return static_cast<size_t>(h);
}

void SourceRateLimit::sweep(uint64_t now_ms) {
  std::erase_if(buckets_, [&](const auto& entry) {
    const Bucket& b = entry.second;
    double elapsed_ms = static_cast<double>(now_ms - std::min(now_ms, b.at));
    return b.tokens + elapsed_ms * static_cast<double>(config_.per_s) / 1000.0 >= static_cast<double>(config_.burst);
  });
}

bool SourceRateLimit::allow(const Address& from, uint64_t now_ms) {
  Key key{from.ip, from.v6};
  if (!from.v6) std::fill(key.ip.begin() + 4, key.ip.end(), 0);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= config_.max_sources) sweep(now_ms);
    if (buckets_.size() >= config_.max_sources) return false;
    it = buckets_.emplace(key, Bucket{static_cast<double>(config_.burst), now_ms}).first;
  }
  Bucket& b = it->second;
  if (now_ms > b.at) {
    b.tokens = std::min(static_cast<double>(config_.burst),
                        b.tokens + static_cast<double>(now_ms - b.at) * static_cast<double>(config_.per_s) / 1000.0);
    b.at = now_ms;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace weft::stun
