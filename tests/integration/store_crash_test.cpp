// kill -9 at any point: a child process writes records, reporting each committed transaction
// over a pipe; the parent kills it after a random number of commits (mid-stream: the child is
// already inside the next transaction), reopens the store and finds every reported record.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>

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

[[noreturn]] void writer_child(const std::filesystem::path& dir, int fd, int start) {
  auto store = RecordStore::open(dir, true);
  auto identity = load_or_create_identity(*store);
  auto restored = restore_replica(*store, identity, {}, kT0);
  auto& replica = restored.replica;
  for (int i = start;; ++i) {
    // Batches of 1-3 records per transaction, overwriting some keys.
    for (int j = 0; j <= i % 3; ++j)
      replica.put(Kind::service_instance, "s" + std::to_string(i) + "-" + std::to_string(j),
                  test::service_value("s", "10.210.1." + std::to_string(2 + i % 200)), kT0 + i);
    persist(*store, replica);
    char line[32];
    int n = std::snprintf(line, sizeof line, "%d\n", i);
    if (write(fd, line, n) != n) _exit(1);
  }
}

}  // namespace

TEST(StoreCrash, EveryCommittedRecordSurvivesKill9) {
  test::TempDir dir;
  std::mt19937 rng(std::random_device{}());
  int committed_total = 0;
  int next = 0;  // the commit index the next writer starts from
  for (int round = 0; round < 8; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      writer_child(dir.path(), fds[1], next);
    }
    close(fds[1]);
    FILE* in = fdopen(fds[0], "r");
    int want = std::uniform_int_distribution<int>(1, 120)(rng);
    int last = -1, seen = 0;
    while (seen < want && std::fscanf(in, "%d", &last) == 1) ++seen;
    ASSERT_EQ(seen, want) << "writer died before reporting " << want << " commits";
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    // Drain what the child reported after we stopped reading: those commits count too.
    while (std::fscanf(in, "%d", &last) == 1) ++seen;
    fclose(in);
    committed_total += seen;
    next = last + 1;

    auto store = RecordStore::open(dir.path(), true);
    auto loaded = store->load();
    EXPECT_EQ(loaded.corrupt, 0u);
    auto identity = load_or_create_identity(*store);
    auto restored = restore_replica(*store, identity, {}, kT0);
    EXPECT_EQ(restored.refused, 0u);
    for (int i = 0; i <= last; ++i)
      for (int j = 0; j <= i % 3; ++j)
        ASSERT_TRUE(restored.replica.state().find(
            RecordKey{identity.signing.public_key(), Kind::service_instance,
                      "s" + std::to_string(i) + "-" + std::to_string(j)}))
            << "round " << round << ": commit " << i << " lost";
  }
  EXPECT_GT(committed_total, 8);
}
