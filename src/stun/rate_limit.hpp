// How often one source address gets an answer (STUN Binding responses on the control port):
// a token bucket per source IP (ports do not count: one host, one budget), in a table of
// bounded size. Pure: time comes in as `now`.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>

#include "stun/message.hpp"

namespace weft::stun {

class SourceRateLimit {
 public:
  struct Config {
    uint64_t per_s = 20;       // sustained answers per second per source
    uint64_t burst = 40;       // answers a quiet source may get at once
    size_t max_sources = 4096; // sources tracked at once
  };
  explicit SourceRateLimit(Config config) : config_(config) {}
  // Whether `from` may have an answer now (and takes one token when it may). A source the full
  // table has no room for is refused until idle sources age out.
  bool allow(const Address& from, uint64_t now_ms);
  size_t sources() const { return buckets_.size(); }

 private:
  struct Key {
    std::array<uint8_t, 16> ip{};
    bool v6 = false;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Bucket {
    double tokens = 0;
    uint64_t at = 0;
  };
  void sweep(uint64_t now_ms);  // drops sources whose bucket has refilled (idle long enough)

  Config config_;
  std::unordered_map<Key, Bucket, KeyHash> buckets_;
};

}  // namespace weft::stun
