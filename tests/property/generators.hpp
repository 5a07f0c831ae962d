// RapidCheck generators for histories of record writes by several owners.
#pragma once

#include <rapidcheck.h>

#include <vector>

#include "crdt/replica.hpp"

namespace weft::test {

struct WriteOp {
  int writer = 0;
  bool erase = false;
  int name = 0;   // from a small set, so writes collide on keys
  int value = 0;
  int advance_ms = 0;
};

rc::Gen<WriteOp> gen_write_op(int writers);

// Applies the ops to `writers` (replicas with distinct keys) and returns every record written,
// in write order (tombstones included).
std::vector<crdt::Record> apply_ops(std::vector<crdt::Replica>& writers, const std::vector<WriteOp>& ops,
                                    uint64_t t0);

std::vector<crdt::Replica> make_replicas(int count, uint8_t first_seed = 1);

// A random permutation (Fisher-Yates driven by RapidCheck, so failures shrink and replay).
template <typename T>
std::vector<T> shuffled(std::vector<T> items) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[*rc::gen::inRange<size_t>(0, i)]);
  return items;
}

inline constexpr uint64_t kT0 = 1'700'000'000'000;

}  // namespace weft::test
