// The CPU backend's assign (kernels/cpu.hpp): the nearest and second-nearest centre of sixteen rows at a
// time in vector registers, the bits of kernels/kmeans.hpp's scalar formulas.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "segstream/kernels/cpu.hpp"
#include "segstream/kernels/kmeans.hpp"

namespace segstream::kernels::cpu {
namespace {
constexpr std::uint64_t kBlockRows = kInertiaRows;  // rows per fixed block of the inertia sum
constexpr int kLanes = 16;                          // rows per vector
constexpr int kCentreGroup = 4;                     // centres whose distances are summed side by side

// Sixteen floats or ints, one per row: GCC's generic vectors, lowered to one AVX-512 register, two AVX2
// registers or four SSE registers by the clone that is compiled.
using Rows = float __attribute__((vector_size(kLanes * sizeof(float))));
using RowLabels = std::int32_t __attribute__((vector_size(kLanes * sizeof(std::int32_t))));
using RowsUnaligned = float __attribute__((vector_size(kLanes * sizeof(float)), aligned(alignof(float))));

// Nearest and second-nearest centre of up to 16 rows at once. The rows are transposed into xt (d × 16,
// rows past `n` zero) and every centre's squared distances are summed j ascending exactly as squared_distance
// sums them, so each lane holds the same bits as the scalar formula; centres are offered in ascending
// order with Nearest::offer's comparisons, so labels, ties and second distances are the same too. Four
// centres are summed together so that four chains of additions are in flight. Compiled for AVX-512, AVX2
// and the baseline, chosen at run time; this file is built with -ffp-contract=off so no multiply-add is
// fused.
__attribute__((target_clones("avx512f", "avx2", "default"))) void nearest_16(const float* rows, int n, int d,
                                                                             const float* centres, int k,
                                                                             float* xt, Rows& best,
                                                                             Rows& second, RowLabels& label) {
  if (n == kLanes) {
    for (int j = 0; j < d; ++j)
      for (int i = 0; i < kLanes; ++i) xt[j * kLanes + i] = rows[i * d + j];
  } else {
    for (int j = 0; j < d; ++j)
      for (int i = 0; i < kLanes; ++i) xt[j * kLanes + i] = i < n ? rows[i * d + j] : 0.0f;
  }
  Rows b = Rows{} + INFINITY, s2 = b;
  RowLabels l = RowLabels{};
  auto offer = [&](const Rows& d2, int c) {
    const RowLabels lt = d2 < b;    // all ones where the row's new nearest is c
    const RowLabels lt2 = d2 < s2;  // where c is nearer than the second nearest
    s2 = lt ? b : (lt2 ? d2 : s2);
    b = lt ? d2 : b;
    l = lt ? (RowLabels{} + c) : l;
  };
  const auto* x = reinterpret_cast<const RowsUnaligned*>(xt);
  int c = 0;
  for (; c + kCentreGroup <= k; c += kCentreGroup) {
    const float* c0 = centres + static_cast<std::ptrdiff_t>(c) * d;
    Rows a[kCentreGroup] = {};
    for (int j = 0; j < d; ++j) {
      const Rows xj = x[j];
      for (int g = 0; g < kCentreGroup; ++g) {
        const Rows t = xj - c0[g * d + j];
        a[g] += t * t;
      }
    }
    for (int g = 0; g < kCentreGroup; ++g) offer(a[g], c + g);
  }
  for (; c < k; ++c) {
    const float* c0 = centres + static_cast<std::ptrdiff_t>(c) * d;
    Rows a0{};
    for (int j = 0; j < d; ++j) {
      const Rows t0 = x[j] - c0[j];
      a0 += t0 * t0;
    }
    offer(a0, c);
  }
  best = b;
  second = s2;
  label = l;
}
}  // namespace

double assign(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
              std::int32_t* labels, float* distance2, float* margin, int threads) {
  const std::uint64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  std::vector<double> block_inertia(blocks, 0.0);
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> xt(static_cast<std::size_t>(d) * kLanes);
#pragma omp for schedule(static)
    for (std::int64_t bi = 0; bi < static_cast<std::int64_t>(blocks); ++bi) {
      const auto b = static_cast<std::uint64_t>(bi);
      const std::uint64_t end = std::min(rows, (b + 1) * kBlockRows);
      double s = 0;
      for (std::uint64_t i0 = b * kBlockRows; i0 < end; i0 += kLanes) {
        const int n = static_cast<int>(std::min<std::uint64_t>(kLanes, end - i0));
        Rows best, second;
        RowLabels label;
        nearest_16(x + i0 * static_cast<std::uint64_t>(d), n, d, centres, k, xt.data(), best, second, label);
        for (int i = 0; i < n; ++i) {
          const std::uint64_t row = i0 + static_cast<std::uint64_t>(i);
          labels[row] = label[i];
          distance2[row] = best[i];
          if (margin != nullptr) margin[row] = second[i] - best[i];
          s += static_cast<double>(best[i]) * (weights != nullptr ? static_cast<double>(weights[row]) : 1.0);
        }
      }
      block_inertia[b] = s;
    }
  }
  double total = 0;
  for (double v : block_inertia) total += v;
  return total;
}

}  // namespace segstream::kernels::cpu
