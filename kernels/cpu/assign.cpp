// The CPU backend's assign (kernels/cpu.hpp): the nearest and second-nearest centre of sixteen rows at a
// time in vector registers, the bits of kernels/kmeans.hpp's scalar formulas.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "segstream/core/error.hpp"
#include "segstream/kernels/cpu.hpp"
#include "segstream/kernels/kmeans.hpp"

namespace segstream::kernels::cpu {
namespace {
constexpr std::uint64_t kBlockRows = kInertiaRows;  // rows per fixed block of the inertia sum
constexpr int kLanes = 16;                          // rows per call of the kernel

// Nearest and second-nearest centre of the 16 rows of xt (d × 16, transposed, rows past the caller's
// count zero), in vectors of L lanes: 16 / L vectors per column, G centres summed side by side so that
// G × 16 / L chains of additions are in flight. Every centre's squared distances are summed j ascending
// exactly as squared_distance sums them, so each lane holds the same bits as the scalar formula; centres are
// offered in ascending order with Nearest::offer's comparisons, so labels, ties and second distances are
// the same too. The vectors are GCC's generic ones of one register's width (L = 16 under AVX-512, 8 under
// AVX2, 4 in the baseline): wider ones were split by the compiler into stack traffic. This file is built
// with -ffp-contract=off so no multiply-add is fused.
// Vectors of L floats and ints (loaded and stored through memcpy, which makes no assumption of
// alignment). Written out per width: GCC mishandles a
// vector_size that depends on a template parameter.
template <int L>
struct Vectors;
#define SEGSTREAM_VECTORS(L)                                                       \
  template <>                                                                      \
  struct Vectors<L> {                                                              \
    typedef float F __attribute__((vector_size(L * sizeof(float))));               \
    typedef std::int32_t I __attribute__((vector_size(L * sizeof(std::int32_t)))); \
  };
SEGSTREAM_VECTORS(4)
SEGSTREAM_VECTORS(8)
SEGSTREAM_VECTORS(16)
#undef SEGSTREAM_VECTORS

template <int L, int G>
[[gnu::always_inline]] inline void nearest_lanes(const float* xt, int d, const float* centres, int k,
                                                 float* best_out, float* second_out,
                                                 std::int32_t* label_out) {
  constexpr int H = kLanes / L;
  using F = typename Vectors<L>::F;
  using I = typename Vectors<L>::I;
  // Lambdas inlined by force (they are compiled without the caller's target otherwise), and none returns a
  // vector, whose ABI would differ between targets.
  const auto load = [xt](int at, F& v) __attribute__((always_inline)) {
    std::memcpy(&v, xt + at, sizeof v);
  };
  F b[H], s2[H];
  I l[H];
  for (int h = 0; h < H; ++h) {
    b[h] = F{} + INFINITY;
    s2[h] = b[h];
    l[h] = I{};
  }
  auto offer = [&](int h, const F& d2, int c) __attribute__((always_inline)) {
    const I lt = d2 < b[h];    // all ones where the row's new nearest is c
    const I lt2 = d2 < s2[h];  // where c is nearer than the second nearest
    s2[h] = lt ? b[h] : (lt2 ? d2 : s2[h]);
    b[h] = lt ? d2 : b[h];
    l[h] = lt ? (I{} + c) : l[h];
  };
  int c = 0;
  for (; c + G <= k; c += G) {
    const float* c0 = centres + static_cast<std::ptrdiff_t>(c) * d;
    F a[G][H] = {};
    for (int j = 0; j < d; ++j) {
      F xj[H];
      for (int h = 0; h < H; ++h) load((j * H + h) * L, xj[h]);
      for (int g = 0; g < G; ++g) {
        const float cj = c0[g * d + j];
        for (int h = 0; h < H; ++h) {
          const F t = xj[h] - cj;
          a[g][h] += t * t;
        }
      }
    }
    for (int g = 0; g < G; ++g)
      for (int h = 0; h < H; ++h) offer(h, a[g][h], c + g);
  }
  for (; c < k; ++c) {
    const float* c0 = centres + static_cast<std::ptrdiff_t>(c) * d;
    F a[H] = {};
    for (int j = 0; j < d; ++j)
      for (int h = 0; h < H; ++h) {
        F x;
        load((j * H + h) * L, x);
        const F t = x - c0[j];
        a[h] += t * t;
      }
    for (int h = 0; h < H; ++h) offer(h, a[h], c);
  }
  for (int h = 0; h < H; ++h) {
    std::memcpy(best_out + h * L, &b[h], sizeof b[h]);
    std::memcpy(second_out + h * L, &s2[h], sizeof s2[h]);
    std::memcpy(label_out + h * L, &l[h], sizeof l[h]);
  }
}

__attribute__((target("avx512f"))) void nearest_avx512(const float* xt, int d, const float* centres, int k,
                                                       float* best, float* second, std::int32_t* label) {
  nearest_lanes<16, 4>(xt, d, centres, k, best, second, label);
}
__attribute__((target("avx2"))) void nearest_avx2(const float* xt, int d, const float* centres, int k,
                                                  float* best, float* second, std::int32_t* label) {
  nearest_lanes<8, 4>(xt, d, centres, k, best, second, label);
}
void nearest_baseline(const float* xt, int d, const float* centres, int k, float* best, float* second,
                      std::int32_t* label) {
  nearest_lanes<4, 2>(xt, d, centres, k, best, second, label);
}

using NearestKernel = void (*)(const float*, int, const float*, int, float*, float*, std::int32_t*);

struct NamedKernel {
  const char* name;
  NearestKernel kernel;
};

// The kernels this processor runs, widest first.
const std::vector<NamedKernel>& runnable_kernels() {
  static const std::vector<NamedKernel> kernels = [] {
    __builtin_cpu_init();
    std::vector<NamedKernel> k;
    if (__builtin_cpu_supports("avx512f")) k.push_back({"avx512", &nearest_avx512});
    if (__builtin_cpu_supports("avx2")) k.push_back({"avx2", &nearest_avx2});
    k.push_back({"baseline", &nearest_baseline});
    return k;
  }();
  return kernels;
}

std::atomic<NearestKernel> chosen_kernel{nullptr};  // use_assign_kernel's choice; null: the widest

NearestKernel nearest_kernel() {
  const NearestKernel chosen = chosen_kernel.load(std::memory_order_relaxed);
  return chosen != nullptr ? chosen : runnable_kernels().front().kernel;
}

// Rows i0 .. i0 + n (n ≤ 16) of x, transposed into xt (d × 16, the rest zero).
void transpose_16(const float* rows, int n, int d, float* xt) {
  if (n == kLanes) {
    for (int j = 0; j < d; ++j)
      for (int i = 0; i < kLanes; ++i) xt[j * kLanes + i] = rows[i * d + j];
  } else {
    for (int j = 0; j < d; ++j)
      for (int i = 0; i < kLanes; ++i) xt[j * kLanes + i] = i < n ? rows[i * d + j] : 0.0f;
  }
}
}  // namespace

std::vector<std::string> assign_kernels() {
  std::vector<std::string> names;
  for (const NamedKernel& k : runnable_kernels()) names.emplace_back(k.name);
  return names;
}

void use_assign_kernel(const std::string& name) {
  if (name.empty()) {
    chosen_kernel.store(nullptr);
    return;
  }
  for (const NamedKernel& k : runnable_kernels())
    if (name == k.name) {
      chosen_kernel.store(k.kernel);
      return;
    }
  SEGSTREAM_EXPECTS(false, "assign kernel '{}' does not run on this processor", name);
}

double assign(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
              std::int32_t* labels, float* distance2, float* margin, int threads) {
  const std::uint64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  std::vector<double> block_inertia(blocks, 0.0);
  // Allocated before the region: an exception inside one would end the process.
  const std::size_t per_thread = static_cast<std::size_t>(d) * kLanes;
  std::vector<float> transposed(per_thread * static_cast<std::size_t>(std::max(threads, 1)));
  const NearestKernel nearest = nearest_kernel();
#pragma omp parallel num_threads(threads)
  {
    float* xt = transposed.data() + per_thread * static_cast<std::size_t>(omp_get_thread_num());
#pragma omp for schedule(static)
    for (std::int64_t bi = 0; bi < static_cast<std::int64_t>(blocks); ++bi) {
      const auto b = static_cast<std::uint64_t>(bi);
      const std::uint64_t end = std::min(rows, (b + 1) * kBlockRows);
      double s = 0;
      for (std::uint64_t i0 = b * kBlockRows; i0 < end; i0 += kLanes) {
        const int n = static_cast<int>(std::min<std::uint64_t>(kLanes, end - i0));
        float best[kLanes], second[kLanes];
        std::int32_t label[kLanes];
        transpose_16(x + i0 * static_cast<std::uint64_t>(d), n, d, xt);
        nearest(xt, d, centres, k, best, second, label);
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
