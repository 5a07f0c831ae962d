#include "dns/wire.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace weft::dns {

namespace {

constexpr size_t kHeader = 12;
constexpr size_t kMaxName = 255;
constexpr size_t kMaxLabel = 63;
constexpr int kMaxPointerHops = 32;

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : b_(bytes) {}
  bool u8(uint8_t& v) {
    if (pos_ + 1 > b_.size()) return false;
    v = b_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (pos_ + 2 > b_.size()) return false;
    v = static_cast<uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    uint16_t hi, lo;
    if (!u16(hi) || !u16(lo)) return false;
    v = uint32_t{hi} << 16 | lo;
    return true;
  }
  bool skip(size_t n) {
    if (pos_ + n > b_.size()) return false;
    pos_ += n;
    return true;
  }
  // A possibly compressed name; pointers must point strictly backwards.
  bool name(Name& out) {
    out.labels.clear();
    size_t at = pos_, wire_length = 1;
    bool jumped = false;
    for (int hops = 0;;) {
      if (at >= b_.size()) return false;
      uint8_t len = b_[at];
      if ((len & 0xC0) == 0xC0) {
        if (at + 1 >= b_.size() || ++hops > kMaxPointerHops) return false;
        size_t target = static_cast<size_t>(len & 0x3F) << 8 | b_[at + 1];
        if (target >= at) return false;  // forward or self pointer: refuse (no loops)
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if (len & 0xC0) return false;  // 0x40/0x80: extended label types, unsupported
      if (len == 0) {
        if (!jumped) pos_ = at + 1;
        return true;
      }
      if (at + 1 + len > b_.size()) return false;
      wire_length += len + 1;
      if (wire_length > kMaxName) return false;
      out.labels.emplace_back(reinterpret_cast<const char*>(&b_[at + 1]), len);
      at += 1 + len;
    }
  }
  size_t pos() const { return pos_; }
  size_t size() const { return b_.size(); }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void set_u16(size_t at, uint16_t v) {
    out_[at] = static_cast<uint8_t>(v >> 8);
    out_[at + 1] = static_cast<uint8_t>(v);
  }
  // Writes a name, pointing at an earlier copy of its longest known suffix (case-insensitive).
  void name(const Name& n, bool compress = true) {
    for (size_t i = 0; i < n.labels.size(); ++i) {
      std::string suffix;
      for (size_t k = i; k < n.labels.size(); ++k) suffix += lowercase(n.labels[k]) + ".";
      if (compress) {
        auto it = offsets_.find(suffix);
        if (it != offsets_.end()) {
          u16(static_cast<uint16_t>(0xC000 | it->second));
          return;
        }
        if (out_.size() < 0x3FFF) offsets_.emplace(suffix, static_cast<uint16_t>(out_.size()));
      }
      const std::string& label = n.labels[i];
      u8(static_cast<uint8_t>(std::min(label.size(), kMaxLabel)));
      out_.insert(out_.end(), label.begin(), label.begin() + static_cast<long>(std::min(label.size(), kMaxLabel)));
    }
    u8(0);
  }
  size_t size() const { return out_.size(); }
  std::vector<uint8_t>& bytes() { return out_; }

 private:
  std::vector<uint8_t> out_;
  std::map<std::string, uint16_t> offsets_;
};

void write_record(Writer& w, const Record& r) {
  w.name(r.name);
  w.u16(r.rtype);
  w.u16(kClassIn);
  w.u32(r.ttl);
  size_t length_at = w.size();
  w.u16(0);
  size_t start = w.size();
  switch (r.rtype) {
    case type::A: w.u32(r.a); break;
    case type::NS:
    case type::PTR:
    case type::CNAME: w.name(r.target); break;
    case type::SRV:
      w.u16(r.priority);
      w.u16(r.weight);
      w.u16(r.port);
      w.name(r.target, /*compress=*/false);  // RFC 2782: no compression in SRV targets
      break;
    case type::SOA:
      w.name(r.soa_mname);
      w.name(r.soa_rname);
      w.u32(r.soa_serial);
      w.u32(r.soa_refresh);
      w.u32(r.soa_retry);
      w.u32(r.soa_expire);
      w.u32(r.soa_minimum);
      break;
    default: break;
  }
  w.set_u16(length_at, static_cast<uint16_t>(w.size() - start));
}

void write_question(Writer& w, const Question& q) {
  w.name(q.name);
  w.u16(q.qtype);
  w.u16(q.qclass);
}

// EDNS OPT pseudo-record: root name, type 41, class = payload size, TTL = ext-rcode|version|DO.
void write_opt(Writer& w, uint16_t payload, uint16_t rcode) {
  w.u8(0);
  w.u16(type::OPT);
  w.u16(payload);
  w.u32(static_cast<uint32_t>(rcode >> 4) << 24);
  w.u16(0);
}

}  // namespace

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Name::text() const {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) out += (i ? "." : "") + labels[i];
  return out;
}

std::string Name::lower_text() const { return lowercase(text()); }

std::optional<Name> Name::parse_text(const std::string& dotted) {
  Name n;
  std::string s = dotted;
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s.empty()) return n;
  size_t start = 0, wire = 1;
  for (;;) {
    size_t dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabel) return std::nullopt;
    wire += label.size() + 1;
    if (wire > kMaxName) return std::nullopt;
    n.labels.push_back(std::move(label));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return n;
}

Parsed parse_query(std::span<const uint8_t> bytes) {
  Parsed p;
  Reader r(bytes);
  uint16_t id, flags, qd, an, ns, ar;
  if (!r.u16(id) || !r.u16(flags) || !r.u16(qd) || !r.u16(an) || !r.u16(ns) || !r.u16(ar)) return p;
  if (flags & 0x8000) return p;  // a response: never answer one (no reflection loops)
  p.query.id = id;
  p.query.opcode = static_cast<uint8_t>((flags >> 11) & 0xF);
  p.query.rd = flags & 0x0100;
  p.query.cd = flags & 0x0010;
  if (p.query.opcode != 0) {
    p.kind = Parsed::Kind::notimp;
    return p;
  }
  p.kind = Parsed::Kind::formerr;
  if (qd != 1 || an != 0 || ns > 0 || ar > 1) return p;
  if (!r.name(p.query.question.name) || !r.u16(p.query.question.qtype) || !r.u16(p.query.question.qclass)) return p;
  if (ar == 1) {
    Name owner;
    uint16_t rtype, rclass, rdlength;
    uint32_t ttl;
    if (!r.name(owner) || !r.u16(rtype) || !r.u16(rclass) || !r.u32(ttl) || !r.u16(rdlength) || !r.skip(rdlength))
      return p;
    if (rtype != type::OPT || !owner.labels.empty()) return p;  // only an OPT may ride along
    p.query.edns = true;
    p.query.udp_payload = std::max<uint16_t>(rclass, kMaxUdpWithoutEdns);
    p.query.edns_version = static_cast<uint8_t>(ttl >> 16);
    p.query.dnssec_ok = ttl & 0x8000;
  }
  if (r.pos() != r.size()) return p;  // trailing garbage
  p.kind = Parsed::Kind::query;
  return p;
}

std::vector<uint8_t> encode_response(const Response& resp, size_t max_size) {
  auto encode = [&](bool truncate) {
    Writer w;
    w.u16(resp.id);
    uint16_t flags = 0x8000 | static_cast<uint16_t>((resp.opcode & 0xF) << 11) | (resp.aa ? 0x0400 : 0) |
                     (truncate ? 0x0200 : 0) | (resp.rd ? 0x0100 : 0) | (resp.ra ? 0x0080 : 0) |
                     (resp.cd ? 0x0010 : 0) | (resp.rcode & 0xF);
    w.u16(flags);
    w.u16(resp.question ? 1 : 0);
    w.u16(truncate ? 0 : static_cast<uint16_t>(resp.answers.size()));
    w.u16(truncate ? 0 : static_cast<uint16_t>(resp.authority.size()));
    w.u16(static_cast<uint16_t>((truncate ? 0 : resp.additional.size()) + (resp.edns ? 1 : 0)));
    if (resp.question) write_question(w, *resp.question);
    if (!truncate) {
      for (const auto& r : resp.answers) write_record(w, r);
      for (const auto& r : resp.authority) write_record(w, r);
      for (const auto& r : resp.additional) write_record(w, r);
    }
    if (resp.edns) write_opt(w, resp.edns_payload, resp.rcode);
    return std::move(w.bytes());
  };
  auto full = encode(false);
  if (full.size() <= max_size) return full;
  return encode(true);
}

std::vector<uint8_t> encode_query(uint16_t id, const Name& name, uint16_t qtype, bool rd, bool edns,
                                  uint16_t edns_payload) {
  Writer w;
  w.u16(id);
  w.u16(rd ? 0x0100 : 0);
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(edns ? 1 : 0);
  write_question(w, Question{name, qtype, kClassIn});
  if (edns) write_opt(w, edns_payload, 0);
  return std::move(w.bytes());
}

std::optional<ResponseHeader> peek_response(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeader) return std::nullopt;
  uint16_t flags = static_cast<uint16_t>(bytes[2] << 8 | bytes[3]);
  if (!(flags & 0x8000)) return std::nullopt;
  return ResponseHeader{static_cast<uint16_t>(bytes[0] << 8 | bytes[1]), (flags & 0x0200) != 0,
                        static_cast<uint16_t>(flags & 0xF)};
}

}  // namespace weft::dns
