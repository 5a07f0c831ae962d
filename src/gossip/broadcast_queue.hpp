// Piggyback dissemination queue: items waiting to be sent on outgoing messages, least-sent and
// newest first, each sent at most `limit` times. A newer item with the same key replaces the
// older one (a fresh fact about a member supersedes the stale one). Items may be held in another
// form than a message carries (records as shared refs): take() projects them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

namespace weft::gossip {

template <typename Key, typename Item>
class BroadcastQueue {
 public:
  void push(const Key& key, Item item, size_t size) {
    erase(key);
    uint64_t gen = ++generation_;
    auto it = entries_.emplace(key, Entry{std::move(item), size, 0, gen, 0}).first;
    order_.emplace(Rank{0, ~gen}, it);
  }

  void erase(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    order_.erase(rank_of(it->second));
    entries_.erase(it);
  }

  // Takes items whose sizes fit in `budget` bytes, counting a transmission for each and
  // dropping those sent `limit` times. Returns the bytes used. `more_for_same_message`: this
  // take tops up the message of the previous one, which must not carry an item twice (nor
  // count it twice).
  template <typename Out, typename Project = std::identity>
  size_t take(size_t budget, unsigned limit, std::vector<Out>& out, bool more_for_same_message = false,
              Project project = {}) {
    if (!more_for_same_message) ++message_;
    size_t used = 0;
    std::vector<typename Entries::iterator> sent;
    size_t looked = 0, misfits = 0;
    for (const auto& [rank, it] : order_) {
      // Only the head of the queue competes for a packet: a long queue costs no more per send.
      // Items of one kind are of similar size: after a few that did not fit, none will.
      if (budget - used < kMinItemBytes || ++looked > kMaxScan || misfits > kMaxMisfits) break;
      const Entry& e = it->second;
      if (e.message == message_) continue;
      if (e.size > budget - used) {
        ++misfits;
        continue;
      }
      used += e.size;
      sent.push_back(it);
    }
    out.reserve(out.size() + sent.size());
    for (auto it : sent) {
      out.push_back(std::invoke(project, it->second.item));
      it->second.message = message_;
      order_.erase(rank_of(it->second));
      if (++it->second.transmits >= limit) {
        entries_.erase(it);
      } else {
        order_.emplace(rank_of(it->second), it);
      }
    }
    return used;
  }

  bool contains(const Key& key) const { return entries_.count(key) != 0; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  static constexpr size_t kMinItemBytes = 32;
  static constexpr size_t kMaxScan = 64;
  static constexpr size_t kMaxMisfits = 4;
  struct Entry {
    Item item;
    size_t size;
    unsigned transmits;
    uint64_t generation;  // unique per push: ranks never collide
    uint64_t message;     // the message it was last put in
  };
  using Entries = std::map<Key, Entry>;
  using Rank = std::pair<unsigned, uint64_t>;  // (transmits, ~generation): least-sent, newest first
  static Rank rank_of(const Entry& e) { return {e.transmits, ~e.generation}; }

  Entries entries_;
  std::map<Rank, typename Entries::iterator> order_;  // map iterators stay valid across inserts
  uint64_t generation_ = 0;
  uint64_t message_ = 1;
};

}  // namespace weft::gossip
