// DNS wire format (RFC 1035, EDNS0 of RFC 6891): parsing queries and writing responses with
// name compression. Pure: bytes in, bytes out. Every parse is bounded by the input (a pointer
// may only point backwards, at most 63 bytes a label, 255 a name) and never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace weft::dns {

namespace type {
inline constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28, SRV = 33,
                          OPT = 41, IXFR = 251, AXFR = 252, ANY = 255;
}
inline constexpr uint16_t kClassIn = 1, kClassAny = 255;

namespace rcode {
inline constexpr uint16_t noerror = 0, formerr = 1, servfail = 2, nxdomain = 3, notimp = 4, refused = 5,
                          badvers = 16;  // extended (EDNS)
}

inline constexpr uint16_t kDefaultEdnsPayload = 1232;
inline constexpr size_t kMaxUdpWithoutEdns = 512;

// ASCII lowercase (DNS names match case-insensitively, RFC 4343).
std::string lowercase(std::string s);

// A domain name as labels, in the case they were sent (matching is case-insensitive).
struct Name {
  std::vector<std::string> labels;
  std::string text() const;         // "api.internal" (no trailing dot; "" for the root)
  std::string lower_text() const;   // lowercased text, for matching
  bool operator==(const Name&) const = default;
  static std::optional<Name> parse_text(const std::string& dotted);  // "a.b" or "a.b."
};

struct Question {
  Name name;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};

struct Query {
  uint16_t id = 0;
  uint8_t opcode = 0;
  bool rd = false;  // recursion desired: echoed
  bool cd = false;
  Question question;
  bool edns = false;
  uint8_t edns_version = 0;
  uint16_t udp_payload = 0;  // the client's advertised size (EDNS), 0 without EDNS
  bool dnssec_ok = false;
};

// What a datagram or TCP message turned out to be.
struct Parsed {
  enum class Kind {
    query,      // well-formed, exactly one question
    formerr,    // header readable, rest malformed: answer FORMERR (id and opcode known)
    notimp,     // an opcode other than QUERY: answer NOTIMP
    ignore,     // too short for a header, or a response (QR set): drop silently
  } kind = Kind::ignore;
  Query query;  // for formerr/notimp: id, opcode, rd (and EDNS if it could be read)
};

Parsed parse_query(std::span<const uint8_t> bytes);

struct Record {
  Name name;
  uint16_t rtype = 0;
  uint32_t ttl = 0;
  // One of these, by type:
  uint32_t a = 0;                     // A (host order)
  Name target;                        // NS, PTR, CNAME; SRV target
  uint16_t priority = 0, weight = 0, port = 0;  // SRV
  Name soa_mname, soa_rname;          // SOA
  uint32_t soa_serial = 0, soa_refresh = 0, soa_retry = 0, soa_expire = 0, soa_minimum = 0;
};

struct Response {
  uint16_t id = 0;
  uint8_t opcode = 0;
  bool aa = false, rd = false, ra = false, cd = false;
  uint16_t rcode = 0;  // may be extended (> 15): needs EDNS
  std::optional<Question> question;
  std::vector<Record> answers, authority, additional;
  bool edns = false;  // include an OPT record
  uint16_t edns_payload = kDefaultEdnsPayload;
};

// Encodes a response within `max_size` bytes. When it does not fit, the answer, authority and
// additional sections are dropped and TC is set (the client retries over TCP).
std::vector<uint8_t> encode_response(const Response& response, size_t max_size);

// A query message (clients, tests, the forwarder).
std::vector<uint8_t> encode_query(uint16_t id, const Name& name, uint16_t qtype, bool rd, bool edns,
                                  uint16_t edns_payload = kDefaultEdnsPayload);

// The rcode and id of a response message, for the forwarder: nullopt when not a response.
struct ResponseHeader {
  uint16_t id = 0;
  bool tc = false;
  uint16_t rcode = 0;
};
std::optional<ResponseHeader> peek_response(std::span<const uint8_t> bytes);

}  // namespace weft::dns
