// libFuzzer target: the Docker Engine API decoders (events, container list, inspect, network)
// on any bytes: no crash, no hang, and a refusal always says why. Parsed containers then go
// through the record planner, which must refuse or accept each without tripping a sanitizer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crdt/signing.hpp"
#include "crdt/state.hpp"
#include "docker/container_records.hpp"
#include "docker/engine_json.hpp"

using namespace weft;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (!docker::parse_event(text, &why) && why.empty()) std::abort();
  why.clear();
  if (!docker::parse_network(text, &why) && why.empty()) std::abort();
  why.clear();
  if (!docker::parse_container_inspect(text, "weft", &why) && why.empty()) std::abort();
  why.clear();
  auto list = docker::parse_container_list(text, "weft", &why);
  if (!list && why.empty()) std::abort();
  if (list) {
    static const crdt::ClusterState state(1000);
    crdt::OwnerId self{};
    auto plan = docker::plan_container_records(state, self, *Ipv4Net::parse("10.210.1.0/24"), *list);
    for (const auto& w : plan.writes)
      if (!w.value.empty() && w.name.empty()) std::abort();
  }
  return 0;
}
