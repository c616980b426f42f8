// HTTP header fields: an ordered list of (name, value) pairs with case-insensitive lookup. Used by
// both the server side (requests from clients) and the upstream side (responses from providers).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace arkroute::http {

// ASCII case-insensitive equality, as HTTP field names compare. Inline: header filters call it
// dozens of times per request, and most calls end at the length check.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Whether text holds `word` in any ASCII case (media types compare so): equalsIgnoreCase at each
// place.
inline bool containsIgnoreCase(std::string_view text, std::string_view word) {
  for (size_t at = 0; at + word.size() <= text.size(); ++at) {
    if (equalsIgnoreCase(text.substr(at, word.size()), word)) return true;
  }
  return false;
}

// text without the spaces and tabs around it (RFC 9110's optional whitespace, OWS).
inline std::string_view trimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// A byte no field value or request target may hold (RFC 9110 5.5): a control character other than
// a tab, or DEL.
inline bool isControlByte(char c) {
  auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && byte != '\t') || byte == 0x7f;
}

// True when every character may appear in a field name (RFC 9110 token characters). http-parser
// accepts spaces in names ("Transfer-Encoding : chunked"); such a field must be refused, never
// forwarded: a provider that reads it differently than the gateway would split the pooled
// connection's byte stream differently (request smuggling).
inline bool isFieldNameText(std::string_view text) {
  static constexpr std::array<bool, 256> kToken = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
    return table;
  }();
  for (char c : text) {
    if (!kToken[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Names and values live back to back in one string, so a message's fields cost two allocations
// (text and index), none once a cleared list is reused, instead of two per field.
class Headers {
 public:
  // Views into the list: valid until the next mutation.
  using Field = std::pair<std::string_view, std::string_view>;

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Field;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Field;

    Iterator() = default;
    Field operator*() const { return owner_->fieldAt(index_); }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++index_;
      return before;
    }
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

   private:
    friend class Headers;
    Iterator(const Headers* owner, size_t index) : owner_(owner), index_(index) {}
    const Headers* owner_ = nullptr;
    size_t index_ = 0;
  };

  Headers() = default;
  Headers(const Headers& other);
  Headers& operator=(const Headers& other) {
    if (this != &other) *this = Headers(other);
    return *this;
  }
  // A moved-from list is empty and usable: its counts go with its block.
  Headers(Headers&& other) noexcept
      : block_(std::move(other.block_)),
        block_size_(std::exchange(other.block_size_, 0)),
        entry_capacity_(std::exchange(other.entry_capacity_, 0)),
        count_(std::exchange(other.count_, 0)),
        used_(std::exchange(other.used_, 0)) {}
  Headers& operator=(Headers&& other) noexcept {
    block_ = std::move(other.block_);
    block_size_ = std::exchange(other.block_size_, 0);
    entry_capacity_ = std::exchange(other.entry_capacity_, 0);
    count_ = std::exchange(other.count_, 0);
    used_ = std::exchange(other.used_, 0);
    return *this;
  }

  void add(std::string_view name, std::string_view value);
  // Replaces every field of that name (case-insensitive) with one.
  void set(std::string_view name, std::string_view value);
  void remove(std::string_view name);
  // Removes every field and keeps the list's storage for the next message.
  void clear() {
    used_ = 0;
    count_ = 0;
  }
  // Appends to the value of the most recently added field (parsers deliver values in pieces).
  void appendToLastValue(std::string_view more);
  // First value of that name, or nothing. The view lives until the next mutation.
  std::optional<std::string_view> find(std::string_view name) const;
  std::string_view get(std::string_view name, std::string_view fallback = {}) const {
    return find(name).value_or(fallback);
  }
  bool has(std::string_view name) const { return find(name).has_value(); }

  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, count_); }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

 private:
  struct Entry {
    uint32_t name_at;
    uint32_t name_length;
    uint32_t value_at;
    uint32_t value_length;
  };
  Field fieldAt(size_t index) const {
    const Entry& e = entries()[index];
    return {piece(e.name_at, e.name_length), piece(e.value_at, e.value_length)};
  }
  std::string_view piece(uint32_t at, uint32_t length) const { return {text() + at, length}; }
  bool inText(std::string_view piece) const;
  const Entry* entries() const { return block_.get(); }
  Entry* entries() { return block_.get(); }
  const char* text() const { return reinterpret_cast<const char*>(block_.get() + entry_capacity_); }
  char* text() { return reinterpret_cast<char*>(block_.get() + entry_capacity_); }
  size_t textCapacity() const { return (block_size_ - entry_capacity_) * sizeof(Entry); }
  // Room for `more` bytes after the used ones; returns where they go.
  char* reserveText(size_t more) {
    if (textCapacity() - used_ < more) grow(0, more);
    return text() + used_;
  }
  // Room for one more entry.
  void reserveEntry() {
    if (count_ == entry_capacity_) grow(1, 0);
  }
  // A new block with room for more_entries more entries and more_bytes more text (each part
  // that grows at least doubles).
  void grow(size_t more_entries, size_t more_bytes);
  // Copies from's used entries and text into a block whose first entry_capacity entries are for
  // entries (a new block is left uninitialised: only what is used is ever read).
  static void copyUsed(const Headers& from, Entry* block, size_t entry_capacity);

  // One allocation per list: entry_capacity_ entries, then the fields' bytes back to back (the
  // first used_ of textCapacity()). Adding a field is one bounds check and two copies, where
  // std::string::append was an out-of-line call per piece, and a second vector was a second
  // allocation per list.
  std::unique_ptr<Entry[]> block_;
  uint32_t block_size_ = 0;  // in entries
  uint32_t entry_capacity_ = 0;
  uint32_t count_ = 0;
  uint32_t used_ = 0;
};

// Spare bytes the server reserves after a request body's text: a JSON body can be parsed in place
// (simdjson reads up to 64 bytes past the end), not copied.
inline constexpr size_t kBodyPadding = 64;

// A complete request from a client: head and whole body (bodies are bounded by max_body_bytes).
struct Request {
  std::string method;     // "GET", "POST", ...
  std::string path;       // "/v1/models" of "/v1/models?x=1" (percent-decoding NOT applied)
  std::string query;      // "x=1" (without '?'), "" when absent
  int version_minor = 1;  // HTTP/1.<minor>
  Headers headers;
  std::string body;
};

// "OK", "Not Found", ... ("Unknown" for codes it does not know).
std::string_view reasonPhrase(int status);

// The credential of an Authorization value "Bearer <token>" (scheme case-insensitive, spaces and
// tabs around the token ignored); "" for any other scheme or an empty token.
std::string_view bearerToken(std::string_view authorization);

}  // namespace arkroute::http
