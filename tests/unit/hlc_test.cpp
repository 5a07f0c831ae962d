#include <gtest/gtest.h>

#include "crdt/hlc.hpp"

using weft::crdt::Hlc;
using weft::crdt::HlcClock;

TEST(Hlc, PacksMillisAndCounter) {
  Hlc h = Hlc::make(123456789, 42);
  EXPECT_EQ(h.millis(), 123456789u);
  EXPECT_EQ(h.counter(), 42);
  EXPECT_LT(Hlc::make(5, 0xffff), Hlc::make(6, 0));
}

TEST(HlcClock, FollowsWallClockAndCountsWithinAMillisecond) {
  HlcClock clock;
  EXPECT_EQ(clock.now(1000), Hlc::make(1000, 0));
  EXPECT_EQ(clock.now(1000), Hlc::make(1000, 1));
  EXPECT_EQ(clock.now(1005), Hlc::make(1005, 0));
}

TEST(HlcClock, StaysMonotonicWhenTheWallClockStepsBack) {
  HlcClock clock;
  Hlc a = clock.now(5000);
  Hlc b = clock.now(4000);  // NTP stepped the clock back
  EXPECT_GT(b, a);
  EXPECT_EQ(b.millis(), 5000u);
}

TEST(HlcClock, CounterOverflowBorrowsTheNextMillisecond) {
  HlcClock clock(60'000, Hlc::make(7, 0xfffe));
  EXPECT_EQ(clock.now(7), Hlc::make(7, 0xffff));
  EXPECT_EQ(clock.now(7), Hlc::make(8, 0));
}

TEST(HlcClock, ObservedTimestampsPullTheClockForward) {
  HlcClock clock;
  ASSERT_TRUE(clock.observe(Hlc::make(1500, 3), 1000));  // 500 ms ahead: within the bound
  Hlc next = clock.now(1000);
  EXPECT_GT(next, Hlc::make(1500, 3));
}

TEST(HlcClock, RefusesTimestampsBeyondTheDriftBound) {
  HlcClock clock(60'000);
  clock.now(1'000'000);
  EXPECT_FALSE(clock.observe(Hlc::make(1'000'000 + 60'001, 0), 1'000'000));
  EXPECT_EQ(clock.last(), Hlc::make(1'000'000, 0));  // untouched
  EXPECT_TRUE(clock.observe(Hlc::make(1'000'000 + 60'000, 0), 1'000'000));
}

TEST(HlcClock, RestartFromPersistedValueIsMonotonic) {
  HlcClock before;
  Hlc last = before.now(9000);
  last = before.now(9000);
  HlcClock after(60'000, last);       // restored from the store
  EXPECT_GT(after.now(8000), last);   // wall clock behind after the reboot
}
