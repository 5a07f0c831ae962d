#include "gossip/suspicion.hpp"

#include <cmath>

namespace weft::gossip {

uint64_t Suspicion::deadline() const {
  if (k_ == 0) return start_ms_ + min_ms_;
  double c = confirmations();
  double frac = std::log(c + 1.0) / std::log(k_ + 1.0);
  double timeout = static_cast<double>(max_ms_) - frac * static_cast<double>(max_ms_ - min_ms_);
  uint64_t t = timeout < static_cast<double>(min_ms_) ? min_ms_ : static_cast<uint64_t>(timeout);
  return start_ms_ + t;
}

}  // namespace weft::gossip
