#include "segstream/kernels/kmeans_cpu.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

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
// Adds to_fixed(w · row[j]) to s[j] for the d values of a row, eight at a time with AVX-512: the product
// and the scaling in double as to_fixed does them, then one conversion to the nearest 64-bit integer (ties
// to even, the default rounding mode, as to_fixed's scalar conversion). Returns false, having added
// nothing, when a term reaches 2^51 in magnitude (the caller then takes the scalar path, which clamps).
__attribute__((target("avx512f,avx512dq"))) bool add_fixed_row_avx512(const float* row, double w, int d,
                                                                      std::int64_t* s) {
  const __m512d wv = _mm512_set1_pd(w), scale = _mm512_set1_pd(kFixedScale);
  const __m512d limit = _mm512_set1_pd(2251799813685248.0);  // 2^51
  int j = 0;
  for (; j + 8 <= d; j += 8) {
    const __m512d t =
        _mm512_mul_pd(_mm512_mul_pd(_mm512_maskz_cvtps_pd(0xff, _mm256_loadu_ps(row + j)), wv), scale);
    if (_mm512_cmp_pd_mask(_mm512_abs_pd(t), limit, _CMP_LT_OQ) != 0xff) return false;
  }
  for (; j < d; ++j)
    if (!(std::abs(w * static_cast<double>(row[j]) * kFixedScale) < 2251799813685248.0)) return false;
  j = 0;
  for (; j + 8 <= d; j += 8) {
    const __m512d t =
        _mm512_mul_pd(_mm512_mul_pd(_mm512_maskz_cvtps_pd(0xff, _mm256_loadu_ps(row + j)), wv), scale);
    _mm512_storeu_si512(s + j, _mm512_add_epi64(_mm512_loadu_si512(s + j), _mm512_cvtpd_epi64(t)));
  }
  for (; j < d; ++j) s[j] += to_fixed(w * static_cast<double>(row[j]));
  return true;
}
const bool have_avx512dq = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
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

void ClusterSums::reset(int k, int d) {
  k_ = k;
  d_ = d;
  sums_.assign(static_cast<std::size_t>(k) * static_cast<std::size_t>(d), 0);
  weights_.assign(static_cast<std::size_t>(k), 0);
  counts_.assign(static_cast<std::size_t>(k), 0);
}

void ClusterSums::add(const ClusterSums& o) {
  for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += o.sums_[i];
  for (std::size_t c = 0; c < weights_.size(); ++c) {
    weights_[c] += o.weights_[c];
    counts_[c] += o.counts_[c];
  }
}

void ClusterSums::add_raw(const Wide* sums, const Wide* weights, const std::uint64_t* counts) {
  for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += sums[i];
  for (std::size_t c = 0; c < weights_.size(); ++c) {
    weights_[c] += weights[c];
    counts_[c] += counts[c];
  }
}

double ClusterSums::sum(int c, int j) const {
  return static_cast<double>(sums_[static_cast<std::size_t>(c) * static_cast<std::size_t>(d_) +
                                   static_cast<std::size_t>(j)]) /
         kFixedScale;
}

double ClusterSums::weight(int c) const {
  return static_cast<double>(weights_[static_cast<std::size_t>(c)]) / kFixedScale;
}

void ClusterSums::accumulate(const float* x, std::uint64_t rows, const std::int32_t* labels,
                             const float* weights, int threads) {
  // A thread per 16,384 rows at most: below that a thread's own sums cost more than its share of the work.
  const int nthreads = std::max(1, std::min<int>(threads, static_cast<int>(rows / 16384)));
  std::vector<ClusterSums> partial(static_cast<std::size_t>(nthreads > 1 ? nthreads : 0),
                                   ClusterSums(k_, d_));
  // Terms below 2^52 in magnitude are summed in 64-bit integers over runs of at most 2^11 rows (which
  // cannot overflow: 2^11 · 2^52 = 2^63) and the runs are added to the 128-bit sums; larger terms go to the
  // 128-bit sums directly. Integer addition is exact, so this is the same result at a fraction of the cost
  // of a 128-bit addition per term.
  constexpr std::int64_t kSmall = std::int64_t{1} << 52;
  constexpr std::uint64_t kRun = 2048;
#pragma omp parallel num_threads(nthreads)
  {
    const int t = omp_get_thread_num();
    ClusterSums& p = nthreads > 1 ? partial[static_cast<std::size_t>(t)] : *this;  // one thread: in place
    const std::uint64_t per =
        (rows + static_cast<std::uint64_t>(nthreads) - 1) / static_cast<std::uint64_t>(nthreads);
    const std::uint64_t begin = std::min(rows, per * static_cast<std::uint64_t>(t));
    const std::uint64_t end = std::min(rows, begin + per);
    const auto kd = static_cast<std::size_t>(k_) * static_cast<std::size_t>(d_);
    std::vector<std::int64_t> run_sums(kd, 0), run_weights(static_cast<std::size_t>(k_), 0);
    auto flush = [&] {
      for (std::size_t v = 0; v < kd; ++v) {
        p.sums_[v] += run_sums[v];
        run_sums[v] = 0;
      }
      for (std::size_t c = 0; c < run_weights.size(); ++c) {
        p.weights_[c] += run_weights[c];
        run_weights[c] = 0;
      }
    };
    for (std::uint64_t i = begin; i < end; ++i) {
      if ((i - begin) % kRun == 0 && i != begin) flush();
      const auto c = static_cast<std::size_t>(labels[i]);
      const double w = weights != nullptr ? static_cast<double>(weights[i]) : 1.0;
      const float* row = x + i * static_cast<std::uint64_t>(d_);
      std::int64_t* s = run_sums.data() + c * static_cast<std::size_t>(d_);
      // Rows whose terms are all below 2^51 (< kSmall) go eight at a time where AVX-512 is there.
      if (!have_avx512dq || !add_fixed_row_avx512(row, w, d_, s)) {
        for (int j = 0; j < d_; ++j) {
          const std::int64_t f = to_fixed(w * static_cast<double>(row[j]));
          if (f < kSmall && f > -kSmall)
            s[j] += f;
          else
            p.sums_[c * static_cast<std::size_t>(d_) + static_cast<std::size_t>(j)] += f;
        }
      }
      const std::int64_t fw = to_fixed(w);
      if (fw < kSmall && fw > -kSmall)
        run_weights[c] += fw;
      else
        p.weights_[c] += fw;
      ++p.counts_[c];
    }
    flush();
  }
  for (const ClusterSums& p : partial) add(p);
}

void ClusterSums::tally(std::uint64_t rows, const std::int32_t* labels, const float* weights) {
  for (std::uint64_t i = 0; i < rows; ++i) {
    const auto c = static_cast<std::size_t>(labels[i]);
    weights_[c] += to_fixed(weights != nullptr ? static_cast<double>(weights[i]) : 1.0);
    ++counts_[c];
  }
}

}  // namespace segstream::kernels::cpu
