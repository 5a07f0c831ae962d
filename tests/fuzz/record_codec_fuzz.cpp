// libFuzzer target: every decoder of replicated records (SignedRecord, RecordBatch, and each
// value struct), then the merge path a decoded record takes. The first byte picks the decoder
// so one target covers them all; nothing here may crash, leak or trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "crdt/codec.hpp"
#include "crdt/replica.hpp"
#include "crdt/values.hpp"

using namespace weft::crdt;

namespace {

const SigningKey& observer_key() {
  static const SigningKey key = SigningKey::from_seed(SigningSeed{});
  return key;
}

void merge_all(std::span<const Record> records) {
  Replica observer(observer_key());
  observer.receive(records, 1'700'000'000'000);
  observer.collect_garbage(1'700'000'000'000);
  (void)observer.state().delta_for(Digest{});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> body(data + 1, size - 1);
  std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  switch (data[0] % 10) {
    case 0:
      if (auto r = decode_record(body)) {
        check_value(*r);
        merge_all(std::span(&*r, 1));
        // Re-encoding what decoded must decode to the same record.
        if (decode_record(as_bytes(encode_record(*r))) != r) __builtin_trap();
      }
      break;
    case 1:
      if (auto batch = decode_batch(body)) merge_all(*batch);
      break;
    case 2: (void)decode_machine(text); break;
    case 3: (void)decode_subnet_claim(text); break;
    case 4: (void)decode_endpoint_candidates(text); break;
    case 5: (void)decode_observed_endpoint(text); break;
    case 6: (void)decode_container_lease(text); break;
    case 7: (void)decode_service_instance(text); break;
    case 8: (void)decode_access_session(text); break;
    case 9: (void)decode_machine_removal(text); break;
  }
  return 0;
}
