// Customer keys and the customers' own ids (docs/FORMATS.md, "Customer ids").
//
// Every file names a customer by a 64-bit key. An id whose text is a plain decimal integer below 2^63
// ("42", "17850"; no sign, no leading zero, no fraction) is its own key. Any other text ("0042", "C-042",
// "17850.0") gets a key with the top bit set, a hash of the text, and the file carries the text in its
// id table: /id_text/key (uint64, ascending) and /id_text/text (UTF-8 strings). Ids that differ as text
// are different keys; two texts with one hash are an error, never one customer. Files without a table
// (generated ones, files of other tools) name customers by the number itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace segstream::io {

class File;

inline constexpr std::uint64_t kTextKeyBit = std::uint64_t{1} << 63;

// The key of an id that is its own key, or nullopt.
std::optional<std::uint64_t> integer_key(std::string_view text);

// The key of an id kept as text: FNV-1a over the bytes, mixed, with the top bit set. `bits` below 63
// narrows the hash (tests use it to provoke collisions).
std::uint64_t text_key(std::string_view text, int bits = 63);

// The key of any id text.
inline std::uint64_t customer_key(std::string_view text) {
  const auto key = integer_key(text);
  return key ? *key : text_key(text);
}

// A file's id table: the original text of every key that is not the id itself.
class CustomerIds {
 public:
  CustomerIds() = default;
  // From keys and texts in any order (one text per key).
  CustomerIds(std::vector<std::uint64_t> keys, std::vector<std::string> texts);

  // The table of a file, empty when it has none; validates it (equal lengths, keys ascending, no empty
  // text), naming the file and dataset.
  static CustomerIds read(const File& file);
  // Writes /id_text into a file being written (nothing when empty).
  void write(const File& file) const;

  bool empty() const { return keys_.empty(); }
  std::size_t size() const { return keys_.size(); }
  // The customer's own id: the table's text for the key, else the key in decimal.
  std::string text(std::uint64_t key) const;

 private:
  std::vector<std::uint64_t> keys_;  // ascending
  std::vector<std::string> texts_;
};

// Collects the texts of the keys an import makes, and refuses two texts with one key.
class CustomerIdCollector {
 public:
  // Adds `text` under `key` (a text key); `line` is where it was read. On a collision returns the
  // earlier text and its line; otherwise nullopt.
  struct Earlier {
    std::string text;
    std::uint64_t line;
  };
  std::optional<Earlier> add(std::uint64_t key, std::string_view text, std::uint64_t line);
  std::size_t size() const { return index_.size(); }
  CustomerIds finish() &&;

 private:
  struct Entry {
    std::uint64_t offset;  // into text_
    std::uint32_t length;
    std::uint64_t line;
  };
  std::unordered_map<std::uint64_t, Entry> index_;
  std::string text_;
};

}  // namespace segstream::io
