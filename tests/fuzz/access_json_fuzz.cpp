// libFuzzer target: the access grant on the wire (wg/access_wire.hpp), both the request the
// agent reads and the grant the CLI reads, on any bytes: no crash, a refusal always says why,
// and a grant that parses renders a wg-quick config of exactly its ten lines (no field can add
// one: wg-quick would run a PostUp line).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/ipv4.hpp"
#include "access/plan.hpp"
#include "access/wire.hpp"

using namespace weft;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto r = access::parse_grant_request(text, &why)) {
    if (!access::valid_label(r->label) || r->targets.size() > access::kMaxGrantTargets) std::abort();
    if (!r->endpoint.empty() && !access::valid_endpoint(r->endpoint)) std::abort();
    static const Ipv4Net range = *Ipv4Net::parse("10.77.0.0/16");
    for (const auto& t : r->targets) (void)access::check_target(t, range);
  } else if (why.empty()) {
    std::abort();
  }
  why.clear();
  if (auto g = access::parse_grant(text, &why)) {
    access::ClientConfig c{"", g->address, g->server_key, g->endpoint, g->allowed_ips, g->label, g->expires_ms};
    auto conf = access::render_wg_quick(c);
    if (std::count(conf.begin(), conf.end(), '\n') != 10 || conf.find('\r') != std::string::npos) std::abort();
  } else if (why.empty()) {
    std::abort();
  }
  return 0;
}
