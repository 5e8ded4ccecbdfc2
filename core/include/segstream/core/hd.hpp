// SEGSTREAM_HD marks functions that compile for both host and device. Per-element math (RNG, distances,
// feature formulas, transforms) is written once with it, so the CPU backend tests the same source the CUDA
// backend runs.
#pragma once

#if defined(__CUDACC__)
#define SEGSTREAM_HD __host__ __device__ __forceinline__
#else
#define SEGSTREAM_HD inline
#endif
