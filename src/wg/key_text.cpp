#include "wg/key_text.hpp"

#include <sodium.h>

namespace weft::wg {

std::string key_to_base64(const Key& key) {
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

std::optional<Key> key_from_base64(std::string_view text) {
  Key key{};
  size_t len = 0;
  const char* end = nullptr;
  if (text.size() != 44 || sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, &end,
                                             sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != key.size() || end != text.data() + text.size())
    return std::nullopt;
  return key;
}

}  // namespace weft::wg
