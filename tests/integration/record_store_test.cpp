#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/stat.h>

#include <fstream>
#include <random>

#include "crdt/anti_entropy.hpp"
#include "store/durable_replica.hpp"
#include "store/identity.hpp"
#include "store/record_store.hpp"
#include "support/keys.hpp"
#include "support/temp_dir.hpp"

using namespace weft;
using namespace weft::crdt;
using namespace weft::store;

namespace {
constexpr uint64_t kT0 = 1'700'000'000'000;

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

std::string open_error(const std::filesystem::path& dir) {
  try {
    RecordStore::open(dir);
  } catch (const StoreError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(RecordStore, RecordsAndIdentitySurviveReopen) {
  test::TempDir dir;
  OwnerId id;
  Digest digest;
  {
    auto store = RecordStore::open(dir.path());
    auto identity = load_or_create_identity(*store);
    id = identity.signing.public_key();
    auto restored = restore_replica(*store, identity, {}, kT0);
    auto& replica = restored.replica;
    for (int i = 0; i < 50; ++i)
      replica.put(Kind::service_instance, "s" + std::to_string(i), test::service_value("s", "10.210.1.2"), kT0 + i);
    replica.erase(Kind::service_instance, "s7", kT0 + 100);
    auto other = test::test_replica(5);
    other.put(Kind::service_instance, "x", test::service_value("x", "10.210.2.2"), kT0);
    exchange(replica, other, kT0 + 200);
    EXPECT_EQ(persist(*store, replica), 52u);  // 51 own writes + 1 received
    digest = replica.state().digest();
  }
  auto store = RecordStore::open(dir.path());
  auto identity = load_or_create_identity(*store);
  EXPECT_EQ(identity.signing.public_key(), id);  // same identity, not a new one
  auto restored = restore_replica(*store, identity, {}, kT0 + 300);
  EXPECT_EQ(restored.refused, 0u);
  EXPECT_EQ(restored.replica.state().digest(), digest);
  EXPECT_TRUE(restored.replica.fresh(kT0 + 300));  // last exchange time persisted
  // The clock resumes past everything written, even with the wall clock set back a day.
  Record next = restored.replica.put(Kind::service_instance, "later", test::service_value("l", "10.210.1.3"),
                                     kT0 - 86'400'000);
  EXPECT_GT(next.hlc, digest.at(id).max);
}

TEST(RecordStore, PrivateKeysLiveOnlyInOwnerOnlyFiles) {
  test::TempDir dir;
  auto data = dir.path() / "data";
  auto store = RecordStore::open(data);
  auto identity = load_or_create_identity(*store);
  EXPECT_EQ(mode_of(data), 0700u);
  EXPECT_EQ(mode_of(data / "data.mdb"), 0600u);
  EXPECT_EQ(mode_of(data / "lock.mdb"), 0600u);
  // The WireGuard public key is the X25519 of the private one; private keys are not in records.
  auto restored = restore_replica(*store, identity, {}, kT0);
  MachineValue m{"m", identity.wireguard_public, identity.signing.public_key(), {"127.0.0.1", 51821}, false, "t"};
  Record r = restored.replica.put(Kind::machine, kMachineRecordName, encode_value(m), kT0);
  std::string seed(reinterpret_cast<const char*>(identity.signing.seed().data()), 32);
  std::string wg(reinterpret_cast<const char*>(identity.wireguard_private.data()), 32);
  EXPECT_EQ(r.value.find(seed), std::string::npos);
  EXPECT_EQ(r.value.find(wg), std::string::npos);
}

TEST(RecordStore, RandomBytesAsDataFileGiveAClearError) {
  test::TempDir dir;
  {
    std::ofstream f(dir.path() / "data.mdb", std::ios::binary);
    std::mt19937 rng(42);
    for (int i = 0; i < 64 * 1024; ++i) f.put(static_cast<char>(rng()));
  }
  EXPECT_NE(open_error(dir.path()).find("not a weft data file"), std::string::npos) << open_error(dir.path());
}

TEST(RecordStore, AnotherProgramsLmdbFileIsRefused) {
  test::TempDir dir;
  MDB_env* env;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_open(env, dir.path().c_str(), 0, 0600), 0);
  MDB_txn* txn;
  MDB_dbi dbi;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
  MDB_val k{3, const_cast<char*>("key")}, v{5, const_cast<char*>("value")};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  EXPECT_NE(open_error(dir.path()).find("another program"), std::string::npos) << open_error(dir.path());
}

TEST(RecordStore, TruncatedDataFileIsRefusedNotMapped) {
  test::TempDir dir;
  {
    auto store = RecordStore::open(dir.path());
    auto replica = test::test_replica(1);
    for (int i = 0; i < 2000; ++i)
      replica.put(Kind::service_instance, "s" + std::to_string(i), test::service_value("s", "10.210.1.2"), kT0 + i);
    store->apply(replica.take_changes());
  }
  auto file = dir.path() / "data.mdb";
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  EXPECT_NE(open_error(dir.path()).find("truncated"), std::string::npos) << open_error(dir.path());
}

TEST(RecordStore, InitialisedDirWithoutItsDataFileIsRefused) {
  test::TempDir dir;
  { RecordStore::open(dir.path()); }
  std::filesystem::remove(dir.path() / "data.mdb");
  EXPECT_NE(open_error(dir.path()).find("blank state"), std::string::npos) << open_error(dir.path());
  std::ofstream(dir.path() / "data.mdb").flush();  // emptied rather than removed
  EXPECT_NE(open_error(dir.path()).find("blank state"), std::string::npos);
}

TEST(RecordStore, CorruptEntriesAreCountedAndSkipped) {
  test::TempDir dir;
  auto key = test::test_key(1);
  {
    auto store = RecordStore::open(dir.path());
    auto replica = test::test_replica(1);
    replica.put(Kind::service_instance, "good", test::service_value("g", "10.210.1.2"), kT0);
    store->apply(replica.take_changes());
  }
  {
    // Write garbage and a record under the wrong key straight into the records table.
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, dir.path().c_str(), 0, 0600), 0);
    MDB_txn* txn;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "records", 0, &dbi), 0);
    MDB_val k{4, const_cast<char*>("junk")}, v{11, const_cast<char*>("not a recor")};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  auto store = RecordStore::open(dir.path());
  auto loaded = store->load();
  EXPECT_EQ(loaded.records.size(), 1u);
  EXPECT_EQ(loaded.corrupt, 1u);
}

TEST(RecordStore, SecondExclusiveOpenIsRefused) {
  test::TempDir dir;
  auto first = RecordStore::open(dir.path(), /*exclusive=*/true);
  try {
    RecordStore::open(dir.path(), true);
    FAIL() << "second exclusive open succeeded";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
}
