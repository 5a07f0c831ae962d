// WireGuard keys as text: standard base64 of the 32 bytes (44 characters), as `wg` and
// wg-quick configs write them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "wg/device.hpp"

namespace weft::wg {

std::string key_to_base64(const Key& key);
// nullopt unless `text` is exactly 44 characters of standard base64 decoding to 32 bytes.
std::optional<Key> key_from_base64(std::string_view text);

}  // namespace weft::wg
