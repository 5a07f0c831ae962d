// Which endpoint a WireGuard peer gets, per peer, pure.
//
// A round of direct attempts walks the peer's ranked candidates, one per 15 s slot, with a
// short keepalive so WireGuard sends (and punches) at once. The slots are counted from the
// pair's epoch, the later of the two machines' candidate records: both ends read the same
// records, so both move to their next candidate at the same moment, and two endpoint-
// independent NATs open for each other (each end's packets open its own NAT for the other's).
// A candidate works when a handshake completes after it was set, or packets arrive from a
// non-relay endpoint; then the path is direct, keepalive 25 s, and a roamed endpoint is adopted.
// Without a handshake for 275 s a direct path is down and a new round starts. When a round
// found nothing and a relay is available, the relay's local endpoint is used; direct is tried
// again when either side's candidates change, and every 10 minutes (slot-aligned on both ends).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft::paths {

enum class PathKind { none, trying, direct, relay };
const char* path_name(PathKind kind);

struct PathConfig {
  uint64_t slot_ms = 15'000;         // per candidate before rotating
  uint64_t down_ms = 275'000;        // no handshake for this long: the path is down
  uint64_t retry_direct_ms = 600'000;  // on a relay: another round of direct attempts
  uint16_t probe_keepalive = 1;      // seconds, while trying
  uint16_t keepalive = 25;           // seconds, once a path works
  uint64_t relay_after_ms = 10'000;  // a round of direct attempts runs this long before a relay is bound
};

struct PathInputs {
  uint64_t now = 0;    // wall-clock ms: the slot schedule is shared by both ends
  uint64_t epoch = 0;  // wall-clock ms when either end's own candidates last changed
  std::vector<std::string> candidates;  // the peer's, ranked ("IP:PORT")
  std::string device_endpoint;          // what the device holds ("" none)
  uint64_t last_handshake_ms = 0;       // wall-clock ms, 0 never
  uint64_t rx_bytes = 0;
  std::optional<std::string> relay;     // the local endpoint of a relay set up for this pair
};

struct PathChoice {
  std::string endpoint;  // "" leave the device's (none known)
  uint16_t keepalive = 25;
  PathKind kind = PathKind::none;
  std::string reason;
  // Send now: a new candidate is being tried. WireGuard sends nothing on an idle session until
  // its keepalive timer runs out; the caller makes it send at once (keepalive off, then on).
  bool kick = false;
  // With no session to send on (none, or older than WireGuard's 180 s), a kick would only queue
  // a handshake behind WireGuard's 5 s between initiations (the last went to the previous
  // candidate): the caller restarts the peer instead, which initiates at once.
  bool restart = false;
};

class PathSelector {
 public:
  explicit PathSelector(PathConfig config = {}) : config_(config) {}
  PathChoice step(const PathInputs& in);
  PathKind kind() const { return kind_; }
  uint64_t round_started() const { return round_started_; }  // when the current round of direct attempts began
  // Whether this pair should have a relay bound now: not while direct works, and during a round
  // of direct attempts only once it has run relay_after_ms (bound, and so ready, by the time the
  // round ends; not for every new peer). The agent and weft-sim both ask this.
  bool wants_relay(uint64_t now) const;
  // Test-only: a broken relay trigger (never asks for one) that weft-sim's invariants must catch.
  void set_broken_relay_trigger_for_tests(bool broken) { broken_relay_trigger_ = broken; }

 private:
  void start_round(const PathInputs& in, const std::string& why);
  bool choose(const std::string& endpoint, const PathInputs& in);  // true when it changed
  uint64_t slot(const PathInputs& in) const { return in.now > in.epoch ? (in.now - in.epoch) / config_.slot_ms : 0; }
  uint64_t retry_round(const PathInputs& in) const {
    return in.now > in.epoch ? (in.now - in.epoch) / config_.retry_direct_ms : 0;
  }
  bool reached_since(const PathInputs& in, uint64_t since) const;

  PathConfig config_;
  bool broken_relay_trigger_ = false;
  PathKind kind_ = PathKind::none;
  std::string endpoint_;
  uint64_t chosen_at_ = 0, rx_at_choice_ = 0;
  uint64_t relay_roam_at_ = 0;  // this round: when the device was last seen on the relay
  bool device_took_round_ = false;  // the device was seen holding a candidate of this round
  uint64_t epoch_ = 0;
  bool started_ = false;
  uint64_t first_slot_ = 0;  // the slot this round began in
  uint64_t round_started_ = 0;
  uint64_t relay_round_ = 0;
  std::string reason_;
  std::string round_why_;  // why this round of direct attempts began
};

}  // namespace weft::paths
