// Piggyback dissemination queue: items waiting to be sent on outgoing messages, least-sent and
// newest first, each sent at most `limit` times. A newer item with the same key replaces the
// older one (a fresh fact about a member supersedes the stale one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace weft::gossip {

template <typename Key, typename Item>
class BroadcastQueue {
 public:
  void push(const Key& key, Item item, size_t size) {
    erase(key);
    uint64_t gen = ++generation_;
    order_.emplace(0u, ~gen, key);
    entries_.emplace(key, Entry{std::move(item), size, 0, gen});
  }

  void erase(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    order_.erase(std::make_tuple(it->second.transmits, ~it->second.generation, key));
    entries_.erase(it);
  }

  // Takes items whose sizes fit in `budget` bytes, counting a transmission for each and
  // dropping those sent `limit` times. Returns the bytes used.
  size_t take(size_t budget, unsigned limit, std::vector<Item>& out) {
    size_t used = 0;
    std::vector<Key> sent;
    size_t looked = 0;
    for (const auto& [transmits, inv_gen, key] : order_) {
      // Only the head of the queue competes for a packet: a long queue costs no more per send.
      if (budget - used < kMinItemBytes || ++looked > kMaxScan) break;
      const Entry& e = entries_.at(key);
      if (e.size > budget - used) continue;
      out.push_back(e.item);
      used += e.size;
      sent.push_back(key);
    }
    for (const auto& key : sent) {
      auto it = entries_.find(key);
      order_.erase(std::make_tuple(it->second.transmits, ~it->second.generation, key));
      if (++it->second.transmits >= limit) {
        entries_.erase(it);
      } else {
        order_.emplace(it->second.transmits, ~it->second.generation, key);
      }
    }
    return used;
  }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  static constexpr size_t kMinItemBytes = 32;
  static constexpr size_t kMaxScan = 64;
  struct Entry {
    Item item;
    size_t size;
    unsigned transmits;
    uint64_t generation;
  };
  std::map<Key, Entry> entries_;
  std::set<std::tuple<unsigned, uint64_t, Key>> order_;
  uint64_t generation_ = 0;
};

}  // namespace weft::gossip
