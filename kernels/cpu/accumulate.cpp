// The CPU backend's exact cluster sums (kernels/cpu.hpp, kernels/cluster_sums.hpp).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "segstream/kernels/cpu.hpp"
#include "segstream/kernels/kmeans.hpp"

namespace segstream::kernels::cpu {
namespace {

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

// The same, four at a time with AVX2, which has no conversion to 64-bit integers: for |t| < 2^51, adding
// 2^52 + 2^51 leaves t rounded to the nearest integer (ties to even: the constant is even) in the low bits
// of the sum's mantissa, so the sum's bits minus the constant's are that integer, as cvtsd2si gives it.
__attribute__((target("avx2"))) bool add_fixed_row_avx2(const float* row, double w, int d, std::int64_t* s) {
  const __m256d wv = _mm256_set1_pd(w), scale = _mm256_set1_pd(kFixedScale);
  const __m256d limit = _mm256_set1_pd(2251799813685248.0);  // 2^51
  const __m256d magnitude = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffff));
  const __m256d magic = _mm256_set1_pd(6755399441055744.0);  // 2^52 + 2^51
  int j = 0;
  for (; j + 4 <= d; j += 4) {
    const __m256d t = _mm256_mul_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(row + j)), wv), scale);
    if (_mm256_movemask_pd(_mm256_cmp_pd(_mm256_and_pd(t, magnitude), limit, _CMP_LT_OQ)) != 0xf)
      return false;
  }
  for (; j < d; ++j)
    if (!(std::abs(w * static_cast<double>(row[j]) * kFixedScale) < 2251799813685248.0)) return false;
  j = 0;
  for (; j + 4 <= d; j += 4) {
    const __m256d t = _mm256_mul_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(row + j)), wv), scale);
    const __m256i f =
        _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(t, magic)), _mm256_castpd_si256(magic));
    auto* at = reinterpret_cast<__m256i*>(s + j);
    _mm256_storeu_si256(at, _mm256_add_epi64(_mm256_loadu_si256(at), f));
  }
  for (; j < d; ++j) s[j] += to_fixed(w * static_cast<double>(row[j]));
  return true;
}
const bool have_avx2 = __builtin_cpu_supports("avx2");

// Terms below 2^52 in magnitude are summed in 64-bit integers over runs of at most 2^11 rows (which cannot
// overflow: 2^11 · 2^52 = 2^63) and the runs are added to the 128-bit sums; larger terms go to the 128-bit
// sums directly. Integer addition is exact, so this is the same result at a fraction of the cost of a
// 128-bit addition per term.
constexpr std::int64_t kSmall = std::int64_t{1} << 52;
constexpr std::uint64_t kRun = 2048;

// Rows [begin, end) into `p` (k × d sums).
void accumulate_range(ClusterSums& p, const float* x, std::uint64_t begin, std::uint64_t end,
                      const std::int32_t* labels, const float* weights) {
  const int d = p.d();
  const auto kd = static_cast<std::size_t>(p.k()) * static_cast<std::size_t>(d);
  ClusterSums::Wide* sums = p.raw_sums();
  ClusterSums::Wide* wsums = p.raw_weights();
  std::uint64_t* counts = p.raw_counts();
  std::vector<std::int64_t> run_sums(kd, 0), run_weights(static_cast<std::size_t>(p.k()), 0);
  auto flush = [&] {
    for (std::size_t v = 0; v < kd; ++v) {
      sums[v] += run_sums[v];
      run_sums[v] = 0;
    }
    for (std::size_t c = 0; c < run_weights.size(); ++c) {
      wsums[c] += run_weights[c];
      run_weights[c] = 0;
    }
  };
  for (std::uint64_t i = begin; i < end; ++i) {
    if ((i - begin) % kRun == 0 && i != begin) flush();
    const auto c = static_cast<std::size_t>(labels[i]);
    const double w = weights != nullptr ? static_cast<double>(weights[i]) : 1.0;
    const float* row = x + i * static_cast<std::uint64_t>(d);
    std::int64_t* s = run_sums.data() + c * static_cast<std::size_t>(d);
    // Rows whose terms are all below 2^51 (< kSmall) go eight at a time where AVX-512 is there, four at a
    // time where AVX2 is.
    const bool vector =
        have_avx512dq ? add_fixed_row_avx512(row, w, d, s) : have_avx2 && add_fixed_row_avx2(row, w, d, s);
    if (!vector) {
      for (int j = 0; j < d; ++j) {
        const std::int64_t f = to_fixed(w * static_cast<double>(row[j]));
        if (f < kSmall && f > -kSmall)
          s[j] += f;
        else
          sums[c * static_cast<std::size_t>(d) + static_cast<std::size_t>(j)] += f;
      }
    }
    const std::int64_t fw = to_fixed(w);
    if (fw < kSmall && fw > -kSmall)
      run_weights[c] += fw;
    else
      wsums[c] += fw;
    ++counts[c];
  }
  flush();
}

}  // namespace

void accumulate(ClusterSums& sums, const float* x, std::uint64_t rows, const std::int32_t* labels,
                const float* weights, int threads) {
  // A thread per 16,384 rows at most: below that a thread's own sums cost more than its share of the work.
  const int nthreads = std::max(1, std::min<int>(threads, static_cast<int>(rows / 16384)));
  if (nthreads == 1) {  // one thread sums in place
    accumulate_range(sums, x, 0, rows, labels, weights);
    return;
  }
  std::vector<ClusterSums> partial(static_cast<std::size_t>(nthreads), ClusterSums(sums.k(), sums.d()));
#pragma omp parallel num_threads(nthreads)
  {
    const int t = omp_get_thread_num();
    const std::uint64_t per =
        (rows + static_cast<std::uint64_t>(nthreads) - 1) / static_cast<std::uint64_t>(nthreads);
    const std::uint64_t begin = std::min(rows, per * static_cast<std::uint64_t>(t));
    const std::uint64_t end = std::min(rows, begin + per);
    accumulate_range(partial[static_cast<std::size_t>(t)], x, begin, end, labels, weights);
  }
  for (const ClusterSums& p : partial) sums.add(p);
}

void tally(ClusterSums& sums, std::uint64_t rows, const std::int32_t* labels, const float* weights) {
  ClusterSums::Wide* wsums = sums.raw_weights();
  std::uint64_t* counts = sums.raw_counts();
  for (std::uint64_t i = 0; i < rows; ++i) {
    const auto c = static_cast<std::size_t>(labels[i]);
    wsums[c] += to_fixed(weights != nullptr ? static_cast<double>(weights[i]) : 1.0);
    ++counts[c];
  }
}

}  // namespace segstream::kernels::cpu
