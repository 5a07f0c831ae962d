// Hybrid logical clock: 48-bit wall milliseconds + 16-bit counter in one uint64_t, so a
// timestamp compares as an integer and fits a Cap'n Proto UInt64.
//
// The clock is pure: callers pass the wall time in. Two guarantees:
//  - monotonic: every now() is greater than every timestamp issued or observed before, also
//    across restarts when the caller seeds it with the last persisted value;
//  - bounded drift: a remote timestamp more than max_drift_ms ahead of our wall clock is
//    refused (observe() returns false) instead of dragging our clock into the future. With the
//    default of 60 s, a machine whose clock runs up to 60 s fast is merged normally; one further
//    ahead has its records held back (counted) until our wall clock catches up. A machine whose
//    clock runs slow is harmless: observing others' timestamps pulls its HLC forward.
#pragma once

#include <compare>
#include <cstdint>

namespace weft::crdt {

struct Hlc {
  uint64_t raw = 0;

  static constexpr uint64_t kMaxMillis = (uint64_t{1} << 48) - 1;
  static constexpr Hlc make(uint64_t millis, uint16_t counter) {
    return Hlc{(millis & kMaxMillis) << 16 | counter};
  }
  constexpr uint64_t millis() const { return raw >> 16; }
  constexpr uint16_t counter() const { return static_cast<uint16_t>(raw & 0xffff); }
  auto operator<=>(const Hlc&) const = default;
};

class HlcClock {
 public:
  static constexpr uint64_t kDefaultMaxDriftMs = 60'000;

  explicit HlcClock(uint64_t max_drift_ms = kDefaultMaxDriftMs, Hlc start = {})
      : max_drift_ms_(max_drift_ms), last_(start) {}

  // A timestamp for a local event: greater than anything seen so far.
  Hlc now(uint64_t wall_ms);
  // Folds a remote timestamp in. False when it is too far ahead of wall_ms (clock untouched).
  bool observe(Hlc remote, uint64_t wall_ms);
  // True when `remote` would be refused by observe().
  bool too_far_ahead(Hlc remote, uint64_t wall_ms) const {
    return remote.millis() > wall_ms + max_drift_ms_;
  }

  Hlc last() const { return last_; }
  uint64_t max_drift_ms() const { return max_drift_ms_; }

 private:
  uint64_t max_drift_ms_;
  Hlc last_;
};

}  // namespace weft::crdt
