// libFuzzer target: kernel WireGuard's get-device reply attributes. Any bytes: no crash, no
// read past the buffer (ASan), and a refusal always says why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wg/genl_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Netlink attributes are 4-byte aligned in a real message; copy so the parser sees that.
  std::vector<uint32_t> aligned((size + 3) / 4);
  if (size) std::memcpy(aligned.data(), data, size);
  weft::wg::DeviceStatus status;
  std::string why;
  if (!weft::wg::parse_device_attributes(reinterpret_cast<const uint8_t*>(aligned.data()), size, status, &why) && why.empty())
    std::abort();
  return 0;
}
