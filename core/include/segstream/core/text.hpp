// Text taken from input files, made safe to print in a one-line message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace segstream {

// The length of the well-formed UTF-8 character that starts at text[i] (no overlong forms, surrogates or
// code points past U+10FFFF), or 0 when none does. ASCII counts, controls included.
inline std::size_t utf8_char_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  if (c >= 0xc2 && c <= 0xdf)
    len = 2;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4;
  if (len == 0 || i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  if (c == 0xe0 && byte(i + 1) < 0xa0) return 0;
  if (c == 0xed && byte(i + 1) > 0x9f) return 0;
  if (c == 0xf0 && byte(i + 1) < 0x90) return 0;
  if (c == 0xf4 && byte(i + 1) > 0x8f) return 0;
  return len;
}

// Whether `text` is well-formed UTF-8.
inline bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_char_length(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// `text` with every byte that is not printable ASCII or part of a well-formed UTF-8 character written as
// \xNN (NUL, CR, LF, tabs, escape sequences, stray binary), and cut after `max_bytes` input bytes with
// "…": a message quoting a file's bytes stays one line that cannot move the terminal's cursor.
inline std::string escape_text(std::string_view text, std::size_t max_bytes = 200) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  std::size_t i = 0;
  while (i < text.size()) {
    if (i >= max_bytes) {
      out += "…";
      break;
    }
    const unsigned char c = byte(i);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A well-formed multi-byte character, except the C1 controls U+0080-U+009F.
    const std::size_t len = c >= 0x80 ? utf8_char_length(text, i) : 0;
    const bool ok = len > 1 && !(c == 0xc2 && byte(i + 1) < 0xa0);
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
      continue;
    }
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
    ++i;
  }
  return out;
}

}  // namespace segstream
