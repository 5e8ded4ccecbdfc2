// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11) and the distributions segstream draws.
//
// Determinism: every draw is a pure function of (seed, purpose, index, draw number). A stream is keyed by
// the seed and addressed by a purpose code and a 64-bit global index (a customer, a row, a block), so the
// numbers a customer or row receives do not depend on threads, chunking, batch sizes or ranks.
#pragma once

#include <cmath>
#include <cstdint>

#include "segstream/core/hd.hpp"

namespace segstream {

// Words of N 32-bit values; plain arrays with SEGSTREAM_HD access, so the generator compiles for devices too
// (std::array's operator[] is host-only there).
template <int N>
struct Words {
  std::uint32_t v[N];
  SEGSTREAM_HD std::uint32_t& operator[](int i) { return v[i]; }
  SEGSTREAM_HD const std::uint32_t& operator[](int i) const { return v[i]; }
  friend bool operator==(const Words& a, const Words& b) {
    for (int i = 0; i < N; ++i)
      if (a.v[i] != b.v[i]) return false;
    return true;
  }
};

struct Philox4x32 {
  using Block = Words<4>;
  using Key = Words<2>;

  static SEGSTREAM_HD Block generate(Block ctr, Key key) {
    for (int round = 0; round < 10; ++round) {
      if (round > 0) {
        key[0] += 0x9E3779B9u;
        key[1] += 0xBB67AE85u;
      }
      const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * ctr[0];
      const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * ctr[2];
      ctr = Block{static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
                  static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    }
    return ctr;
  }
};

// What a stream is used for; part of the counter, so two purposes never share numbers.
enum class RandomPurpose : std::uint32_t {
  kCustomer = 1,        // a generated customer's whole behaviour
  kShuffle = 2,         // the event permutation of one shuffle block
  kMixtureRow = 3,      // one row of a synthetic feature mixture
  kMixtureModel = 4,    // the mixture's centres and weights
  kAssignment = 5,      // a customer's archetype and drift
  kKMeansInit = 6,      // k-means initialisation: the seeding draws of one restart
  kKMeansReassign = 8,  // the rows small clusters move to
  kKMeansVisit = 9,     // the order of tiles and of the rows of a window in the mini-batch sequence
  kKMeansBreathe = 10,  // the offsets of the centres the non-local phase adds
  kRowSample = 11,      // the rows of a uniform sample (uniform_sample)
  kMixtureDrift = 12,   // a mixture row's component changes between windows
  kMixtureWindow = 13,  // a mixture row's noise in window 2 or later (seeded per window)
};

// A sequence of random numbers addressed by (seed, purpose, index). Counter word 2 counts blocks of four
// 32-bit outputs, so one stream yields 2^34 numbers before it would repeat.
class RandomStream {
 public:
  SEGSTREAM_HD RandomStream(std::uint64_t seed, RandomPurpose purpose, std::uint64_t index)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        ctr_{static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32), 0u,
             static_cast<std::uint32_t>(purpose)} {}

  SEGSTREAM_HD std::uint32_t next_u32() {
    if (used_ == 4) {
      block_ = Philox4x32::generate(ctr_, key_);
      ++ctr_[2];
      used_ = 0;
    }
    return block_[used_++];
  }

  SEGSTREAM_HD std::uint64_t next_u64() {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  // Uniform in the open interval (0, 1), 53 random bits.
  SEGSTREAM_HD double uniform() { return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53; }

  SEGSTREAM_HD double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the bias is below 2^-32 for n < 2^32).
  SEGSTREAM_HD std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>((std::uint64_t{next_u32()} * n) >> 32);
  }

  // Uniform in (0, 1) from 32 random bits: enough resolution for coin flips, at half the cost.
  SEGSTREAM_HD double uniform32() { return (static_cast<double>(next_u32()) + 0.5) * 0x1.0p-32; }

  SEGSTREAM_HD bool bernoulli(double p) { return uniform32() < p; }

  SEGSTREAM_HD double exponential(double rate) { return -std::log(uniform()) / rate; }

  // Standard normal by Box–Muller; both values of a pair are used.
  SEGSTREAM_HD double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    const double theta = 6.283185307179586 * uniform();
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

  SEGSTREAM_HD double normal(double mean, double sd) { return mean + sd * normal(); }

  // Log-normal with the given arithmetic mean and log-scale sigma.
  SEGSTREAM_HD double lognormal_mean(double mean, double sigma) {
    return mean * std::exp(sigma * normal() - 0.5 * sigma * sigma);
  }

  // Poisson(mean): inversion for small means, transformed rejection (Hörmann's PTRS, 1993) for large.
  SEGSTREAM_HD std::uint32_t poisson(double mean) {
    if (mean <= 0.0) return 0;
    if (mean < 10.0) {
      const double limit = std::exp(-mean);
      double product = uniform();
      std::uint32_t k = 0;
      while (product > limit) {
        product *= uniform();
        ++k;
      }
      return k;
    }
    const double slam = std::sqrt(mean);
    const double loglam = std::log(mean);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    const double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
      const double u = uniform() - 0.5;
      const double v = uniform();
      const double us = 0.5 - std::fabs(u);
      const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return static_cast<std::uint32_t>(k);
      if (k < 0.0 || (us < 0.013 && v > us)) continue;
      if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <=
          -mean + k * loglam - std::lgamma(k + 1.0))
        return static_cast<std::uint32_t>(k);
    }
  }

 private:
  Philox4x32::Key key_;
  Philox4x32::Block ctr_;
  Philox4x32::Block block_{};
  int used_ = 4;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// A bijective 64-bit mix (the SplitMix64 finaliser). Used to turn row indices into arbitrary-looking,
// collision-free customer ids.
SEGSTREAM_HD std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

// The inverse of mix64 (each step of it is a bijection on 64-bit words): a hashed id gives the id back.
SEGSTREAM_HD std::uint64_t unmix64(std::uint64_t x) {
  constexpr auto inverse = [](std::uint64_t a) {  // a⁻¹ mod 2^64 for odd a, by Newton's iteration
    std::uint64_t v = a;
    for (int i = 0; i < 5; ++i) v *= 2 - a * v;
    return v;
  };
  x ^= (x >> 31) ^ (x >> 62);
  x *= inverse(0x94D049BB133111EBull);
  x ^= (x >> 27) ^ (x >> 54);
  x *= inverse(0xBF58476D1CE4E5B9ull);
  x ^= (x >> 30) ^ (x >> 60);
  return x;
}

}  // namespace segstream
