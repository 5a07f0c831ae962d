#include "crdt/codec.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>

#include "crdt/codec_capnp.hpp"

namespace weft::crdt {

namespace {

// Bounds for untrusted input: a batch of a few thousand records, no deep nesting.
capnp::ReaderOptions reader_limits() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 8 * 1024 * 1024;  // 64 MiB of words: a full-state sync
  options.nestingLimit = 16;
  return options;
}

}  // namespace

void fill_record(schema::SignedRecord::Builder out, const Record& record) {
  out.setKind(static_cast<schema::Kind>(record.key.kind));
  out.setOwner(kj::arrayPtr(record.key.owner.data(), record.key.owner.size()));
  out.setName(record.key.name);
  out.setHlc(record.hlc.raw);
  out.setTombstone(record.tombstone);
  out.setValue(kj::arrayPtr(reinterpret_cast<const kj::byte*>(record.value.data()),
                            record.value.size()));
  out.setSignature(kj::arrayPtr(record.signature.data(), record.signature.size()));
}

std::optional<Record> read_record(schema::SignedRecord::Reader in) {
  auto kind = static_cast<uint16_t>(in.getKind());
  if (kind >= kKindCount || !in.hasOwner() || !in.hasSignature()) return std::nullopt;
  auto owner = in.getOwner();
  auto signature = in.getSignature();
  auto name = in.getName();
  auto value = in.getValue();
  if (owner.size() != 32 || signature.size() != 64 || value.size() > kMaxValueBytes ||
      !valid_name(std::string_view(name.cStr(), name.size())))
    return std::nullopt;
  Record record;
  record.key.kind = static_cast<Kind>(kind);
  std::memcpy(record.key.owner.data(), owner.begin(), 32);
  record.key.name.assign(name.begin(), name.size());
  record.hlc = Hlc{in.getHlc()};
  record.tombstone = in.getTombstone();
  record.value.assign(reinterpret_cast<const char*>(value.begin()), value.size());
  std::memcpy(record.signature.data(), signature.begin(), 64);
  if (record.tombstone && !record.value.empty()) return std::nullopt;
  return record;
}

namespace {

std::string to_string(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Cap'n Proto reads whole words: copy into an aligned buffer (also makes odd lengths an error).
std::optional<kj::Array<capnp::word>> aligned_words(std::span<const uint8_t> bytes) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) return std::nullopt;
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  return words;
}

}  // namespace

std::string encode_record(const Record& record) {
  capnp::MallocMessageBuilder message;
  fill_record(message.initRoot<schema::SignedRecord>(), record);
  return to_string(message);
}

std::optional<Record> decode_record(std::span<const uint8_t> bytes) {
  auto words = aligned_words(bytes);
  if (!words) return std::nullopt;
  std::optional<Record> result;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 capnp::FlatArrayMessageReader reader(*words, reader_limits());
                 result = read_record(reader.getRoot<schema::SignedRecord>());
               })) {
    return std::nullopt;
  }
  return result;
}

std::string encode_batch(std::span<const Record> records) {
  capnp::MallocMessageBuilder message;
  auto list = message.initRoot<schema::RecordBatch>().initRecords(records.size());
  for (size_t i = 0; i < records.size(); ++i) fill_record(list[i], records[i]);
  return to_string(message);
}

std::optional<std::vector<Record>> decode_batch(std::span<const uint8_t> bytes) {
  auto words = aligned_words(bytes);
  if (!words) return std::nullopt;
  std::optional<std::vector<Record>> result;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 capnp::FlatArrayMessageReader reader(*words, reader_limits());
                 std::vector<Record> records;
                 auto list = reader.getRoot<schema::RecordBatch>().getRecords();
                 // No reserve(list.size()): the length is untrusted; a bad element ends the
                 // loop long before memory does.
                 for (auto item : list) {
                   auto record = read_record(item);
                   if (!record) return;
                   records.push_back(std::move(*record));
                 }
                 result = std::move(records);
               })) {
    return std::nullopt;
  }
  return result;
}

}  // namespace weft::crdt
