// Reconcile cost at 255 peers against a real wireguard-go (started by bench/run-wg-bench.sh):
// what the agent does per cluster change (wanted set from state, UAPI get, plan, UAPI set of
// the one changed peer), the first full apply, and a drift check that finds nothing to do.
//   weft-bench-wg-reconcile --interface NAME [--socket-dir DIR] [--changes N] [--drift-checks N]
// Prints one JSON object. Asserts each change touches exactly one peer.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "crdt/replica.hpp"
#include "crdt/subnet.hpp"
#include "crdt/values.hpp"
#include "wg/peer_plan.hpp"
#include "wg/uapi_device.hpp"

using namespace weft;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kNow = 1'700'000'000'000;
constexpr int kPeers = 255;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

crdt::Replica replica(int i) {
  crdt::SigningSeed seed{};
  seed[0] = static_cast<uint8_t>(i);
  seed[1] = static_cast<uint8_t>(i >> 8);
  seed[31] = 0x77;
  return crdt::Replica(crdt::SigningKey::from_seed(seed), {});
}

}  // namespace

int main(int argc, char** argv) {
  std::string ifname, socket_dir = "/run/wireguard";
  int changes = 200, drift_checks = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--interface") ifname = argv[i + 1];
    else if (a == "--socket-dir") socket_dir = argv[i + 1];
    else if (a == "--changes") changes = std::stoi(argv[i + 1]);
    else if (a == "--drift-checks") drift_checks = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (ifname.empty() || sodium_init() < 0) {
    std::fprintf(stderr, "usage: %s --interface NAME [--socket-dir DIR] [--changes N]\n", argv[0]);
    return 2;
  }
  // One state holding 256 machines: self (0) and 255 peers, each with a /24 and an endpoint.
  crdt::ClusterState state(7ull * 24 * 3600 * 1000);
  std::vector<crdt::Replica> machines;
  std::set<crdt::OwnerId> live;
  for (int i = 0; i <= kPeers; ++i) {
    machines.push_back(replica(i));
    auto& r = machines.back();
    crdt::WireguardKey wg{};
    randombytes_buf(wg.data(), wg.size());
    std::vector<crdt::Record> recs;
    recs.push_back(r.put(crdt::Kind::machine, crdt::kMachineRecordName,
                         crdt::encode_value(crdt::MachineValue{"m" + std::to_string(i), wg, r.id(), {"198.51.100.1", 51821}, false, "b"}), kNow));
    auto subnet = *Ipv4Net::parse("10.210." + std::to_string(i) + ".0/24");
    recs.push_back(r.put(crdt::Kind::subnet_claim, crdt::subnet_claim_name(subnet), crdt::encode_value(crdt::SubnetClaimValue{subnet}), kNow));
    recs.push_back(r.put(crdt::Kind::endpoint_candidates, wg::kWireguardCandidatesName,
                         crdt::encode_value(crdt::EndpointCandidatesValue{{{"198.51.100." + std::to_string(i % 250 + 1), 51820}}}), kNow));
    for (auto& rec : recs) state.merge(rec, kNow);
    live.insert(r.id());
  }
  const crdt::OwnerId self = machines[0].id();
  wg::UapiDevice device(ifname, socket_dir);
  wg::DeviceUpdate identity;
  identity.private_key = wg::Key{};
  randombytes_buf(identity.private_key->data(), 32);
  identity.listen_port = 51820;
  device.set(identity);
  {
    wg::DeviceUpdate clear;  // start from an empty device (an earlier run leaves its peers)
    for (const auto& p : device.get().peers) clear.peers.push_back(wg::PeerUpdate{p.public_key, true, {}, {}, false, {}});
    if (!clear.empty()) device.set(clear);
  }
  wg::PeerReconciler reconciler;

  auto reconcile = [&]() -> size_t {
    auto wanted = wg::wanted_peers(state, live, self);
    auto status = device.get();
    auto update = reconciler.plan(wanted, status);
    if (!update.empty()) device.set(update);
    return update.peers.size();
  };
  auto t = Clock::now();
  size_t first = reconcile();
  double initial_ms = ms_since(t);
  if (first != kPeers) {
    std::fprintf(stderr, "initial apply set %zu peers, want %d\n", first, kPeers);
    return 1;
  }
  std::vector<double> change_ms, noop_ms;
  for (int c = 0; c < changes; ++c) {
    auto& r = machines[1 + c % kPeers];
    auto rec = r.put(crdt::Kind::endpoint_candidates, wg::kWireguardCandidatesName,
                     crdt::encode_value(crdt::EndpointCandidatesValue{{{"198.51.100.200", static_cast<uint16_t>(20000 + c)}}}),
                     kNow + 1000 + static_cast<uint64_t>(c));
    state.merge(rec, kNow + 1000 + static_cast<uint64_t>(c));
    t = Clock::now();
    size_t n = reconcile();
    change_ms.push_back(ms_since(t));
    if (n != 1) {
      std::fprintf(stderr, "change %d touched %zu peers, want 1\n", c, n);
      return 1;
    }
  }
  if (drift_checks < 0) drift_checks = changes;
  for (int c = 0; c < drift_checks; ++c) {
    t = Clock::now();
    if (reconcile() != 0) {
      std::fprintf(stderr, "a drift check found work on an untouched device\n");
      return 1;
    }
    noop_ms.push_back(ms_since(t));
  }
  std::printf("{\"peers\": %d, \"initial_apply_ms\": %.2f, \"changes\": %d, \"change_ms_p50\": %.3f, \"change_ms_p99\": %.3f, "
              "\"drift_check_ms_p50\": %.3f}\n",
              kPeers, initial_ms, changes, percentile(change_ms, 0.5), percentile(change_ms, 0.99), percentile(noop_ms, 0.5));
  return 0;
}
