// weft-sim: runs a scenario of the deterministic simulator and checks its invariants.
//   weft-sim --nodes N --seed S --scenario NAME [--loss P] [--json] [--seeds K]
// Exit 0 when every invariant held, 1 with the seed and the first violation otherwise.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "sim/nemesis.hpp"
#include "sim/paths.hpp"
#include "sim/scenario.hpp"

namespace {

[[gnu::format(printf, 1, 2)]] std::string format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return n < 0 ? std::string{} : std::string(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-sim: deterministic network-partition simulation of weft agents"};
  weft::sim::ScenarioOptions o;
  bool as_json = false;
  unsigned seeds = 1;
  app.add_option("--scenario", o.name, "join-storm, formed, partition-heal, churn, loss, concurrent-claims, nemesis, paths")
      ->required()
      ->check([](const std::string& s) { return weft::sim::known_scenario(s) ? "" : "unknown scenario " + s; });
  app.add_option("--nodes", o.nodes, "number of agents")->capture_default_str()->check(CLI::Range(4, 100000));
  app.add_option("--seed", o.seed, "random seed (first of --seeds)")->capture_default_str();
  app.add_option("--seeds", seeds, "run this many consecutive seeds")->capture_default_str();
  app.add_option("--loss", o.loss, "datagram loss probability")->check(CLI::Range(0.0, 0.9));
  app.add_flag("--json", as_json, "print metrics as JSON");
  app.add_option("--duration", o.duration_s, "loss, formed: seconds of steady running before measuring")->capture_default_str();
  std::string nemesis_file;
  app.add_option("--nemesis", o.nemesis, "nemesis: fault schedule, faults separated by ';' (default: drawn from the seed)");
  app.add_option("--nemesis-file", nemesis_file, "nemesis: fault schedule file, one fault per line")->check(CLI::ExistingFile);
  app.add_option("--trace-member", o.trace_member, "print every membership event about this node");
  app.add_flag("--stream-pings,!--no-stream-pings", o.stream_pings,
               "the stream ping fallback after failed datagram probes (default on)");
  app.add_flag("--broken-merge", o.broken_merge, "test-only: a broken merge rule the invariants must catch");
  app.add_flag("--broken-settle-gate", o.broken_settle_gate,
               "test-only: nodes claim a /24 before their first sync; the invariants must catch it");
  bool broken_relay_trigger = false;
  app.add_flag("--broken-relay-trigger", broken_relay_trigger,
               "test-only (paths): the path selectors never ask for a relay; the invariants must catch it");
  CLI11_PARSE(app, argc, argv);
  if (!nemesis_file.empty()) {
    std::ifstream in(nemesis_file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) {
      std::fprintf(stderr, "weft-sim: cannot read %s\n", nemesis_file.c_str());
      return 2;
    }
    o.nemesis = text.str();
  }
  if (!o.nemesis.empty()) {
    auto plan = weft::sim::parse_nemesis(o.nemesis, o.nodes);
    if (!plan.error.empty()) {
      std::fprintf(stderr, "weft-sim: %s\n", plan.error.c_str());
      return 2;
    }
  }

  int failures = 0;
  uint64_t first = o.seed;
  if (o.name == "paths") {  // path selection through NATs (sim/paths.hpp), not the gossip cluster
    for (unsigned k = 0; k < seeds; ++k) {
      weft::sim::PathSimOptions p;
      p.nodes = o.nodes;
      p.seed = first + k;
      p.broken_relay_trigger = broken_relay_trigger;
      auto r = weft::sim::run_paths(p);
      if (!r.ok) ++failures;
      size_t nat_count[3] = {0, 0, 0};
      for (auto t : r.nats) ++nat_count[static_cast<int>(t)];
      if (as_json) {
        nlohmann::json j{{"scenario", o.name}, {"nodes", o.nodes}, {"seed", p.seed}, {"ok", r.ok}, {"violation", r.violation},
                         {"public", nat_count[0]}, {"endpoint_independent_nat", nat_count[1]}, {"symmetric_nat", nat_count[2]},
                         {"pairs", r.pairs}, {"direct", r.direct}, {"relayed", r.relayed},
                         {"settle_p50_s", r.settle_p50_s}, {"settle_p99_s", r.settle_p99_s}, {"settle_max_s", r.settle_max_s},
                         {"packets", r.packets}, {"packets_dropped", r.packets_dropped}, {"trace_hash", r.trace_hash}};
        std::cout << j.dump() << "\n";
      } else {
        std::printf("paths nodes=%zu seed=%llu: %s | %zu public, %zu endpoint-independent NAT, %zu symmetric NAT | %zu pairs: "
                    "%zu direct, %zu relayed | path held after p50 %.0f s, p99 %.0f s, max %.0f s\n",
                    o.nodes, static_cast<unsigned long long>(p.seed), r.ok ? "ok" : "VIOLATION", nat_count[0], nat_count[1],
                    nat_count[2], r.pairs, r.direct, r.relayed, r.settle_p50_s, r.settle_p99_s, r.settle_max_s);
        if (!r.ok) std::printf("  invariant broken: %s\n", r.violation.c_str());
      }
    }
    return failures ? 1 : 0;
  }
  for (unsigned k = 0; k < seeds; ++k) {
    o.seed = first + k;
    auto r = weft::sim::run_scenario(o);
    if (!r.ok) ++failures;
    if (as_json) {
      nlohmann::json j{{"scenario", o.name}, {"nodes", o.nodes}, {"seed", o.seed}, {"loss", r.loss}, {"ok", r.ok}, {"violation", r.violation},
                       {"rounds_to_99.99%", r.rounds_to_9999}, {"rounds_to_100%", r.rounds_to_all},
                       {"seconds_to_99.99%", r.seconds_to_9999}, {"seconds_to_100%", r.seconds_to_all},
                       {"detection_p50_s", r.detect_p50}, {"detection_p99_s", r.detect_p99}, {"detection_max_s", r.detect_max},
                       {"detection_victim", r.detect_victim},
                       {"false_dead", r.false_dead}, {"probe_failures", r.probe_failures}, {"stream_rescues", r.stream_rescues}, {"dead_after_heal", r.dead_after_heal}, {"dead_across_partition", r.dead_across_partition}, {"suspicions", r.suspicions}, {"bytes_per_node_s", r.bytes_per_node_s},
                       {"join_s", r.join_seconds}, {"settle_s", r.settle_seconds},
                       {"steady_bytes_per_node_s", r.steady_bytes_per_node_s}, {"steady_kbit_per_node_s", r.steady_bytes_per_node_s * 8 / 1000},
                       {"steady_speedup", r.steady_speedup}, {"steady_heap_mb", r.steady_heap_mb}, {"probe_periods", r.probe_periods},
                       {"peak_queued_updates", r.peak_queued_updates}, {"peak_queued_records", r.peak_queued_records},
                       {"simulated_s", r.simulated_seconds}, {"wall_s", r.wall_seconds},
                       {"speedup", r.wall_seconds > 0 ? r.simulated_seconds / r.wall_seconds : 0}, {"trace_hash", r.trace_hash}, {"nemesis", r.nemesis}};
      std::cout << j.dump() << "\n";
    } else {
      // Only what this scenario measured: no crash, no detection figures; no steady window, no steady figures.
      std::string line = format("%s nodes=%zu seed=%llu: %s", o.name.c_str(), o.nodes, static_cast<unsigned long long>(o.seed),
                                r.ok ? "ok" : "VIOLATION");
      if (r.rounds_to_9999 >= 0)
        line += format(" | dissemination 99.99%% %.1f rounds, 100%% %.1f rounds", r.rounds_to_9999, r.rounds_to_all);
      if (r.detect_p50 >= 0)
        line += format(" | detection p50 %.1f s p99 %.1f s max %.1f s", r.detect_p50, r.detect_p99, r.detect_max);
      line += format(" | false dead %llu in %llu probe periods, suspicions %llu", static_cast<unsigned long long>(r.false_dead),
                     static_cast<unsigned long long>(r.probe_periods), static_cast<unsigned long long>(r.suspicions));
      // Not false: the other side of a partition is unreachable; after a heal, the verdicts
      // still in flight are refuted.
      line += format(" | dead verdicts across a partition %llu (expected), just after its heal %llu (refuted)",
                     static_cast<unsigned long long>(r.dead_across_partition), static_cast<unsigned long long>(r.dead_after_heal));
      line += format(" | %.0f B/s/node", r.bytes_per_node_s);
      if (r.steady_speedup > 0) line += format(" (steady %.0f)", r.steady_bytes_per_node_s);
      line += format(" | %.0fx real time", r.wall_seconds > 0 ? r.simulated_seconds / r.wall_seconds : 0);
      if (r.steady_speedup > 0) line += format(" (steady %.0fx)", r.steady_speedup);
      std::printf("%s\n", line.c_str());
      if (!r.ok) std::printf("  invariant broken: %s\n", r.violation.c_str());
      if (!r.ok)
        for (const auto& f : r.nemesis) std::printf("  nemesis: %s\n", f.c_str());
      for (const auto& e : r.false_dead_examples) std::printf("  false dead: %s\n", e.c_str());
    }
  }
  return failures ? 1 : 0;
}
