// Encoded answers kept for the hot path: a repeated question (same name ignoring case, type,
// class, EDNS and size limit) is answered by copying the bytes, patching the id, the RD/CD
// flags and the question's case, and reshuffling A records in place. Valid for one zone view:
// the owner clears it whenever the view is rebuilt. Pure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/rng.hpp"
#include "dns/wire.hpp"

namespace weft::dns {

class AnswerCache {
 public:
  static constexpr size_t kMaxEntries = 16'384;

  // The response for `query` if cached (into `out`); false when the query is not a plain one
  // (no compression in the question, at most an OPT without options) or not cached.
  bool lookup(std::span<const uint8_t> query, bool tcp, Rng& rng, std::vector<uint8_t>& out);
  // Keeps `encoded` (the response to `query`) when it can be replayed: negative answers, one
  // answer, or A records only (shuffled per hit). Names starting with "nearest" are not kept
  // (their order depends on where instances run, not just a shuffle).
  void store(std::span<const uint8_t> query, bool tcp, const Response& response, const std::vector<uint8_t>& encoded);
  void clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }
  uint64_t hits() const { return hits_; }

 private:
  struct Entry {
    std::vector<uint8_t> bytes;
    size_t answers_at = 0;  // offset of the answer section
    uint16_t shuffle = 0;   // A records at answers_at to shuffle (16 bytes each), 0: none
  };
  struct Key {
    std::string key;     // lowercased wire name + type + class + limit
    size_t name_length;  // wire length of the question name
  };
  static bool key_of(std::span<const uint8_t> query, bool tcp, Key& key);

  std::unordered_map<std::string, Entry> entries_;
  Key scratch_;
  uint64_t hits_ = 0;
};

}  // namespace weft::dns
