// Interned strings: one copy of each distinct string, shared by every Text that holds it and
// freed with the last one. A member table holds a name and an address per member; in the
// simulator a thousand nodes hold the same thousand of each, so they share one pool (as they
// share records through crdt::VerifyMemo) and a member costs two pointers, not two strings.
// Single-threaded, like the cores that use it. A pool outlives every Text taken from it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace weft {

class TextPool;

class Text {
 public:
  Text() = default;  // the empty string, from no pool
  Text(const Text& other) noexcept : entry_(other.entry_) {
    if (entry_) ++entry_->refs;
  }
  Text(Text&& other) noexcept : entry_(other.entry_) { other.entry_ = nullptr; }
  Text& operator=(const Text& other) noexcept {
    Text copy(other);
    std::swap(entry_, copy.entry_);
    return *this;
  }
  Text& operator=(Text&& other) noexcept {
    std::swap(entry_, other.entry_);
    return *this;
  }
  ~Text() { release(); }

  const std::string& str() const { return entry_ ? entry_->text : empty(); }
  operator const std::string&() const { return str(); }  // NOLINT: reads like the string it holds
  std::string_view view() const { return str(); }
  bool empty_text() const { return entry_ == nullptr; }

  friend bool operator==(const Text& a, const Text& b) { return a.entry_ == b.entry_ || a.str() == b.str(); }
  friend bool operator==(const Text& a, std::string_view b) { return a.view() == b; }
  friend auto operator<=>(const Text& a, const Text& b) { return a.view() <=> b.view(); }

 private:
  friend class TextPool;
  struct Entry {
    std::string text;
    uint32_t refs = 0;
    TextPool* pool = nullptr;
  };
  explicit Text(Entry* entry) noexcept : entry_(entry) { ++entry_->refs; }
  void release() noexcept;
  static const std::string& empty();

  Entry* entry_ = nullptr;
};

class TextPool {
 public:
  TextPool() = default;
  TextPool(const TextPool&) = delete;
  TextPool& operator=(const TextPool&) = delete;

  Text intern(std::string_view text);
  size_t size() const { return entries_.size(); }  // distinct strings held now

 private:
  friend class Text;
  void drop(Text::Entry* entry) noexcept;

  // Each key views its entry's own string (entries do not move).
  std::unordered_map<std::string_view, std::unique_ptr<Text::Entry>> entries_;
};

}  // namespace weft
