#include "base/text_pool.hpp"

namespace weft {

const std::string& Text::empty() {
  static const std::string none;
  return none;
}

void Text::release() noexcept {
  if (entry_ && --entry_->refs == 0) entry_->pool->drop(entry_);
  entry_ = nullptr;
}

Text TextPool::intern(std::string_view text) {
  if (text.empty()) return Text();
  if (auto it = entries_.find(text); it != entries_.end()) return Text(it->second.get());
  auto entry = std::make_unique<Text::Entry>(Text::Entry{std::string(text), 0, this});
  Text::Entry* raw = entry.get();
  entries_.emplace(std::string_view(raw->text), std::move(entry));
  return Text(raw);
}

void TextPool::drop(Text::Entry* entry) noexcept {
  // Found first, then erased: the key views the string that the erase frees.
  if (auto it = entries_.find(std::string_view(entry->text)); it != entries_.end()) entries_.erase(it);
}

}  // namespace weft
