// RecordStore: the data dir's LMDB environment holding the replica's records and metadata
// (identity secrets, HLC, last exchange). Every apply() is one durable transaction: after it
// returns the change survives kill -9 and power loss (LMDB's default synchronous commit).
//
// Opening refuses, with a StoreError that says what is wrong, a data file that is not LMDB,
// an LMDB file that is not weft's, a file of a newer format, a truncated file, and a data dir
// that was initialised but whose data file has vanished or been emptied. A record that fails to
// decode is counted by load(), never returned and never a crash.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/record.hpp"
#include "crdt/replica.hpp"

namespace weft::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RecordStore {
 public:
  // Creates the data dir (0700) and data file (0600) when absent. With `exclusive`, also takes
  // an advisory lock so a second agent on the same data dir is refused.
  static std::unique_ptr<RecordStore> open(const std::filesystem::path& data_dir,
                                           bool exclusive = false);
  ~RecordStore();
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  // Upserts and removals in one transaction, plus optional metadata in the same transaction.
  void apply(std::span<const crdt::Change> changes,
             std::span<const std::pair<std::string, std::string>> meta = {});
  void put(std::span<const crdt::Record> records);

  struct Loaded {
    std::vector<crdt::Record> records;
    size_t corrupt = 0;  // entries that did not decode (skipped)
  };
  Loaded load() const;
  size_t record_count() const;

  std::optional<std::string> get_meta(std::string_view key) const;
  void put_meta(std::string_view key, std::string_view value);

  const std::filesystem::path& data_dir() const { return dir_; }

  static std::string encode_key(const crdt::RecordKey& key);

 private:
  struct Impl;
  explicit RecordStore(std::filesystem::path dir);
  std::filesystem::path dir_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::store
