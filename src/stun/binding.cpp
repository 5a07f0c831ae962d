#include "stun/binding.hpp"

namespace weft::stun {

std::optional<std::vector<uint8_t>> answer_binding(std::span<const uint8_t> bytes, const Address& from, std::string* why) {
  auto m = parse(bytes, why);
  if (!m) return std::nullopt;
  if (m->cls != Class::request) {
    if (why) *why = "not a request";
    return std::nullopt;
  }
  Message r;
  r.method = m->method;
  r.transaction = m->transaction;
  r.software = kSoftware;
  r.fingerprint = m->has_cookie();  // RFC 3489 clients predate FINGERPRINT
  if (m->method != kBinding) {
    r.cls = Class::error;
    r.error = 400;
    r.reason = "Bad Request: only Binding is served";
  } else if (!m->not_understood.empty() || (m->change_request && (*m->change_request & 0x6))) {
    r.cls = Class::error;
    r.error = 420;
    r.reason = "Unknown Attribute";
    r.unknown_attributes = m->not_understood;
    if (m->change_request && (*m->change_request & 0x6)) r.unknown_attributes.push_back(attr::change_request);
  } else {
    r.cls = Class::success;
    if (m->has_cookie()) r.xor_mapped = from;
    else r.mapped = from;
  }
  return encode(r);
}

}  // namespace weft::stun
