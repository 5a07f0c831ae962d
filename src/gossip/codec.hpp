// Gossip messages <-> Cap'n Proto bytes. Decoding runs only on authenticated plaintext (after
// seal.hpp), still with reader limits, size checks and no trust: malformed input is nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "gossip/messages.hpp"

namespace weft::gossip {

// Packed Cap'n Proto. message.from is not encoded: the sealed envelope carries the sender, and
// decode_message fills `from` with the sender the caller authenticated.
std::string encode_message(const Message& message);
// encode_message(message).size(), without making the bytes: no allocation for messages of up to
// 8 KiB (the simulator counts every message it delivers).
size_t encoded_size(const Message& message);
std::optional<Message> decode_message(std::span<const uint8_t> bytes, const MemberId& from);

}  // namespace weft::gossip
