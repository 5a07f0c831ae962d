#include "base/text_pool.hpp"

#include <gtest/gtest.h>

#include <vector>

using weft::Text;
using weft::TextPool;

TEST(TextPool, EqualStringsShareOneCopyFreedWithTheLastHolder) {
  TextPool pool;
  Text a = pool.intern("10.0.0.1:51821");
  Text b = pool.intern(std::string("10.0.0.1:") + "51821");
  EXPECT_EQ(&a.str(), &b.str());  // one copy
  EXPECT_EQ(pool.size(), 1u);
  Text c = pool.intern("node7");
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_NE(a, c);
  {
    Text copy = a;  // a third holder
    a = Text();
    b = c;  // b lets go of the address too; copy still holds it
    EXPECT_EQ(pool.size(), 2u);
    EXPECT_EQ(copy, "10.0.0.1:51821");
  }
  EXPECT_EQ(pool.size(), 1u);  // the address went with its last holder
  EXPECT_EQ(b.str(), "node7");
  Text moved = std::move(b);
  EXPECT_TRUE(b.empty_text());
  EXPECT_EQ(moved, c);
  EXPECT_EQ(pool.size(), 1u);
}

TEST(TextPool, TheEmptyStringTakesNoEntry) {
  TextPool pool;
  Text e = pool.intern("");
  EXPECT_TRUE(e.empty_text());
  EXPECT_EQ(e.str(), "");
  EXPECT_EQ(e, Text());
  EXPECT_EQ(pool.size(), 0u);
}

TEST(TextPool, ManyHoldersInAnyOrderLeaveNothingBehind) {
  TextPool pool;
  std::vector<Text> held;
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 100; ++i) held.push_back(pool.intern("n" + std::to_string(i % 37)));
  EXPECT_EQ(pool.size(), 37u);
  for (size_t i = 0; i < held.size(); i += 2) held[i] = Text();  // every other one, then the rest
  EXPECT_EQ(pool.size(), 37u);
  for (size_t i = 1; i < held.size(); i += 2) {
    EXPECT_EQ(held[i], "n" + std::to_string((i % 100) % 37));
    held[i] = Text();
  }
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_LT(Text(pool.intern("a")), pool.intern("b"));
}
