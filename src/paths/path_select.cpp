#include "paths/path_select.hpp"

#include <algorithm>

namespace weft::paths {

const char* path_name(PathKind kind) {
  switch (kind) {
    case PathKind::none: return "none";
    case PathKind::trying: return "trying";
    case PathKind::direct: return "direct";
    case PathKind::relay: return "relay";
  }
  return "?";
}

void PathSelector::start_round(const PathInputs& in, const std::string& why) {
  kind_ = PathKind::trying;
  relay_roam_at_ = 0;
  device_took_round_ = false;
  first_slot_ = slot(in);
  round_started_ = in.now;
  endpoint_.clear();
  chosen_at_ = 0;
  round_why_ = why;
  reason_ = why;
}

bool PathSelector::choose(const std::string& endpoint, const PathInputs& in) {
  if (endpoint == endpoint_) return false;
  endpoint_ = endpoint;
  chosen_at_ = in.now;
  rx_at_choice_ = in.rx_bytes;
  return true;
}

// Since `since`, the peer completed a handshake with us, or its packets arrived from somewhere
// other than the relay (WireGuard then holds that source as the endpoint).
bool PathSelector::reached_since(const PathInputs& in, uint64_t since) const {
  bool via_relay = in.relay && in.device_endpoint == *in.relay;
  if (via_relay || in.device_endpoint.empty()) return false;
  // Nothing from before the peer last reached us over the relay counts (see step()).
  if (relay_roam_at_) since = std::max(since, relay_roam_at_ + 1'001);
  // Handshake times have a resolution of seconds on some backends: a second's slack.
  if (in.last_handshake_ms && in.last_handshake_ms + 1'000 >= since) return true;
  return in.rx_bytes > rx_at_choice_;
}

bool PathSelector::wants_relay(uint64_t now) const {
  if (broken_relay_trigger_) return false;
  return kind_ != PathKind::direct && (kind_ != PathKind::trying || now >= round_started_ + config_.relay_after_ms);
}

PathChoice PathSelector::step(const PathInputs& in) {
  bool kick = false;
  bool fresh = in.last_handshake_ms && in.now <= in.last_handshake_ms + config_.down_ms;
  if (!started_ || in.epoch != epoch_) {
    bool keep = started_ && kind_ == PathKind::direct && fresh;
    epoch_ = in.epoch;
    started_ = true;
    if (!keep) start_round(in, kind_ == PathKind::relay ? "candidates changed: trying direct again" : "new peer or candidates");
  }

  switch (kind_) {
    case PathKind::direct:
      if (!fresh) {
        start_round(in, "no handshake for " + std::to_string(config_.down_ms / 1000) + " s");
        break;
      }
      if (!in.device_endpoint.empty() && in.device_endpoint != endpoint_ && !(in.relay && in.device_endpoint == *in.relay)) {
        endpoint_ = in.device_endpoint;  // WireGuard roamed: the peer now sends from there
        reason_ = "roamed to " + endpoint_;
      }
      break;
    case PathKind::relay:
      if (!in.relay) {
        start_round(in, "the relay went away");
        break;
      }
      if (retry_round(in) != relay_round_) {
        start_round(in, "periodic retry of the direct path");
        break;
      }
      if (in.device_endpoint != *in.relay && !in.device_endpoint.empty() && in.rx_bytes > rx_at_choice_ && fresh) {
        kind_ = PathKind::direct;  // the peer reached us directly: follow it off the relay
        endpoint_ = in.device_endpoint;
        reason_ = "the peer reached us directly at " + endpoint_;
        kick = true;  // and it hears us directly at once
        break;
      }
      endpoint_ = *in.relay;
      break;
    case PathKind::none:
    case PathKind::trying:
      break;
  }

  if (kind_ == PathKind::trying || kind_ == PathKind::none) {
    if (kind_ == PathKind::trying && !endpoint_.empty() && in.device_endpoint == endpoint_) device_took_round_ = true;
    if (kind_ == PathKind::trying && device_took_round_ && in.relay && in.device_endpoint == *in.relay) {
      // The peer is on the relay already (its round ended first) and WireGuard followed its
      // packets there; the device gets our candidate back. That handshake and those bytes
      // came over the relay: they are no evidence for the candidate, only what comes later is.
      // (Only once the device held a candidate of this round: before that, the relay on the
      // device is our own choice from before the round, not a roam. Any candidate, not only the
      // current one: a relayed handshake landing as we move to the next candidate is a roam
      // too, and within the handshake time's second of slack it would count for that one.)
      relay_roam_at_ = in.now;
      rx_at_choice_ = in.rx_bytes;
    }
    if (chosen_at_ && reached_since(in, chosen_at_)) {
      kind_ = PathKind::direct;
      endpoint_ = in.device_endpoint;
      reason_ = "handshake through " + endpoint_;
      // Send at once: the peer may have sent first, into our NAT before we had opened it, and
      // our packets (while it still tries) keep pushing its persistent keepalive back. It hears
      // the path only when we send something it can see.
      kick = true;
    } else if (in.candidates.empty()) {
      kind_ = in.relay ? PathKind::relay : PathKind::none;
      if (in.relay) {
        choose(*in.relay, in);
        relay_round_ = retry_round(in);
        reason_ = "no direct candidates";
      } else {
        reason_ = "no candidates known: waiting for the peer to reach us";
      }
    } else {
      uint64_t s = slot(in);
      uint64_t n = in.candidates.size();
      if (in.relay && s >= first_slot_ + n) {
        kind_ = PathKind::relay;
        choose(*in.relay, in);
        relay_round_ = retry_round(in);
        reason_ = "no handshake on any of " + std::to_string(n) + " direct candidate(s)";
      } else {
        kind_ = PathKind::trying;
        kick = choose(in.candidates[s % n], in);
        reason_ = "trying candidate " + std::to_string(s % n + 1) + " of " + std::to_string(n) + ": " + round_why_;
      }
    }
  }

  PathChoice c;
  c.kind = kind_;
  c.endpoint = endpoint_;
  c.keepalive = kind_ == PathKind::trying ? config_.probe_keepalive : config_.keepalive;
  c.reason = reason_;
  c.kick = kick;
  c.restart = kick && kind_ == PathKind::trying && !(in.last_handshake_ms && in.now <= in.last_handshake_ms + 180'000);
  return c;
}

}  // namespace weft::paths
