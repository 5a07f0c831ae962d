// libFuzzer target: the UAPI reply parser (what a userspace WireGuard daemon sends us). Any bytes:
// no crash, no hang; a parsed reply re-encodes its peers into a set request that parses back
// (as a get reply) to the same peers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wg/uapi.hpp"

using namespace weft::wg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)reply_complete(text);
  std::string why;
  auto reply = parse_reply(text, &why);
  if (!reply) {
    if (why.empty()) std::abort();  // every refusal says why
    return 0;
  }
  DeviceUpdate update;
  for (const auto& p : reply->status.peers) {
    PeerUpdate u;
    u.public_key = p.public_key;
    if (!p.endpoint.empty()) u.endpoint = p.endpoint;
    u.keepalive = p.keepalive;
    u.allowed_ips = p.allowed_ips;
    update.peers.push_back(u);
  }
  std::string again = encode_set(update).substr(6);  // without "set=1\n"
  again.insert(again.size() - 1, "errno=0\n");
  auto back = parse_reply(again, &why);
  if (!back || back->status.peers.size() != reply->status.peers.size()) std::abort();
  for (size_t i = 0; i < back->status.peers.size(); ++i) {
    const auto& a = back->status.peers[i];
    const auto& b = reply->status.peers[i];
    if (a.public_key != b.public_key || a.endpoint != b.endpoint || a.keepalive != b.keepalive ||
        a.allowed_ips != b.allowed_ips)
      std::abort();
  }
  return 0;
}
