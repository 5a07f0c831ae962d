// Cluster-state benchmark (not a test): merge throughput, digest + delta cost and LMDB write
// throughput for a state of 256 machines x 253 container leases + 1,000 services.
//   build/bench/weft-bench-state [--machines N] [--leases N] [--services N]
// Prints one line per figure; the note on the issue quotes them.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "crdt/anti_entropy.hpp"
#include "crdt/subnet.hpp"
#include "crdt/values.hpp"
#include "store/record_store.hpp"

using namespace weft;
using namespace weft::crdt;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kT0 = 1'700'000'000'000;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

SigningKey machine_key(int i) {
  SigningSeed seed{};
  std::memcpy(seed.data(), &i, sizeof i);
  seed[31] = 0x42;
  return SigningKey::from_seed(seed);
}

void report(const char* what, double value, const char* unit) { std::printf("%-58s %12.1f %s\n", what, value, unit); }

}  // namespace

int main(int argc, char** argv) {
  int machines = 256, leases = 253, services = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (flag == "--machines") machines = v;
    else if (flag == "--leases") leases = v;
    else if (flag == "--services") services = v;
    else { std::fprintf(stderr, "unknown flag %s\n", argv[i]); return 2; }
  }
  std::printf("state: %d machines x %d leases + %d services\n", machines, leases, services);

  // Every machine writes its machine record, subnet claim and leases; services spread evenly.
  std::vector<Replica> owners;
  std::vector<Record> all;
  auto start = Clock::now();
  for (int m = 0; m < machines; ++m) {
    owners.emplace_back(machine_key(m));
    Replica& r = owners.back();
    all.push_back(r.put(Kind::machine, kMachineRecordName,
                        encode_value(MachineValue{"m" + std::to_string(m), {}, r.id(), {"10.0.0.1", 51821}, false, "bench"}),
                        kT0));
    Ipv4Net subnet{Ipv4{(10u << 24 | 210u << 16) + (static_cast<uint32_t>(m % 256) << 8)}, 24};
    all.push_back(r.put(Kind::subnet_claim, subnet_claim_name(subnet), encode_value(SubnetClaimValue{subnet}), kT0));
    for (int l = 0; l < leases; ++l) {
      Ipv4 ip{subnet.base.value + 2 + static_cast<uint32_t>(l % 253)};
      all.push_back(r.put(Kind::container_lease, container_lease_name(ip) + (l >= 253 ? "#" + std::to_string(l) : ""),
                          encode_value(ContainerLeaseValue{ip, "c" + std::to_string(l), "n"}), kT0 + l));
    }
  }
  for (int s = 0; s < services; ++s) {
    Replica& r = owners[s % machines];
    all.push_back(r.put(Kind::service_instance, "svc" + std::to_string(s),
                        encode_value(ServiceInstanceValue{"svc" + std::to_string(s % 50), "10.210.0.2", 80, "tcp", "http", true}),
                        kT0 + 1000 + s));
  }
  double sign_s = seconds_since(start);
  std::printf("records: %zu\n", all.size());
  report("sign (create + Ed25519 sign)", all.size() / sign_s, "records/s");

  // The floor under merge: libsodium's Ed25519 verification alone, measured in the same run.
  start = Clock::now();
  size_t verified = 0;
  for (const auto& r : all) verified += verify(r);
  double verify_s = seconds_since(start);
  if (verified != all.size()) { std::fprintf(stderr, "verification failed\n"); return 1; }
  report("Ed25519 verify alone (libsodium, the floor)", all.size() / verify_s, "records/s");

  Replica full(machine_key(100000));
  start = Clock::now();
  full.receive(all, kT0 + 10'000);
  double merge_s = seconds_since(start);
  if (full.state().size() != all.size()) { std::fprintf(stderr, "merge lost records\n"); return 1; }
  report("merge new records (verify + insert)", all.size() / merge_s, "records/s");
  report("merge cost / verify-alone cost", merge_s / verify_s, "x");

  start = Clock::now();
  full.receive(all, kT0 + 10'000);
  report("merge duplicates (already held)", all.size() / seconds_since(start), "records/s");

  // Digest comparison between two identical replicas, and deltas for typical differences.
  Replica peer(machine_key(100001));
  peer.receive(all, kT0 + 10'000);
  constexpr int kReps = 20;
  start = Clock::now();
  size_t sent = 0;
  for (int i = 0; i < kReps; ++i) sent += full.state().delta_for(peer.state().digest()).records.size();
  report("digest compare, states equal", seconds_since(start) / kReps * 1e6, "us");
  std::printf("%-58s %12zu entries (%zu bytes as 32+8+8+16)\n", "digest size", full.state().digest().size(),
              full.state().digest().size() * 64);

  // One machine wrote 10 new leases the peer lacks: append-only fast path.
  Replica& writer = owners[7];
  std::vector<Record> fresh;
  for (int l = 0; l < 10; ++l)
    fresh.push_back(writer.put(Kind::service_instance, "new" + std::to_string(l),
                               encode_value(ServiceInstanceValue{"new", "10.210.7.9", 0, "", "", true}), kT0 + 20'000 + l));
  full.receive(fresh, kT0 + 20'100);
  start = Clock::now();
  for (int i = 0; i < kReps; ++i) sent = full.state().delta_for(peer.state().digest()).records.size();
  report("delta: one owner appended 10 records (digest path)", seconds_since(start) / kReps * 1e6, "us");
  if (sent != 10) { std::fprintf(stderr, "delta sent %zu, expected 10\n", sent); return 1; }

  // A peer that missed 1% of records at random: summary path for the owners concerned.
  Replica holes(machine_key(100002));
  std::vector<Record> most;
  for (size_t i = 0; i < all.size(); ++i)
    if (i % 100 != 37) most.push_back(all[i]);
  holes.receive(most, kT0 + 10'000);
  double exchange_s = 0;
  for (int i = 0; i < 5; ++i) {
    Replica a = full;
    Replica b = holes;
    start = Clock::now();
    exchange(b, a, kT0 + 30'000);
    exchange_s += seconds_since(start);
    if (!(a.state().digest() == b.state().digest())) { std::fprintf(stderr, "exchange did not converge\n"); return 1; }
  }
  report("push-pull exchange, peer missing 1% of records (663)", exchange_s / 5 * 1e3, "ms");

  // A machine joining: full state in one exchange.
  start = Clock::now();
  Replica joiner(machine_key(100003));
  exchange(joiner, full, kT0 + 40'000);
  report("join: empty replica gets full state in one exchange", seconds_since(start) * 1e3, "ms");

  // LMDB: one transaction per record (the agent's worst case) and batched.
  char dir_template[] = "/tmp/weft-bench-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  {
    auto store = store::RecordStore::open(dir);
    const size_t single = std::min<size_t>(2000, all.size());
    start = Clock::now();
    for (size_t i = 0; i < single; ++i) store->put(std::span(&all[i], 1));
    report("LMDB write, one durable transaction per record", single / seconds_since(start), "records/s");
    start = Clock::now();
    for (size_t i = 0; i < all.size(); i += 1000)
      store->put(std::span(all.data() + i, std::min<size_t>(1000, all.size() - i)));
    report("LMDB write, 1,000 records per transaction", all.size() / seconds_since(start), "records/s");
    start = Clock::now();
    auto loaded = store->load();
    report("LMDB load all records", loaded.records.size() / seconds_since(start), "records/s");
  }
  std::filesystem::remove_all(dir);
  return 0;
}
