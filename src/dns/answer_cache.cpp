#include "dns/answer_cache.hpp"

#include <algorithm>
#include <cstring>

namespace weft::dns {

namespace {

constexpr size_t kHeader = 12;
constexpr size_t kARecordBytes = 16;  // compressed owner (2) + type, class, TTL, length (10) + address (4)

uint16_t u16(std::span<const uint8_t> b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }

}  // namespace

bool AnswerCache::key_of(std::span<const uint8_t> q, bool tcp, Key& key) {
  if (q.size() < kHeader + 5) return false;
  uint16_t flags = u16(q, 2);
  // A standard query (QR 0, opcode 0) with one question and nothing but an optional OPT.
  if ((flags & 0xF800) != 0 || u16(q, 4) != 1 || u16(q, 6) != 0 || u16(q, 8) != 0 || u16(q, 10) > 1) return false;
  key.key.clear();
  size_t at = kHeader;
  for (;;) {
    if (at >= q.size()) return false;
    uint8_t len = q[at];
    if (len & 0xC0) return false;  // compressed question: the slow path
    if (at + 1 + len > q.size() || at + 1 + len - kHeader > 255) return false;
    key.key.push_back(static_cast<char>(len));
    for (size_t i = 0; i < len; ++i) {
      uint8_t c = q[at + 1 + i];
      key.key.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    }
    at += 1 + len;
    if (len == 0) break;
  }
  key.name_length = at - kHeader;
  if (at + 4 > q.size()) return false;
  key.key.append(reinterpret_cast<const char*>(&q[at]), 4);  // type and class
  at += 4;
  size_t limit = tcp ? 65535 : kMaxUdpWithoutEdns;
  bool edns = false;
  if (u16(q, 10) == 1) {
    // Exactly an OPT without options: root name, type 41, class = size, TTL, rdlength 0.
    if (at + 11 != q.size() || q[at] != 0 || u16(q, at + 1) != type::OPT || u16(q, at + 9) != 0) return false;
    if (q[at + 6] != 0) return false;  // EDNS version other than 0: BADVERS, the slow path
    edns = true;
    if (!tcp) limit = std::min<size_t>(std::max<size_t>(u16(q, at + 3), kMaxUdpWithoutEdns), kDefaultEdnsPayload);
  } else if (at != q.size()) {
    return false;
  }
  key.key.push_back(edns ? 'E' : '-');
  key.key.push_back(static_cast<char>(limit >> 8));
  key.key.push_back(static_cast<char>(limit & 0xff));
  return true;
}

bool AnswerCache::lookup(std::span<const uint8_t> q, bool tcp, Rng& rng, std::vector<uint8_t>& out) {
  Key& key = scratch_;  // reused: no allocation per query
  if (!key_of(q, tcp, key)) return false;
  auto it = entries_.find(key.key);
  if (it == entries_.end()) return false;
  const Entry& e = it->second;
  out = e.bytes;
  out[0] = q[0];
  out[1] = q[1];
  out[2] = static_cast<uint8_t>((out[2] & ~0x01) | (q[2] & 0x01));  // RD echoed
  out[3] = static_cast<uint8_t>((out[3] & ~0x10) | (q[3] & 0x10));  // CD echoed
  std::memcpy(out.data() + kHeader, q.data() + kHeader, key.name_length);  // the name as asked
  for (size_t i = e.shuffle; i > 1; --i) {
    size_t j = rng.below(i);
    if (j != i - 1)
      std::swap_ranges(out.begin() + static_cast<long>(e.answers_at + (i - 1) * kARecordBytes),
                       out.begin() + static_cast<long>(e.answers_at + i * kARecordBytes),
                       out.begin() + static_cast<long>(e.answers_at + j * kARecordBytes));
  }
  ++hits_;
  return true;
}

void AnswerCache::store(std::span<const uint8_t> q, bool tcp, const Response& r, const std::vector<uint8_t>& encoded) {
  Key key;
  if (!key_of(q, tcp, key) || encoded.size() < kHeader) return;
  if (key.key.size() > 8 && key.key.compare(0, 8, std::string("\x07nearest", 8)) == 0) return;
  Entry e;
  e.answers_at = kHeader + key.name_length + 4;
  uint16_t answers = u16(encoded, 6);
  bool all_a = std::all_of(r.answers.begin(), r.answers.end(), [](const Record& x) { return x.rtype == type::A; });
  if (answers > 1) {
    // Replayable only when the answer section is plain A records right after the question,
    // each with a compressed owner name (what encode_response writes).
    if (!all_a || answers != r.answers.size() || e.answers_at + answers * kARecordBytes > encoded.size()) return;
    for (size_t i = 0; i < answers; ++i)
      if (encoded[e.answers_at + i * kARecordBytes] != 0xC0) return;
    e.shuffle = answers;
  }
  // Bounded: random names cannot grow it; one arbitrary entry makes room, so a working set
  // near the bound is not thrown away all at once.
  if (entries_.size() >= kMaxEntries && !entries_.contains(key.key)) entries_.erase(entries_.begin());
  e.bytes = encoded;
  entries_[key.key] = std::move(e);
}

}  // namespace weft::dns
