#include "visit.hpp"

#include <algorithm>
#include <numeric>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"

namespace segstream::host::detail {

Visit::Visit(const RowSource& src, std::uint64_t seed, std::uint64_t salt, const VisitCursor& at)
    : src_(src),
      seed_(mix64(seed ^ (salt * 0xD1B54A32D192ED03ull))),
      tiles_((src.rows() + kTileRows - 1) / kTileRows) {
  if (at.epoch == 0) return;  // nothing drawn yet
  SEGSTREAM_CHECK_INPUT(at.window_begin < tiles_ && at.window_begin % kWindowTiles == 0,
                        "a visiting cursor at tile {} does not fit {} tiles", at.window_begin, tiles_);
  draw_permutation(at.epoch - 1);
  epoch_ = at.epoch;
  load_window(at.window_begin);
  SEGSTREAM_CHECK_INPUT(at.position <= order_.size(), "a visiting cursor at row {} of a window of {} rows",
                        at.position, order_.size());
  pos_ = at.position;
}

void Visit::next(std::uint64_t n, float* out, float* w) {
  const auto d = static_cast<std::uint64_t>(src_.d());
  for (std::uint64_t i = 0; i < n; ++i) {
    if (pos_ == order_.size()) {
      if (window_end_ >= permutation_.size()) {  // a new epoch
        draw_permutation(epoch_);
        ++epoch_;
        window_end_ = 0;
      }
      load_window(window_end_);
    }
    // The window is megabytes and its rows are taken in random order: fetch a few rows ahead.
    if (pos_ + kAhead < order_.size()) {
      const float* ahead = window_.data() + order_[pos_ + kAhead] * d;
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + d - 1);  // a row may straddle two cache lines
    }
    const std::uint64_t r = order_[pos_++];
    const float* from = window_.data() + r * d;
    for (std::uint64_t j = 0; j < d; ++j) out[i * d + j] = from[j];  // short rows: no memmove call
    w[i] = window_w_[r];
  }
}

// A Fisher–Yates permutation of the tiles, from the epoch's own stream.
void Visit::draw_permutation(std::uint64_t epoch) {
  permutation_.resize(tiles_);
  std::iota(permutation_.begin(), permutation_.end(), 0);
  RandomStream rng(seed_, RandomPurpose::kKMeansVisit, epoch << 32);
  for (std::uint64_t t = tiles_; t > 1; --t)
    std::swap(permutation_[t - 1],
              permutation_[static_cast<std::uint64_t>(rng.uniform() * static_cast<double>(t))]);
}

void Visit::load_window(std::uint64_t begin) {
  const auto d = static_cast<std::uint64_t>(src_.d());
  window_.clear();
  window_w_.clear();
  const std::uint64_t end = std::min<std::uint64_t>(permutation_.size(), begin + kWindowTiles);
  for (std::uint64_t t = begin; t < end; ++t) {
    const std::uint64_t first = permutation_[t] * kTileRows;
    const std::uint64_t n = std::min(kTileRows, src_.rows() - first);
    const std::size_t at = window_.size();
    window_.resize(at + n * d);
    src_.read(first, n, window_.data() + at);
    for (std::uint64_t i = 0; i < n; ++i)
      window_w_.push_back(src_.weights() != nullptr ? src_.weights()[first + i] : 1.0f);
  }
  order_.resize(window_w_.size());
  std::iota(order_.begin(), order_.end(), 0);
  // One stream per window of the epoch (epoch_ counts the epoch being taken, from 1).
  const std::uint64_t window_index = begin / kWindowTiles;
  RandomStream rng(seed_, RandomPurpose::kKMeansVisit,
                   (std::uint64_t{1} << 63) | (epoch_ << 32) | window_index);
  for (std::uint64_t i = order_.size(); i > 1; --i)
    std::swap(order_[i - 1], order_[static_cast<std::uint64_t>(rng.uniform() * static_cast<double>(i))]);
  pos_ = 0;
  window_begin_ = begin;
  window_end_ = end;
}

}  // namespace segstream::host::detail
