#include "gossip/member_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/rng.hpp"
#include "base/slot_index.hpp"

using weft::Rng;
using weft::SlotIndex;
using weft::TextPool;
using weft::gossip::Member;
using weft::gossip::MemberId;
using weft::gossip::MemberState;
using weft::gossip::MemberTable;

namespace {

// Few distinct home cells and tags: long runs, wrap-around and backward shifts across them.
uint64_t crowded_hash(uint64_t key) { return (key % 7) | ((key % 3) << 56); }

MemberId id_of(uint64_t n) {
  MemberId id{};
  for (int b = 0; b < 8; ++b) id[b] = static_cast<uint8_t>((n * 0x9e3779b97f4a7c15ull) >> (8 * b));
  id[31] = static_cast<uint8_t>(n);
  return id;
}

}  // namespace

TEST(SlotIndex, AgreesWithAMapUnderCollidingHashesInsertsAndErases) {
  Rng rng(7);
  std::vector<uint64_t> keys;          // slot -> key
  std::map<uint64_t, uint32_t> model;  // key -> slot
  std::vector<uint32_t> free_slots;
  SlotIndex index;
  auto hash_of = [&](uint32_t slot) { return crowded_hash(keys[slot]); };
  for (int step = 0; step < 20000; ++step) {
    uint64_t key = rng.below(300);
    auto found = index.find(crowded_hash(key), [&](uint32_t s) { return keys[s] == key; });
    auto m = model.find(key);
    ASSERT_EQ(found.has_value(), m != model.end()) << "step " << step;
    if (found) {
      ASSERT_EQ(*found, m->second);
    }
    if (m == model.end()) {
      uint32_t slot;
      if (!free_slots.empty()) {
        slot = free_slots.back();
        free_slots.pop_back();
        keys[slot] = key;
      } else {
        slot = static_cast<uint32_t>(keys.size());
        keys.push_back(key);
      }
      index.insert(crowded_hash(key), slot, hash_of);
      model[key] = slot;
    } else if (rng.below(3) != 0) {
      ASSERT_TRUE(index.erase(crowded_hash(key), m->second, hash_of));
      free_slots.push_back(m->second);
      model.erase(m);
    }
    ASSERT_EQ(index.size(), model.size());
  }
  // Everything still there is found; nothing removed is.
  for (uint64_t key = 0; key < 300; ++key) {
    auto found = index.find(crowded_hash(key), [&](uint32_t s) { return keys[s] == key; });
    EXPECT_EQ(found.has_value(), model.count(key) == 1) << key;
  }
  EXPECT_FALSE(index.erase(crowded_hash(1000), 12345, hash_of));
}

TEST(MemberTable, FindsByIdAndAddressReusesPlacesAndIteratesEveryMember) {
  TextPool texts;
  MemberTable table;
  Rng rng(3);
  std::map<uint64_t, std::string> model;  // member n -> address
  for (int step = 0; step < 5000; ++step) {
    uint64_t n = rng.below(200);
    MemberId id = id_of(n);
    if (auto it = model.find(n); it == model.end()) {
      std::string address = "10.0." + std::to_string(n) + ".1:51821";
      Member& m = table.insert(Member{id, texts.intern("node" + std::to_string(n)), texts.intern(address), n, 0,
                                      MemberState::alive});
      table.claim_address(m);
      model[n] = address;
    } else if (rng.below(2) == 0) {
      table.erase(table.at(id));
      model.erase(it);
    }
    ASSERT_EQ(table.size(), model.size());
  }
  std::set<MemberId> iterated;
  for (const Member& m : table) {
    EXPECT_TRUE(iterated.insert(m.id).second);
    EXPECT_EQ(&table.at(m.id), &m);
  }
  EXPECT_EQ(iterated.size(), model.size());
  for (uint64_t n = 0; n < 200; ++n) {
    const Member* m = table.find(id_of(n));
    ASSERT_EQ(m != nullptr, model.count(n) == 1);
    if (!m) {
      EXPECT_EQ(table.by_address("10.0." + std::to_string(n) + ".1:51821"), nullptr);
      continue;
    }
    EXPECT_EQ(m->incarnation, n);
    EXPECT_EQ(table.by_address(model[n]), m);
  }
  EXPECT_THROW(table.at(id_of(999)), std::out_of_range);
  // The slab does not grow past the most members held at once: places are reused.
  std::vector<uint32_t> slots;
  for (const Member& m : table) slots.push_back(m.slot);
  EXPECT_LT(*std::max_element(slots.begin(), slots.end()), 200u);
}

TEST(MemberTable, AnAddressMovesToItsLastClaimantAndIsReleasedOnlyByItsHolder) {
  TextPool texts;
  MemberTable table;
  Member& old_m = table.insert(Member{id_of(1), texts.intern("a"), texts.intern("10.0.0.1:51821"), 0, 0, MemberState::dead});
  table.claim_address(old_m);
  Member& new_m = table.insert(Member{id_of(2), texts.intern("a"), texts.intern("10.0.0.1:51821"), 0, 0, MemberState::alive});
  EXPECT_EQ(table.by_address("10.0.0.1:51821"), &old_m);  // inserting does not claim
  table.claim_address(new_m);
  EXPECT_EQ(table.by_address("10.0.0.1:51821"), &new_m);
  table.release_address(old_m);  // not the holder: nothing changes
  EXPECT_EQ(table.by_address("10.0.0.1:51821"), &new_m);
  table.erase(old_m);
  EXPECT_EQ(table.by_address("10.0.0.1:51821"), &new_m);
  table.erase(new_m);
  EXPECT_EQ(table.by_address("10.0.0.1:51821"), nullptr);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.begin(), table.end());
}
