// The Cap'n Proto side of the record codec, for other codecs that embed SignedRecord lists
// (gossip messages). Not for use by pure logic: it exposes generated types.
#pragma once

#include <optional>

#include "crdt/record.hpp"
#include "schema/records.capnp.h"

namespace weft::crdt {

void fill_record(schema::SignedRecord::Builder out, const Record& record);
// nullopt for a malformed record (wrong sizes, bad name, a tombstone with a value).
std::optional<Record> read_record(schema::SignedRecord::Reader in);

}  // namespace weft::crdt
