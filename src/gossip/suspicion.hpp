// Lifeguard's dogpile suspicion timeout: starts at `max` and shrinks towards `min` as
// independent members confirm the suspicion, reaching `min` at k confirmations:
//   timeout = max(min, max - (max - min) * ln(c + 1) / ln(k + 1))
// Defaults follow memberlist: min = suspicion_mult * max(1, log10(n)) * probe_interval,
// max = suspicion_max_timeout_mult * min, k = suspicion_mult - 2 (0 when n - 2 < k).
#pragma once

#include <cstdint>
#include <optional>
#include <set>

#include "gossip/messages.hpp"

namespace weft::gossip {

class Suspicion {
 public:
  Suspicion(uint64_t start_ms, uint64_t min_ms, uint64_t max_ms, unsigned k, const MemberId& from)
      : start_ms_(start_ms), min_ms_(min_ms), max_ms_(max_ms), k_(k) {
    confirmers_.insert(from);
  }

  // A confirmation from a member not heard before shortens the timeout; returns whether it was new.
  bool confirm(const MemberId& from) {
    if (confirmers_.size() > k_ || !confirmers_.insert(from).second) return false;
    return true;
  }

  uint64_t deadline() const;
  unsigned confirmations() const { return static_cast<unsigned>(confirmers_.size() - 1); }

  // When the timeout runs out, one last probe (direct and indirect at once) decides: a member
  // that missed the refutation's burst of gossip must not call a live member dead.
  void start_check(uint32_t seq, uint64_t deadline_ms) {
    check_seq_ = seq;
    check_deadline_ms_ = deadline_ms;
  }
  const std::optional<uint32_t>& check_seq() const { return check_seq_; }
  // The last probe was answered: the suspicion starts over, unconfirmed.
  void restart(uint64_t now_ms, const MemberId& by) {
    start_ms_ = now_ms;
    check_seq_.reset();
    confirmers_ = {by};
  }
  // When the owner must act next: the timeout, or the last probe's deadline.
  uint64_t wakeup() const { return check_seq_ ? check_deadline_ms_ : deadline(); }

 private:
  uint64_t start_ms_, min_ms_, max_ms_;
  std::optional<uint32_t> check_seq_;
  uint64_t check_deadline_ms_ = 0;
  unsigned k_;
  std::set<MemberId> confirmers_;  // the first suspecter plus independent confirmations
};

}  // namespace weft::gossip
