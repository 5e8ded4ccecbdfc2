#include "segstream/host/resegment.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/io/features.hpp"

namespace segstream::host {
namespace {

// Rows ≤ cols. Potentials u (rows) and v (cols) keep every reduced cost a − u − v non-negative; each row
// joins by the shortest augmenting path (Dijkstra over the columns on reduced costs), index 0 being the
// virtual start. Strict comparisons in column order make the result a function of the matrix alone.
std::vector<int> assign_rows(const std::vector<double>& a, int n, int m) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const auto nn = static_cast<std::size_t>(n), mm = static_cast<std::size_t>(m);
  std::vector<double> u(nn + 1, 0.0), v(mm + 1, 0.0), minv(mm + 1);
  std::vector<std::size_t> owner(mm + 1, 0), way(mm + 1, 0);  // owner[j]: the row (1-based) in column j
  std::vector<char> used(mm + 1);
  for (std::size_t i = 1; i <= nn; ++i) {
    owner[0] = i;
    std::size_t j0 = 0;
    std::fill(minv.begin(), minv.end(), kInf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      const std::size_t i0 = owner[j0];
      std::size_t j1 = 0;
      double delta = kInf;
      for (std::size_t j = 1; j <= mm; ++j) {
        if (used[j] != 0) continue;
        const double cur = a[(i0 - 1) * mm + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      SEGSTREAM_ASSERT(j1 != 0, "no augmenting path for row {} of a {} × {} assignment", i, n, m);
      for (std::size_t j = 0; j <= mm; ++j) {
        if (used[j] != 0) {
          u[owner[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (owner[j0] != 0);
    do {  // flip the path
      const std::size_t j1 = way[j0];
      owner[j0] = owner[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> col(nn, -1);
  for (std::size_t j = 1; j <= mm; ++j)
    if (owner[j] != 0) col[owner[j] - 1] = static_cast<int>(j - 1);
  return col;
}

double distance(const float* a, const float* b, int d) {
  double s = 0;
  for (int j = 0; j < d; ++j) {
    const double t = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    s += t * t;
  }
  return std::sqrt(s);
}

}  // namespace

std::vector<int> min_cost_assignment(const std::vector<double>& cost, int rows, int cols) {
  SEGSTREAM_EXPECTS(rows >= 0 && cols >= 0 &&
                        cost.size() == static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols),
                    "a {} × {} assignment needs {} costs, not {}", rows, cols,
                    static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols), cost.size());
  for (double c : cost) SEGSTREAM_EXPECTS(std::isfinite(c), "assignment costs must be finite, not {}", c);
  if (rows == 0 || cols == 0) return std::vector<int>(static_cast<std::size_t>(rows), -1);
  if (rows <= cols) return assign_rows(cost, rows, cols);
  // More rows than columns: assign the columns to rows on the transposed matrix.
  std::vector<double> t(cost.size());
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      t[static_cast<std::size_t>(j) * static_cast<std::size_t>(rows) + static_cast<std::size_t>(i)] =
          cost[static_cast<std::size_t>(i) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(j)];
  const std::vector<int> row_of = assign_rows(t, cols, rows);
  std::vector<int> col(static_cast<std::size_t>(rows), -1);
  for (int j = 0; j < cols; ++j) col[static_cast<std::size_t>(row_of[static_cast<std::size_t>(j)])] = j;
  return col;
}

IdMatch match_segment_ids(const std::vector<float>& prev_centres, const std::vector<std::int32_t>& prev_ids,
                          const std::vector<float>& new_centres, int d, double max_distance,
                          std::int32_t next_id) {
  SEGSTREAM_EXPECTS(d >= 1, "centres need at least one column{}", "");
  const auto dd = static_cast<std::size_t>(d);
  const std::size_t k_prev = prev_ids.size(), k_new = new_centres.size() / dd;
  SEGSTREAM_EXPECTS(prev_centres.size() == k_prev * dd && new_centres.size() == k_new * dd,
                    "{} previous ids for {} previous and {} new centre values of {} columns", k_prev,
                    prev_centres.size(), new_centres.size(), d);
  SEGSTREAM_EXPECTS(max_distance >= 0, "the new-segment distance must not be negative, not {}", max_distance);
  for (std::int32_t id : prev_ids)
    SEGSTREAM_CHECK_INPUT(id >= 0 && id < next_id,
                          "segment id {} is not below the model's next id {}: ids would be reused", id,
                          next_id);
  std::vector<double> dist(k_new * k_prev), cost(k_new * k_prev);
  for (std::size_t i = 0; i < k_new; ++i)
    for (std::size_t j = 0; j < k_prev; ++j) {
      dist[i * k_prev + j] = distance(new_centres.data() + i * dd, prev_centres.data() + j * dd, d);
      cost[i * k_prev + j] = std::min(dist[i * k_prev + j], max_distance);
    }
  const std::vector<int> to = min_cost_assignment(cost, static_cast<int>(k_new), static_cast<int>(k_prev));
  IdMatch m;
  m.next_id = next_id;
  std::vector<char> taken(k_prev, 0);
  for (std::size_t i = 0; i < k_new; ++i) {
    const int j = to[i];
    if (j >= 0 && dist[i * k_prev + static_cast<std::size_t>(j)] <= max_distance) {
      m.ids.push_back(prev_ids[static_cast<std::size_t>(j)]);
      m.distance.push_back(dist[i * k_prev + static_cast<std::size_t>(j)]);
      taken[static_cast<std::size_t>(j)] = 1;
    } else {
      SEGSTREAM_CHECK_INPUT(m.next_id < std::numeric_limits<std::int32_t>::max(),
                            "segment ids are exhausted (next id {})", m.next_id);
      m.ids.push_back(m.next_id);
      m.distance.push_back(-1);
      m.created.push_back(m.next_id++);
    }
  }
  for (std::size_t j = 0; j < k_prev; ++j)
    if (taken[j] == 0) m.retired.push_back(prev_ids[j]);
  std::sort(m.retired.begin(), m.retired.end());
  return m;
}

Transitions monic_transitions(const std::vector<std::uint64_t>& counts, int k_old, int k_new, double match,
                              double split_part) {
  SEGSTREAM_EXPECTS(k_old >= 0 && k_new >= 0 &&
                        counts.size() == static_cast<std::size_t>(k_old) * static_cast<std::size_t>(k_new),
                    "a {} × {} overlap matrix needs {} counts, not {}", k_old, k_new,
                    static_cast<std::size_t>(k_old) * static_cast<std::size_t>(k_new), counts.size());
  SEGSTREAM_EXPECTS(match > 0 && match <= 1 && split_part > 0 && split_part <= match,
                    "MONIC needs 0 < split part ≤ match ≤ 1, not {} and {}", split_part, match);
  const auto ko = static_cast<std::size_t>(k_old), kn = static_cast<std::size_t>(k_new);
  Transitions t;
  t.match = match;
  t.split_part = split_part;
  std::vector<const char*> kind(ko, "disappeared");
  t.into.assign(ko, {});
  t.emerged.assign(kn, 1);
  std::vector<int> best(ko, -1);       // the new segment X matches, or −1
  std::vector<int> matched_by(kn, 0);  // old segments that match each new one
  std::vector<double> total(ko, 0);
  for (std::size_t i = 0; i < ko; ++i) {
    std::uint64_t size = 0, top = 0;
    int arg = -1;
    for (std::size_t j = 0; j < kn; ++j) {
      const std::uint64_t c = counts[i * kn + j];
      size += c;
      if (c > top) {
        top = c;
        arg = static_cast<int>(j);
      }
    }
    total[i] = static_cast<double>(size);
    if (size > 0 && static_cast<double>(top) >= match * static_cast<double>(size)) {
      best[i] = arg;
      ++matched_by[static_cast<std::size_t>(arg)];
    }
  }
  for (std::size_t i = 0; i < ko; ++i) {
    if (best[i] >= 0) {
      const auto y = static_cast<std::size_t>(best[i]);
      kind[i] = matched_by[y] == 1 ? "survived" : "absorbed";
      t.into[i] = {best[i]};
      t.emerged[y] = 0;
      continue;
    }
    if (total[i] <= 0) continue;
    std::vector<int> parts;
    double held = 0;
    for (std::size_t j = 0; j < kn; ++j) {
      const double share = static_cast<double>(counts[i * kn + j]) / total[i];
      if (share >= split_part) {
        parts.push_back(static_cast<int>(j));
        held += share;
      }
    }
    if (parts.size() >= 2 && held >= match) {
      kind[i] = "split";
      t.into[i] = parts;
      for (int j : parts) t.emerged[static_cast<std::size_t>(j)] = 0;
    }
  }
  for (const char* k : kind) t.kind.emplace_back(k);
  return t;
}

struct PreviousSegments::Impl {
  Impl(const std::filesystem::path& segments, std::vector<std::int32_t> ids)
      : reader(segments), stable(std::move(ids)), rows(reader.rows()), matched((rows + 63) / 64, 0) {}

  io::SegmentsReader reader;
  std::vector<std::int32_t> stable;  // segment index → segment id
  std::uint64_t rows;
  std::vector<std::uint64_t> matched;  // a bit per previous row: the window has that customer
  bool merge = false;
  // The merge: the previous file's block under the cursor, and the window's last key.
  std::uint64_t cursor = 0, block_start = 0, block_n = 0;
  std::vector<std::uint64_t> block_ids;
  std::vector<std::int32_t> block_segment;
  bool have_key = false;
  std::uint64_t last_key = 0;
  // The sorted lookup: (mix64(id), previous row) ascending, a directory of where each bucket of keys starts
  // (keys are uniform, so a bucket holds a few), and every previous row's segment index.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> by_key;
  std::vector<std::uint64_t> bucket_start;
  int bucket_shift = 64;
  std::vector<std::int32_t> segment;

  static constexpr std::uint64_t kKeysPerBucket = 8;
  static std::uint64_t buckets_for(std::uint64_t rows) {
    std::uint64_t b = 1;
    while (b * kKeysPerBucket < rows) b *= 2;
    return b;
  }

  bool is_matched(std::uint64_t row) const { return ((matched[row / 64] >> (row % 64)) & 1U) != 0; }
  void mark(std::uint64_t row) { matched[row / 64] |= std::uint64_t{1} << (row % 64); }

  std::int32_t stable_of(std::int32_t index) const { return stable[static_cast<std::size_t>(index)]; }

  // Whether the previous file's ids ascend strictly in mix64 order: a file that states that order (it was
  // assigned from features in it) is taken at its word and checked block by block as the merge reads it
  // (hold); any other file is checked by one pass over its ids.
  bool previous_sorted() {
    if (reader.summary().customer_order == io::kMix64Order) return true;
    std::vector<std::uint64_t> ids;
    std::uint64_t last = 0;
    for (std::uint64_t start = 0; start < rows; start += io::kSegmentChunkRows) {
      const std::uint64_t n = std::min(io::kSegmentChunkRows, rows - start);
      ids.resize(n);
      reader.read(start, n, ids.data(), nullptr, nullptr, nullptr);
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t key = mix64(ids[i]);
        if ((start + i > 0 && key <= last)) return false;
        last = key;
      }
    }
    return true;
  }

  void load_sorted() {
    by_key.reserve(rows);
    segment.resize(rows);
    std::vector<std::uint64_t> ids;
    for (std::uint64_t start = 0; start < rows; start += io::kSegmentChunkRows) {
      const std::uint64_t n = std::min(io::kSegmentChunkRows, rows - start);
      ids.resize(n);
      reader.read(start, n, ids.data(), segment.data() + start, nullptr, nullptr);
      for (std::uint64_t i = 0; i < n; ++i) by_key.emplace_back(mix64(ids[i]), start + i);
    }
    std::sort(by_key.begin(), by_key.end());
    for (std::size_t i = 1; i < by_key.size(); ++i)
      SEGSTREAM_CHECK_INPUT(by_key[i].first != by_key[i - 1].first,  // mix64 is a bijection
                            "{}: customer id {} appears twice (rows {} and {})", reader.path(),
                            unmix64(by_key[i].first), by_key[i - 1].second, by_key[i].second);
    const std::uint64_t buckets = buckets_for(rows);
    bucket_shift = 64 - std::countr_zero(buckets);
    bucket_start.assign(buckets + 1, rows);
    for (std::uint64_t i = rows; i-- > 0;) bucket_start[bucket_of(by_key[i].first)] = i;
    for (std::uint64_t b = buckets; b-- > 0;)
      bucket_start[b] = std::min(bucket_start[b], bucket_start[b + 1]);
  }

  std::uint64_t bucket_of(std::uint64_t key) const { return bucket_shift >= 64 ? 0 : key >> bucket_shift; }

  // The previous row at the cursor, reading its block when the cursor leaves the one held.
  void hold(std::uint64_t row) {
    if (row >= block_start && row < block_start + block_n) return;
    block_start = row / io::kSegmentChunkRows * io::kSegmentChunkRows;
    block_n = std::min(io::kSegmentChunkRows, rows - block_start);
    block_ids.resize(block_n);
    block_segment.resize(block_n);
    reader.read(block_start, block_n, block_ids.data(), block_segment.data(), nullptr, nullptr);
    for (std::uint64_t i = 0; i < block_n; ++i) {
      const std::uint64_t key = mix64(block_ids[i]);
      SEGSTREAM_CHECK_INPUT(block_start + i == 0 || key > previous_key,
                            "{}: row {} (customer {}) breaks the ascending mix64(id) order the file states "
                            "(customer_order) or repeats a customer",
                            reader.path(), block_start + i, block_ids[i]);
      previous_key = key;
    }
  }
  std::uint64_t previous_key = 0;  // the merge: the key of the previous file's last row read
};

PreviousSegments::PreviousSegments(const std::filesystem::path& segments,
                                   std::vector<std::int32_t> stable_ids, bool window_sorted,
                                   std::uint64_t memory)
    : impl_(std::make_unique<Impl>(segments, std::move(stable_ids))) {
  Impl& m = *impl_;
  SEGSTREAM_CHECK_INPUT(static_cast<std::int64_t>(m.stable.size()) == m.reader.summary().k,
                        "{}: its segments are of a model with {} segments, not of this one ({} segment ids)",
                        m.reader.path(), m.reader.summary().k, m.stable.size());
  m.merge = window_sorted && m.previous_sorted();
  if (m.merge) return;
  // (key, row) pairs, a segment index per row, the bit per row and the bucket directory.
  const std::uint64_t need =
      m.rows * (sizeof(std::pair<std::uint64_t, std::uint64_t>) + sizeof(std::int32_t)) +
      m.matched.size() * sizeof(std::uint64_t) + (Impl::buckets_for(m.rows) + 1) * sizeof(std::uint64_t);
  if (memory > 0 && need > memory)
    throw ResourceError(fmt::format(
        "{}: joining its {} customers by id needs about {} MiB (it and the window are not both in "
        "ascending mix64(id) order, so its ids are held sorted), more than --host-memory {} MiB",
        m.reader.path(), m.rows, need >> 20, memory >> 20));
  m.load_sorted();
}

PreviousSegments::~PreviousSegments() = default;

void PreviousSegments::lookup(std::uint64_t first_row, std::uint64_t n, const std::uint64_t* ids,
                              std::int32_t* previous) {
  Impl& m = *impl_;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t id = ids[i];
    previous[i] = -1;
    if (m.merge) {
      const std::uint64_t key = mix64(id);
      SEGSTREAM_CHECK_INPUT(!m.have_key || key > m.last_key,
                            "the window's row {} (customer {}) is out of its ascending mix64(id) order or "
                            "repeats a customer",
                            first_row + i, id);
      m.have_key = true;
      m.last_key = key;
      while (m.cursor < m.rows) {
        m.hold(m.cursor);
        const std::uint64_t at = m.cursor - m.block_start;
        const std::uint64_t prev_key = mix64(m.block_ids[at]);
        if (prev_key > key) break;
        if (prev_key == key) {  // mix64 is a bijection: the same customer
          previous[i] = m.stable_of(m.block_segment[at]);
          m.mark(m.cursor++);
          break;
        }
        ++m.cursor;  // a previous customer the window does not have
      }
      continue;
    }
    const std::uint64_t key = mix64(id), b = m.bucket_of(key);
    const auto end = m.by_key.begin() + static_cast<std::ptrdiff_t>(m.bucket_start[b + 1]);
    auto it = m.by_key.begin() + static_cast<std::ptrdiff_t>(m.bucket_start[b]);
    while (it != end && it->first < key) ++it;
    if (it == end || it->first != key) continue;
    SEGSTREAM_CHECK_INPUT(!m.is_matched(it->second), "the window's row {} repeats customer {}", first_row + i,
                          id);
    m.mark(it->second);
    previous[i] = m.stable_of(m.segment[it->second]);
  }
}

void PreviousSegments::gone(const std::function<void(std::uint64_t, std::int32_t)>& each) {
  Impl& m = *impl_;
  std::vector<std::uint64_t> ids;
  std::vector<std::int32_t> segment;
  for (std::uint64_t start = 0; start < m.rows; start += io::kSegmentChunkRows) {
    const std::uint64_t n = std::min(io::kSegmentChunkRows, m.rows - start);
    bool any = false;
    for (std::uint64_t i = 0; i < n && !any; ++i) any = !m.is_matched(start + i);
    if (!any) continue;
    ids.resize(n);
    segment.resize(n);
    m.reader.read(start, n, ids.data(), segment.data(), nullptr, nullptr);
    for (std::uint64_t i = 0; i < n; ++i)
      if (!m.is_matched(start + i)) each(ids[i], m.stable_of(segment[i]));
  }
}

bool PreviousSegments::merged() const {
  return impl_->merge;
}

std::uint64_t PreviousSegments::previous_rows() const {
  return impl_->rows;
}

const std::string& PreviousSegments::path() const {
  return impl_->reader.path();
}

}  // namespace segstream::host
