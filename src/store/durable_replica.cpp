#include "store/durable_replica.hpp"

#include <charconv>

namespace weft::store {

namespace {

constexpr const char* kHlc = "replica.hlc";
constexpr const char* kLastExchange = "replica.last_exchange_ms";

std::optional<uint64_t> number(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc{} || p != text->data() + text->size()) return std::nullopt;
  return v;
}

}  // namespace

Restored restore_replica(const RecordStore& store, const Identity& identity,
                         crdt::ReplicaOptions options, uint64_t now_ms) {
  crdt::Hlc start{number(store.get_meta(kHlc)).value_or(0)};
  Restored out{crdt::Replica(identity.signing, options, start), 0};
  auto loaded = store.load();
  out.refused = loaded.corrupt + out.replica.restore(loaded.records, now_ms);
  out.replica.set_last_exchange_ms(number(store.get_meta(kLastExchange)));
  return out;
}

size_t persist(RecordStore& store, crdt::Replica& replica) {
  auto changes = replica.take_changes();
  std::vector<std::pair<std::string, std::string>> meta{
      {kHlc, std::to_string(replica.clock().last().raw)}};
  if (auto t = replica.last_exchange_ms()) meta.emplace_back(kLastExchange, std::to_string(*t));
  store.apply(changes, meta);
  return changes.size();
}

}  // namespace weft::store
