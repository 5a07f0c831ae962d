// libFuzzer target: what a user pastes or types into `weft agent`: the join token
// (agent/join_token.hpp), control addresses "ip:port" / "[v6]:port" (agent/address.hpp) and
// IPv4 prefixes (base/ipv4.hpp). Selector byte 0 picks the stage:
//  0: the input as a whole token, checksum and all (a mangled paste must say why);
//  1: the input as a token's body, given a correct checksum, so the fuzzer reaches the fields;
//     a token that decodes must encode back to one that decodes to the same fields;
//  2: the input as a control address and as a prefix; what parses must print back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/address.hpp"
#include "agent/join_token.hpp"
#include "base/ipv4.hpp"

using namespace weft;

namespace {

void check_token(const std::string& text) {
  std::string why;
  auto t = agent::JoinToken::decode(text, &why);
  if (!t) {
    if (why.empty()) std::abort();  // a refusal always says why
    return;
  }
  if (t->network.prefix > 24) std::abort();
  for (const auto& s : t->seeds)
    if (s.empty() || s.find(',') != std::string::npos) std::abort();
  std::string again_why;
  auto again = agent::JoinToken::decode(t->encode(), &again_why);
  if (!again || again->key != t->key || again->cluster_id != t->cluster_id || again->network != t->network ||
      again->seeds != t->seeds)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      check_token(text);
      break;
    case 1:
      check_token("weft1." + text + "." + agent::JoinToken::checksum("weft1." + text));
      break;
    default: {
      if (auto hp = agent::parse_host_port(text)) {
        if (hp->port == 0) std::abort();
        auto printed = agent::format_host_port(hp->ip, hp->port);
        auto back = agent::parse_host_port(printed);
        if (!back || back->ip != hp->ip || back->port != hp->port) std::abort();
      }
      if (auto net = Ipv4Net::parse(text)) {
        if (net->prefix > 32 || (net->base.value & ~net->mask()) != 0) std::abort();
        auto back = Ipv4Net::parse(net->to_string());
        if (!back || *back != *net) std::abort();
      }
      break;
    }
  }
  return 0;
}
