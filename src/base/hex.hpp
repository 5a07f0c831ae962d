// Hex text for keys and ids: lowercase, as wireguard-tools and the UAPI protocol write it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

std::string to_hex(std::span<const uint8_t> bytes);
// Accepts upper or lower case; nullopt for odd length or a non-hex character.
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

}  // namespace weft
