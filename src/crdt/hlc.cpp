#include "crdt/hlc.hpp"

namespace weft::crdt {

// The next timestamp after `floor` at physical time `wall`: the counter only grows while the
// physical part stands still; a full counter borrows the next millisecond.
static Hlc next_after(Hlc floor, uint64_t wall_ms) {
  if (wall_ms > floor.millis()) return Hlc::make(wall_ms, 0);
  if (floor.counter() == 0xffff) return Hlc::make(floor.millis() + 1, 0);
  return Hlc{floor.raw + 1};
}

Hlc HlcClock::now(uint64_t wall_ms) {
  last_ = next_after(last_, wall_ms);
  return last_;
}

bool HlcClock::observe(Hlc remote, uint64_t wall_ms) {
  if (too_far_ahead(remote, wall_ms)) return false;
  if (remote > last_) last_ = remote;
  return true;
}

}  // namespace weft::crdt
