#include "dns/respond.hpp"

#include <algorithm>

namespace weft::dns {

size_t reply_limit(const Query& q, bool tcp) {
  if (tcp) return 65535;
  return q.edns ? std::min<size_t>(q.udp_payload, kDefaultEdnsPayload) : kMaxUdpWithoutEdns;
}

Reply respond(std::span<const uint8_t> bytes, bool tcp, const ZoneView& view, Rng& rng, bool may_forward) {
  Reply out;
  Parsed p = parse_query(bytes);
  if (p.kind == Parsed::Kind::ignore) return out;
  out.action = Reply::Action::send;
  if (p.kind == Parsed::Kind::notimp) {
    out.outcome = Reply::Outcome::notimp;
    out.response = error_response(p.query, rcode::notimp, false);
  } else if (p.kind == Parsed::Kind::formerr) {
    out.outcome = Reply::Outcome::formerr;
    out.response = error_response(p.query, rcode::formerr, false);
  } else if (p.query.edns && p.query.edns_version > 0) {
    out.outcome = Reply::Outcome::badvers;  // RFC 6891: we speak EDNS version 0
    out.response = error_response(p.query, rcode::badvers, false);
  } else if (auto a = answer(p.query, view, rng)) {
    out.outcome = a->rcode == rcode::nxdomain ? Reply::Outcome::nxdomain : Reply::Outcome::answered;
    out.response = std::move(*a);
    out.cacheable = true;
  } else if (may_forward) {
    out.action = Reply::Action::forward;
    return out;
  } else {
    out.outcome = Reply::Outcome::refused;
    out.response = error_response(p.query, rcode::refused, true);
  }
  out.bytes = encode_response(out.response, reply_limit(p.query, tcp));
  return out;
}

}  // namespace weft::dns
