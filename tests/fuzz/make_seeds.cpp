// Writes a seed corpus for record_codec_fuzz: one valid input per decoder, so the fuzzer
// starts from well-formed Cap'n Proto messages instead of discovering the framing itself.
#include <filesystem>
#include <fstream>

#include "crdt/codec.hpp"
#include "crdt/signing.hpp"
#include "crdt/values.hpp"

using namespace weft;
using namespace weft::crdt;

static void write(const std::filesystem::path& dir, int n, uint8_t selector, const std::string& body) {
  std::ofstream f(dir / ("seed-" + std::to_string(n)), std::ios::binary);
  f.put(static_cast<char>(selector));
  f << body;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  auto key = SigningKey::from_seed(SigningSeed{1});
  Record r;
  r.key = RecordKey{key.public_key(), Kind::service_instance, "api"};
  r.hlc = Hlc::make(1'700'000'000'000, 1);
  r.value = encode_value(ServiceInstanceValue{"api", "10.210.1.2", 80, "tcp", "http", true});
  key.sign(r);
  Record t = r;
  t.tombstone = true;
  t.value.clear();
  key.sign(t);
  write(dir, 0, 0, encode_record(r));
  write(dir, 1, 1, encode_batch(std::vector{r, t}));
  write(dir, 2, 2, encode_value(MachineValue{"m", {}, key.public_key(), {"10.0.0.1", 51821}, true, "v"}));
  write(dir, 3, 3, encode_value(SubnetClaimValue{*Ipv4Net::parse("10.210.3.0/24")}));
  write(dir, 4, 4, encode_value(EndpointCandidatesValue{{{"10.0.0.1", 51820}}}));
  write(dir, 5, 5, encode_value(ObservedEndpointValue{key.public_key(), {"10.0.0.2", 4000}}));
  write(dir, 6, 6, encode_value(ContainerLeaseValue{*Ipv4::parse("10.210.3.2"), "id", "name"}));
  write(dir, 7, 7, r.value);
  write(dir, 8, 8, encode_value(AccessSessionValue{"l", "10.77.0.2", {}, 5}));
  return 0;
}
