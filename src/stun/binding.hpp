// The STUN Binding server every agent runs on its control port (RFC 8489 section 6.3), pure:
// a request gets a success response with its source address (XOR-MAPPED-ADDRESS, or
// MAPPED-ADDRESS for an RFC 3489 client without the magic cookie), SOFTWARE and FINGERPRINT; a
// request with comprehension-required attributes we do not know gets 420 with
// UNKNOWN-ATTRIBUTES, and so does a CHANGE-REQUEST (RFC 5780) asking for another address or
// port, which a server with one address cannot give (one asking for nothing is answered, as
// RFC 3489 clients always send it); another method gets 400.
// Responses, indications and malformed datagrams get nothing.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stun/message.hpp"

namespace weft::stun {

inline constexpr const char* kSoftware = "weft";

std::optional<std::vector<uint8_t>> answer_binding(std::span<const uint8_t> request, const Address& from, std::string* why);

}  // namespace weft::stun
