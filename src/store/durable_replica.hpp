// Glue between a pure Replica and its RecordStore: restore at start-up, persist its pending
// changes (with the HLC and last-exchange time in the same transaction, so the clock stays
// monotonic across restarts).
#pragma once

#include <cstdint>

#include "crdt/replica.hpp"
#include "store/identity.hpp"
#include "store/record_store.hpp"

namespace weft::store {

struct Restored {
  crdt::Replica replica;
  size_t refused = 0;  // stored records that failed to decode or verify (skipped, counted)
};

Restored restore_replica(const RecordStore& store, const Identity& identity,
                         crdt::ReplicaOptions options, uint64_t now_ms);

// Writes the replica's pending changes in one transaction; returns how many.
size_t persist(RecordStore& store, crdt::Replica& replica);

}  // namespace weft::store
