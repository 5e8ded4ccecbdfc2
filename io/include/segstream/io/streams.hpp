// Streaming passes over features.h5 and events.h5: one reader thread fills a ring of caller-provided
// buffers with consecutive row blocks while the caller works on the previous block (see prefetch.hpp for
// the protocol). Buffers may be pinned host memory; page-aligned buffers read fastest.
//
//   float* ring[3] = {a, b, c};                         // each block_rows × columns floats
//   FeatureBlockStream stream(reader, ring, block_rows);
//   while (auto block = stream.next()) use(block->rows, block->data);   // valid until the next next()
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/prefetch.hpp"

namespace segstream::io {

// Row blocks of /features (row-major, rows × columns floats) with their customer ids.
class FeatureBlockStream {
 public:
  struct Buffer {
    float* rows;         // block_rows × columns floats
    std::uint64_t* ids;  // block_rows ids, or nullptr to skip reading /customer_id
  };
  struct Block {
    std::uint64_t start;  // first row of the block in the file
    std::uint64_t rows;
    const float* data;
    const std::uint64_t* ids;  // nullptr when the buffer has none
  };

  FeatureBlockStream(const FeatureFileReader& reader, std::vector<Buffer> ring, std::uint64_t block_rows)
      : ring_(std::move(ring)),
        prefetcher_(pointers(ring_), reader.rows(), block_rows,
                    [&reader](std::uint64_t start, std::uint64_t rows, Buffer& buf) {
                      reader.read_rows(start, rows, buf.rows);
                      if (buf.ids != nullptr) reader.read_ids(start, rows, buf.ids);
                    }) {}

  std::optional<Block> next() {
    auto b = prefetcher_.next();
    if (!b) return std::nullopt;
    return Block{b->start, b->rows, b->slot->rows, b->slot->ids};
  }

 private:
  static std::vector<Buffer*> pointers(std::vector<Buffer>& ring) {
    std::vector<Buffer*> out;
    out.reserve(ring.size());
    for (auto& b : ring) out.push_back(&b);
    return out;
  }
  std::vector<Buffer> ring_;
  Prefetcher<Buffer> prefetcher_;
};

// Row ranges of the seven event columns.
class EventBlockStream {
 public:
  struct Block {
    std::uint64_t start;
    std::uint64_t rows;
    EventColumns columns;  // element i of each column is event start + i
  };

  EventBlockStream(const EventFileReader& reader, std::vector<EventColumns> ring, std::uint64_t block_rows)
      : ring_(std::move(ring)),
        prefetcher_(pointers(ring_), reader.rows(), block_rows,
                    [&reader](std::uint64_t start, std::uint64_t rows, EventColumns& buf) {
                      reader.read(start, rows, buf);
                    }) {}

  std::optional<Block> next() {
    auto b = prefetcher_.next();
    if (!b) return std::nullopt;
    return Block{b->start, b->rows, *b->slot};
  }

 private:
  static std::vector<EventColumns*> pointers(std::vector<EventColumns>& ring) {
    std::vector<EventColumns*> out;
    out.reserve(ring.size());
    for (auto& b : ring) out.push_back(&b);
    return out;
  }
  std::vector<EventColumns> ring_;
  Prefetcher<EventColumns> prefetcher_;
};

}  // namespace segstream::io
