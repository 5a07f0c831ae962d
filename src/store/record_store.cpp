#include "store/record_store.hpp"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "crdt/codec.hpp"

namespace weft::store {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFormat = "weft-store-1";
constexpr const char* kMarkerFile = "STORE";  // written once the data file is initialised
constexpr const char* kDataFile = "data.mdb";
constexpr size_t kMapSize = size_t{4} << 30;  // address space only: the file grows as needed

void check(int rc, const std::string& what) {
  if (rc != MDB_SUCCESS) throw StoreError(what + ": " + mdb_strerror(rc));
}

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// Aborts a transaction on scope exit unless committed.
struct Txn {
  MDB_txn* txn = nullptr;
  Txn(MDB_env* env, unsigned flags) { check(mdb_txn_begin(env, nullptr, flags, &txn), "begin transaction"); }
  ~Txn() {
    if (txn) mdb_txn_abort(txn);
  }
  void commit() {
    int rc = mdb_txn_commit(txn);
    txn = nullptr;
    check(rc, "commit");
  }
};

}  // namespace

struct RecordStore::Impl {
  MDB_env* env = nullptr;
  MDB_dbi records = 0;
  MDB_dbi meta = 0;
  int lock_fd = -1;
  ~Impl() {
    if (env) mdb_env_close(env);
    if (lock_fd >= 0) close(lock_fd);
  }
};

RecordStore::RecordStore(fs::path dir) : dir_(std::move(dir)), impl_(std::make_unique<Impl>()) {}
RecordStore::~RecordStore() = default;

std::unique_ptr<RecordStore> RecordStore::open(const fs::path& data_dir, bool exclusive) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) throw StoreError("cannot create data dir " + data_dir.string() + ": " + ec.message());
  fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (!fs::is_directory(data_dir)) throw StoreError(data_dir.string() + " is not a directory");

  std::unique_ptr<RecordStore> store(new RecordStore(data_dir));
  Impl& impl = *store->impl_;
  if (exclusive) {
    impl.lock_fd = ::open((data_dir / "agent.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (impl.lock_fd < 0 || flock(impl.lock_fd, LOCK_EX | LOCK_NB) != 0)
      throw StoreError("data dir " + data_dir.string() + " is in use by another weft process");
  }

  const fs::path data_file = data_dir / kDataFile;
  const bool initialised = fs::exists(data_dir / kMarkerFile);
  const bool file_present = fs::exists(data_file) && fs::file_size(data_file, ec) > 0;
  if (initialised && !file_present)
    throw StoreError(data_file.string() + " is missing or empty, but " + data_dir.string() +
                     " was initialised: refusing to start from a blank state (restore the file, "
                     "or remove the data dir to join as a new machine)");

  check(mdb_env_create(&impl.env), "lmdb env");
  check(mdb_env_set_maxdbs(impl.env, 4), "lmdb maxdbs");
  check(mdb_env_set_mapsize(impl.env, kMapSize), "lmdb mapsize");
  int rc = mdb_env_open(impl.env, data_dir.c_str(), MDB_NOTLS, 0600);
  if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
    throw StoreError(data_file.string() + " is not a weft data file (corrupt, or another " +
                     "program's): " + mdb_strerror(rc));
  check(rc, "open " + data_file.string());
  ::chmod(data_file.c_str(), 0600);
  ::chmod((data_dir / "lock.mdb").c_str(), 0600);

  // A file cut short would fault on first access to a missing page: check before reading.
  MDB_envinfo info;
  MDB_stat stat;
  mdb_env_info(impl.env, &info);
  mdb_env_stat(impl.env, &stat);
  auto size = fs::file_size(data_file, ec);
  if (!ec && file_present && (info.me_last_pgno + 1) * uint64_t{stat.ms_psize} > size)
    throw StoreError(data_file.string() + " is truncated (" + std::to_string(size) +
                     " bytes, its pages need " +
                     std::to_string((info.me_last_pgno + 1) * uint64_t{stat.ms_psize}) + ")");

  Txn txn(impl.env, 0);
  MDB_dbi main_db;
  check(mdb_dbi_open(txn.txn, nullptr, 0, &main_db), "open main db");
  MDB_stat main_stat;
  check(mdb_stat(txn.txn, main_db, &main_stat), "stat main db");
  rc = mdb_dbi_open(txn.txn, "meta", 0, &impl.meta);
  if (rc == MDB_NOTFOUND) {
    if (main_stat.ms_entries != 0)
      throw StoreError(data_file.string() + " is an LMDB file of another program, not weft's");
    check(mdb_dbi_open(txn.txn, "meta", MDB_CREATE, &impl.meta), "create meta db");
    MDB_val k = val("format"), v = val(kFormat);
    check(mdb_put(txn.txn, impl.meta, &k, &v, 0), "write format");
  } else {
    if (rc == MDB_INCOMPATIBLE)
      throw StoreError(data_file.string() + " is an LMDB file of another program, not weft's");
    check(rc, "open meta db");
    MDB_val k = val("format"), v;
    rc = mdb_get(txn.txn, impl.meta, &k, &v);
    if (rc == MDB_NOTFOUND || view(v).substr(0, 10) != kFormat.substr(0, 10))
      throw StoreError(data_file.string() + " is an LMDB file of another program, not weft's");
    if (view(v) != kFormat)
      throw StoreError(data_file.string() + " has format " + std::string(view(v)) +
                       "; this weft reads " + std::string(kFormat));
  }
  check(mdb_dbi_open(txn.txn, "records", MDB_CREATE, &impl.records), "open records db");
  txn.commit();

  if (!initialised) {
    std::ofstream marker(data_dir / kMarkerFile);
    marker << kFormat << "\n";
    if (!marker.flush()) throw StoreError("cannot write " + (data_dir / kMarkerFile).string());
  }
  return store;
}

std::string RecordStore::encode_key(const crdt::RecordKey& key) {
  std::string out(reinterpret_cast<const char*>(key.owner.data()), key.owner.size());
  auto kind = static_cast<uint16_t>(key.kind);
  out.push_back(static_cast<char>(kind >> 8));
  out.push_back(static_cast<char>(kind));
  out += key.name;
  return out;
}

void RecordStore::apply(std::span<const crdt::Change> changes,
                        std::span<const std::pair<std::string, std::string>> meta) {
  Txn txn(impl_->env, 0);
  for (const auto& change : changes) {
    std::string key = encode_key(change.key);
    MDB_val k = val(key);
    if (change.record) {
      std::string bytes = crdt::encode_record(*change.record);
      MDB_val v = val(bytes);
      check(mdb_put(txn.txn, impl_->records, &k, &v, 0), "write record");
    } else {
      int rc = mdb_del(txn.txn, impl_->records, &k, nullptr);
      if (rc != MDB_NOTFOUND) check(rc, "delete record");
    }
  }
  for (const auto& [name, value] : meta) {
    MDB_val k = val(name), v = val(value);
    check(mdb_put(txn.txn, impl_->meta, &k, &v, 0), "write meta");
  }
  txn.commit();
}

void RecordStore::put(std::span<const crdt::Record> records) {
  std::vector<crdt::Change> changes;
  changes.reserve(records.size());
  for (const auto& r : records) changes.push_back(crdt::Change{r.key, r});
  apply(changes);
}

RecordStore::Loaded RecordStore::load() const {
  Loaded out;
  Txn txn(impl_->env, MDB_RDONLY);
  MDB_cursor* cursor;
  check(mdb_cursor_open(txn.txn, impl_->records, &cursor), "open cursor");
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    auto record = crdt::decode_record({static_cast<const uint8_t*>(v.mv_data), v.mv_size});
    if (record && encode_key(record->key) == view(k)) out.records.push_back(std::move(*record));
    else ++out.corrupt;
  }
  mdb_cursor_close(cursor);
  return out;
}

size_t RecordStore::record_count() const {
  Txn txn(impl_->env, MDB_RDONLY);
  MDB_stat stat;
  check(mdb_stat(txn.txn, impl_->records, &stat), "stat records");
  return stat.ms_entries;
}

std::optional<std::string> RecordStore::get_meta(std::string_view key) const {
  Txn txn(impl_->env, MDB_RDONLY);
  MDB_val k = val(key), v;
  int rc = mdb_get(txn.txn, impl_->meta, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "read meta");
  return std::string(view(v));
}

void RecordStore::put_meta(std::string_view key, std::string_view value) {
  std::pair<std::string, std::string> entry{std::string(key), std::string(value)};
  apply({}, std::span(&entry, 1));
}

}  // namespace weft::store
