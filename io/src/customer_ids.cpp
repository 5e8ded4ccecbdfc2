#include "segstream/io/customer_ids.hpp"

#include <algorithm>
#include <charconv>
#include <numeric>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/io/hdf5.hpp"

namespace segstream::io {

std::optional<std::uint64_t> integer_key(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;  // "0042" is not "42"
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || (v & kTextKeyBit) != 0) return std::nullopt;
  return v;
}

std::uint64_t text_key(std::string_view text, int bits) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  h = mix64(h);
  if (bits < 63) h &= (std::uint64_t{1} << bits) - 1;
  return h | kTextKeyBit;
}

CustomerIds::CustomerIds(std::vector<std::uint64_t> keys, std::vector<std::string> texts) {
  SEGSTREAM_EXPECTS(keys.size() == texts.size(), "an id table needs one text per key");
  std::vector<std::size_t> order(keys.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  keys_.reserve(keys.size());
  texts_.reserve(keys.size());
  for (std::size_t i : order) {
    SEGSTREAM_EXPECTS(keys_.empty() || keys_.back() != keys[i], "an id table has key {} twice", keys[i]);
    keys_.push_back(keys[i]);
    texts_.push_back(std::move(texts[i]));
  }
}

CustomerIds CustomerIds::read(const File& file) {
  if (!file.has("/id_text")) return {};
  const Dataset key = file.dataset("/id_text/key", ElementType::kUint64, 1);
  const Dataset text = file.dataset("/id_text/text");
  SEGSTREAM_CHECK_INPUT(text.element_type() == ElementType::kString && text.dims().size() == 1,
                        "{}: dataset /id_text/text: expected 1-D strings", file.path());
  CustomerIds ids;
  ids.keys_ = key.read_all<std::uint64_t>();
  ids.texts_ = text.read_strings();
  SEGSTREAM_CHECK_INPUT(ids.keys_.size() == ids.texts_.size(),
                        "{}: /id_text/key has {} rows but /id_text/text has {}", file.path(),
                        ids.keys_.size(), ids.texts_.size());
  for (std::size_t i = 0; i < ids.keys_.size(); ++i) {
    SEGSTREAM_CHECK_INPUT(i == 0 || ids.keys_[i - 1] < ids.keys_[i],
                          "{}: /id_text/key row {}: keys must be ascending and distinct", file.path(), i);
    SEGSTREAM_CHECK_INPUT(!ids.texts_[i].empty(), "{}: /id_text/text row {} is empty", file.path(), i);
  }
  return ids;
}

void CustomerIds::write(const File& file) const {
  if (keys_.empty()) return;
  const Group group = file.create_group("/id_text");
  group.set_attribute("description",
                      "the customers' own ids: the text of every key that is not the id in decimal");
  const std::uint64_t n = keys_.size();
  const DatasetOptions options{{n}, {}, false, 0};
  file.create_dataset<std::uint64_t>("/id_text/key", options).write_rows(0, n, keys_.data());
  file.write_strings("/id_text/text", texts_);
}

std::string CustomerIds::text(std::uint64_t key) const {
  const auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
  if (it != keys_.end() && *it == key) return texts_[static_cast<std::size_t>(it - keys_.begin())];
  return std::to_string(key);
}

std::optional<CustomerIdCollector::Earlier> CustomerIdCollector::add(std::uint64_t key, std::string_view text,
                                                                     std::uint64_t line) {
  const auto [it, inserted] = index_.try_emplace(key, Entry{text_.size(), 0, line});
  if (inserted) {
    it->second.length = static_cast<std::uint32_t>(text.size());
    text_.append(text);
    return std::nullopt;
  }
  const std::string_view earlier(text_.data() + it->second.offset, it->second.length);
  if (earlier == text) return std::nullopt;
  return Earlier{std::string(earlier), it->second.line};
}

CustomerIds CustomerIdCollector::finish() && {
  std::vector<std::uint64_t> keys;
  std::vector<std::string> texts;
  keys.reserve(index_.size());
  texts.reserve(index_.size());
  for (const auto& [key, entry] : index_) {
    keys.push_back(key);
    texts.emplace_back(text_.data() + entry.offset, entry.length);
  }
  index_.clear();
  text_.clear();
  return {std::move(keys), std::move(texts)};
}

}  // namespace segstream::io
