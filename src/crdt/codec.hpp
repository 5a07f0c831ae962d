// Wire and disk form of records: Cap'n Proto SignedRecord / RecordBatch messages.
// Decoding never throws and never trusts its input: reader limits bound the work, field
// sizes are checked, and anything malformed comes back as nullopt for the caller to count.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crdt/record.hpp"

namespace weft::crdt {

std::string encode_record(const Record& record);
std::optional<Record> decode_record(std::span<const uint8_t> bytes);

std::string encode_batch(std::span<const Record> records);
// nullopt when the message itself is malformed; a batch is all-or-nothing.
std::optional<std::vector<Record>> decode_batch(std::span<const uint8_t> bytes);

inline std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace weft::crdt
