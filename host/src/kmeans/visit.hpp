// The order mini-batches take rows in (internal to the trainer).
#pragma once

#include <cstdint>
#include <vector>

#include "segstream/host/kmeans.hpp"

namespace segstream::host::detail {

// Epoch after epoch, the tiles of kTileRows rows in a Philox permutation, kWindowTiles tiles at a time read
// whole and their rows shuffled together. Reading whole tiles keeps a streamed source sequential enough;
// the shuffle mixes rows of several parts of the file. One Philox stream per epoch (the permutation) and per
// window (the shuffle), so the sequence is a function of (seed, salt) and continues from any cursor.
class Visit {
 public:
  Visit(const RowSource& src, std::uint64_t seed, std::uint64_t salt, const VisitCursor& at = {});

  // The next n rows (and their weights) of the sequence.
  void next(std::uint64_t n, float* out, float* w);
  VisitCursor cursor() const { return VisitCursor{epoch_, window_begin_, pos_}; }

 private:
  void draw_permutation(std::uint64_t epoch);
  void load_window(std::uint64_t begin);  // tiles [begin, begin + kWindowTiles) of the permutation

  static constexpr std::uint64_t kAhead = 16;
  const RowSource& src_;
  std::uint64_t seed_;
  std::uint64_t tiles_;
  std::uint64_t epoch_ = 0;  // permutations drawn
  std::vector<std::uint64_t> permutation_;
  std::uint64_t window_begin_ = 0, window_end_ = 0;  // the loaded window, [begin, end) of the permutation
  std::vector<float> window_, window_w_;
  std::vector<std::uint64_t> order_;
  std::uint64_t pos_ = 0;  // rows of the window taken
};

}  // namespace segstream::host::detail
