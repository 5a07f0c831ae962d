// libFuzzer target: the STUN decoder and the Binding server on any bytes (what anyone can send to
// the control port). No crash; a refusal says why; a parsed message re-encodes to bytes that parse
// back to the same fields; an answer is itself a well-formed response to the same transaction.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "stun/binding.hpp"
#include "stun/message.hpp"

using namespace weft::stun;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  (void)looks_like_stun(bytes);
  std::string why;
  auto m = parse(bytes, &why);
  if (!m && why.empty()) std::abort();
  if (m) {
    auto again = parse(encode(*m), &why);
    if (!again || again->method != m->method || again->cls != m->cls || again->transaction != m->transaction ||
        again->xor_mapped != m->xor_mapped || again->mapped != m->mapped || again->error != m->error ||
        again->unknown_attributes != m->unknown_attributes || again->software != m->software ||
        again->change_request != m->change_request || again->fingerprint != m->fingerprint)
      std::abort();
  }
  Address from;
  from.ip = {198, 51, 100, 7};
  from.port = 4000;
  why.clear();
  auto reply = answer_binding(bytes, from, &why);
  if (!reply && why.empty()) std::abort();
  if (reply) {
    auto r = parse(*reply, &why);
    if (!r || r->transaction != m->transaction || (r->cls != Class::success && r->cls != Class::error)) std::abort();
  }
  return 0;
}
