// The cross-platform WireGuard UAPI text protocol (wireguard.com/xplatform), pure: no socket.
//   request  "get=1\n\n"                      reply: key=value lines, then "errno=N\n\n"
//   request  "set=1\n" key=value lines "\n"   reply: "errno=N\n\n"
// Keys are lowercase hex. Unknown keys in a reply are skipped (newer daemons add some); a
// malformed value, a peer attribute before any public_key, or a missing errno line is an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "wg/device.hpp"

namespace weft::wg {

std::string encode_get();
std::string encode_set(const DeviceUpdate& update);

struct UapiReply {
  int errno_value = 0;  // 0: success; else the daemon's errno (positive)
  DeviceStatus status;  // for a get reply
};

// True once `text` holds a whole reply (it ends with the blank line after errno=N).
bool reply_complete(std::string_view text);
// Parses a get or set reply. nullopt with *error set for anything malformed.
std::optional<UapiReply> parse_reply(std::string_view text, std::string* error);

}  // namespace weft::wg
