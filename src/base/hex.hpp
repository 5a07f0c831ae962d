// Hex text for keys and ids: lowercase, as wireguard-tools and the UAPI protocol write it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

std::string to_hex(std::span<const uint8_t> bytes);
// The first 8 bytes in hex: how logs name a machine id.
inline std::string short_hex(std::span<const uint8_t> id) { return to_hex(id.first(std::min<size_t>(8, id.size()))); }
// Accepts upper or lower case; nullopt for odd length or a non-hex character.
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

}  // namespace weft
