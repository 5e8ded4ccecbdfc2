// Pieces the feature modes share (purchases.cpp: lifetimes and rfm; behaviour.cpp: the behavioural set).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "segstream/host/features.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/streams.hpp"

namespace segstream::host::detail {

// Partition of a hashed id when the hash space is cut into `parts` equal ranges: contiguous ranges, so
// concatenating the partitions in order keeps the global order of keys.
inline std::uint64_t partition_of(std::uint64_t key, std::uint64_t parts) {
  __extension__ using u128 = unsigned __int128;  // GCC and Clang; the high half of a 64 × 64 product
  return static_cast<std::uint64_t>((static_cast<u128>(key) * parts) >> 64);
}

// UsageError for options every mode checks (unit, multiplier, purchase types, memory budget).
void check_common_config(const FeatureConfig& config);

// The file's event type names (its attribute, else the standard list).
std::vector<std::string> event_type_names(const io::EventFileReader& reader);

// t0: --as-of, else the last second before the file's as_of attribute (InputError when it has none).
std::int64_t resolve_as_of(const io::EventFileReader& reader, const FeatureConfig& config);

// Under --on-bad-row skip: InputError when more than config.max_bad_share of the file's events were skipped.
void check_bad_share(const std::string& path, std::uint64_t skipped, std::uint64_t events,
                     const FeatureConfig& config);

// Events per read block of a pass.
inline constexpr std::uint64_t kEventBlockRows = std::uint64_t{1} << 18;

// The read ring of a pass over events: three buffers of kEventBlockRows events, viewed with only the columns
// a mode uses (a column left null is not read: lifetimes and rfm skip category, channel and discount, a
// quarter of the bytes).
struct EventRing {
  EventRing(bool details, bool order_id);
  std::vector<io::EventBuffer> storage;
  std::vector<io::EventColumns> views;
};

// Logs (at debug level) that pass `part` of `parts` over `path` begins.
void log_pass(std::uint64_t part, std::uint64_t parts, const std::string& path);

}  // namespace segstream::host::detail
