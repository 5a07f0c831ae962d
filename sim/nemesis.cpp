#include "sim/nemesis.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

namespace weft::sim {

namespace {

std::optional<std::vector<size_t>> parse_nodes(const std::string& text, size_t nodes) {
  std::vector<size_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) return std::nullopt;
    size_t dash = part.find('-');
    try {
      size_t pos = 0;
      unsigned long first = std::stoul(part.substr(0, dash), &pos);
      if (pos != (dash == std::string::npos ? part.size() : dash)) return std::nullopt;
      unsigned long last = first;
      if (dash != std::string::npos) {
        last = std::stoul(part.substr(dash + 1), &pos);
        if (pos != part.size() - dash - 1) return std::nullopt;
      }
      if (last < first || last >= nodes) return std::nullopt;
      for (unsigned long i = first; i <= last; ++i) out.push_back(i);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string join_nodes(const std::vector<size_t>& v) {
  std::string out;
  for (size_t k = 0; k < v.size(); ++k) {
    size_t run = k;
    while (run + 1 < v.size() && v[run + 1] == v[run] + 1) ++run;
    if (!out.empty()) out += ",";
    out += std::to_string(v[k]);
    if (run > k) out += "-" + std::to_string(v[run]);
    k = run;
  }
  return out;
}

}  // namespace

NemesisPlan parse_nemesis(const std::string& text, size_t nodes) {
  NemesisPlan plan;
  // Comments go first (they may hold ';'), then ';' separates faults like line breaks.
  std::string normalized;
  {
    std::stringstream raw(text);
    for (std::string line; std::getline(raw, line);) {
      if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      normalized += line + "\n";
    }
  }
  std::replace(normalized.begin(), normalized.end(), ';', '\n');
  std::stringstream lines(normalized);
  std::string line;
  size_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    std::stringstream ss(line);
    std::vector<std::string> w;
    for (std::string word; ss >> word;) w.push_back(word);
    if (w.empty()) continue;
    auto bad = [&](const std::string& why) {
      plan.error = "nemesis fault " + std::to_string(number) + " (" + line + "): " + why;
      plan.faults.clear();
      return plan;
    };
    Fault f;
    try {
      size_t pos = 0;
      double t = std::stod(w[0], &pos);
      if (pos != w[0].size() || t < 0 || t > 1e7) return bad("the first word must be a time in seconds");
      f.at_ms = static_cast<uint64_t>(t * 1000);
    } catch (const std::exception&) {
      return bad("the first word must be a time in seconds");
    }
    const std::string& op = w.size() > 1 ? w[1] : "";
    auto one_node = [&](size_t k) -> std::optional<size_t> {
      if (w.size() <= k) return std::nullopt;
      auto v = parse_nodes(w[k], nodes);
      if (!v || v->size() != 1) return std::nullopt;
      return (*v)[0];
    };
    auto number_at = [&](size_t k, double& out) {
      if (w.size() <= k) return false;
      try {
        size_t pos = 0;
        out = std::stod(w[k], &pos);
        return pos == w[k].size();
      } catch (const std::exception&) {
        return false;
      }
    };
    if (op == "partition") {
      if (w.size() != 5 || w[3] != "/") return bad("partition NODES / NODES");
      auto a = parse_nodes(w[2], nodes), b = parse_nodes(w[4], nodes);
      if (!a || !b) return bad("node lists look like 0-9,12 and must name existing nodes");
      std::set<size_t> sa(a->begin(), a->end());
      for (size_t x : *b)
        if (sa.count(x)) return bad("a node cannot be on both sides");
      f.type = Fault::Type::partition;
      f.a = *a;
      f.b = *b;
    } else if (op == "cut") {
      auto from = one_node(2), to = one_node(3);
      if (w.size() != 4 || !from || !to || *from == *to) return bad("cut FROM TO (two different nodes)");
      f.type = Fault::Type::cut;
      f.a = {*from};
      f.b = {*to};
    } else if (op == "heal") {
      if (w.size() != 2) return bad("heal takes no arguments");
      f.type = Fault::Type::heal;
    } else if (op == "crash" || op == "restart" || op == "leave" || op == "write") {
      auto i = one_node(2);
      if (w.size() != 3 || !i) return bad(op + " NODE");
      if (*i == 0 && op != "write") return bad("node 0 is every joiner's seed: crash, restart or leave another");
      f.type = op == "crash" ? Fault::Type::crash : op == "restart" ? Fault::Type::restart
             : op == "leave" ? Fault::Type::leave : Fault::Type::write;
      f.a = {*i};
    } else if (op == "pause" || op == "skew") {
      auto i = one_node(2);
      double amount = 0;
      if (w.size() != 4 || !i || !number_at(3, amount)) return bad(op + " NODE " + (op == "pause" ? "SECONDS" : "MS"));
      if (op == "pause") {
        if (*i == 0) return bad("node 0 is every joiner's seed: pause another");
        if (amount <= 0 || amount > 3600) return bad("a pause lasts 0-3600 s");
        f.type = Fault::Type::pause;
        f.amount = static_cast<int64_t>(amount * 1000);
      } else {
        if (amount < -3.6e6 || amount > 3.6e6) return bad("skew within an hour either way");
        f.type = Fault::Type::skew;
        f.amount = static_cast<int64_t>(amount);
      }
      f.a = {*i};
    } else if (op == "loss" || op == "duplicate" || op == "reorder") {
      double p = 0;
      if (w.size() != 3 || !number_at(2, p) || p < 0 || p > 0.9) return bad(op + " P (0 to 0.9)");
      f.type = op == "loss" ? Fault::Type::loss : op == "duplicate" ? Fault::Type::duplicate : Fault::Type::reorder;
      f.loss = p;
    } else if (op == "latency") {
      double ms = 0, jitter = 0;
      if (w.size() != 7 || w[3] != "/" || !number_at(5, ms) || !number_at(6, jitter))
        return bad("latency NODES / NODES MS JITTER_MS");
      auto a = parse_nodes(w[2], nodes), b = parse_nodes(w[4], nodes);
      if (!a || !b) return bad("node lists look like 0-9,12 and must name existing nodes");
      if (ms < 0 || ms > 10'000 || jitter < 0 || jitter > 10'000) return bad("latency and jitter within 0-10000 ms");
      f.type = Fault::Type::latency;
      f.a = *a;
      f.b = *b;
      f.amount = static_cast<int64_t>(ms);
      f.jitter = static_cast<int64_t>(jitter);
    } else {
      return bad("unknown fault '" + op + "'");
    }
    plan.faults.push_back(std::move(f));
  }
  std::stable_sort(plan.faults.begin(), plan.faults.end(), [](const Fault& x, const Fault& y) { return x.at_ms < y.at_ms; });
  return plan;
}

NemesisPlan random_nemesis(Rng& rng, size_t nodes) {
  NemesisPlan plan;
  auto node = [&] { return 1 + rng.below(nodes - 1); };  // never the seed
  auto at = [&](uint64_t from_s, uint64_t span_s) { return (from_s + rng.below(span_s)) * 1000; };
  // A partition: a random third against the rest, writes on both sides, then a heal. Or a
  // bridge: a third against another third, the last third reaching both.
  std::vector<size_t> all(nodes), minority, majority;
  for (size_t i = 0; i < nodes; ++i) all[i] = i;
  rng.shuffle(all);
  bool bridge = rng.below(3) == 0;
  for (size_t k = 0; k < nodes; ++k) {
    if (k < nodes / 3) minority.push_back(all[k]);
    else if (!bridge || k < 2 * nodes / 3) majority.push_back(all[k]);
  }
  std::sort(minority.begin(), minority.end());
  std::sort(majority.begin(), majority.end());
  uint64_t split = at(10, 20), heal = split + at(30, 40);
  plan.faults.push_back(Fault{split, Fault::Type::partition, minority, majority, 0, 0});
  plan.faults.push_back(Fault{split + 5'000, Fault::Type::write, {minority[0]}, {}, 0, 0});
  plan.faults.push_back(Fault{split + 6'000, Fault::Type::write, {majority[0]}, {}, 0, 0});
  plan.faults.push_back(Fault{heal, Fault::Type::heal, {}, {}, 0, 0});
  // A crash, restarted a while later; a graceful leave; a stall; skew within the drift bound.
  size_t crashed = node();
  uint64_t crash_at = at(20, 100);
  plan.faults.push_back(Fault{crash_at, Fault::Type::crash, {crashed}, {}, 0, 0});
  plan.faults.push_back(Fault{crash_at + at(20, 60), Fault::Type::restart, {crashed}, {}, 0, 0});
  size_t leaver = node();
  if (leaver != crashed) plan.faults.push_back(Fault{at(40, 150), Fault::Type::leave, {leaver}, {}, 0, 0});
  size_t stalled = node();
  if (stalled != crashed && stalled != leaver)
    plan.faults.push_back(Fault{at(30, 150), Fault::Type::pause, {stalled}, {}, static_cast<int64_t>(at(2, 30)), 0});
  plan.faults.push_back(Fault{at(0, 60), Fault::Type::skew, {node()}, {}, static_cast<int64_t>(rng.below(50'001)) - 25'000, 0});
  // A burst of loss, and a few one-way cuts healed with the partition or at the end.
  uint64_t lossy = at(100, 60);
  plan.faults.push_back(Fault{lossy, Fault::Type::loss, {}, {}, 0, 0, 0.05 + rng.unit() * 0.15});
  plan.faults.push_back(Fault{lossy + at(20, 40), Fault::Type::loss, {}, {}, 0, 0, 0.0});
  // Duplication and reordering for a while; one group's links to the rest slowed down.
  uint64_t messy = at(60, 100);
  plan.faults.push_back(Fault{messy, Fault::Type::duplicate, {}, {}, 0, 0, 0.02 + rng.unit() * 0.08});
  plan.faults.push_back(Fault{messy, Fault::Type::reorder, {}, {}, 0, 0, 0.05 + rng.unit() * 0.25});
  plan.faults.push_back(Fault{messy + at(20, 40), Fault::Type::duplicate, {}, {}, 0, 0, 0.0});
  plan.faults.push_back(Fault{messy + at(20, 40), Fault::Type::reorder, {}, {}, 0, 0, 0.0});
  std::vector<size_t> slow(all.begin(), all.begin() + std::max<size_t>(1, nodes / 5)), rest(all.begin() + slow.size(), all.end());
  std::sort(slow.begin(), slow.end());
  std::sort(rest.begin(), rest.end());
  uint64_t slow_at = at(30, 120);
  plan.faults.push_back(Fault{slow_at, Fault::Type::latency, slow, rest, static_cast<int64_t>(20 + rng.below(180)),
                              static_cast<int64_t>(rng.below(50)), 0});
  plan.faults.push_back(Fault{slow_at + at(20, 60), Fault::Type::latency, slow, rest, 1, 2, 0});
  for (int k = 0; k < 3; ++k) {
    size_t x = node(), y = node();
    if (x != y) plan.faults.push_back(Fault{at(0, 200), Fault::Type::cut, {x}, {y}, 0, 0});
  }
  plan.faults.push_back(Fault{heal + at(0, 10) + 150'000, Fault::Type::write, {node()}, {}, 0, 0});
  std::stable_sort(plan.faults.begin(), plan.faults.end(), [](const Fault& x, const Fault& y) { return x.at_ms < y.at_ms; });
  return plan;
}

std::string describe(const Fault& f) {
  std::string t = std::to_string(f.at_ms / 1000.0);
  t.erase(t.find_last_not_of('0') + 1);
  if (t.back() == '.') t.pop_back();
  switch (f.type) {
    case Fault::Type::partition: return t + " partition " + join_nodes(f.a) + " / " + join_nodes(f.b);
    case Fault::Type::cut: return t + " cut " + std::to_string(f.a[0]) + " " + std::to_string(f.b[0]);
    case Fault::Type::heal: return t + " heal";
    case Fault::Type::crash: return t + " crash " + std::to_string(f.a[0]);
    case Fault::Type::restart: return t + " restart " + std::to_string(f.a[0]);
    case Fault::Type::leave: return t + " leave " + std::to_string(f.a[0]);
    case Fault::Type::write: return t + " write " + std::to_string(f.a[0]);
    case Fault::Type::pause: return t + " pause " + std::to_string(f.a[0]) + " " + std::to_string(f.amount / 1000.0);
    case Fault::Type::skew: return t + " skew " + std::to_string(f.a[0]) + " " + std::to_string(f.amount);
    case Fault::Type::loss:
    case Fault::Type::duplicate:
    case Fault::Type::reorder: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", f.loss);
      const char* op = f.type == Fault::Type::loss ? " loss " : f.type == Fault::Type::duplicate ? " duplicate " : " reorder ";
      return t + op + buf;
    }
    case Fault::Type::latency:
      return t + " latency " + join_nodes(f.a) + " / " + join_nodes(f.b) + " " + std::to_string(f.amount) + " " +
             std::to_string(f.jitter);
  }
  return t;
}

}  // namespace weft::sim
