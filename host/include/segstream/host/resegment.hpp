// Dynamic re-segmentation (issue 13), the pieces that carry segments from one model to the next: optimal
// matching of new centres to previous ones, stable segment ids that are never reused, and MONIC's
// transitions between the customers of old and new segments.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "segstream/host/kmeans.hpp"
#include "segstream/io/profile.hpp"
#include "segstream/io/segments.hpp"
#include "segstream/kernels/backend.hpp"

namespace segstream::host {

// The assignment of rows to columns of least total cost: for a rows × cols cost matrix (row-major, finite),
// the column of every row, or −1 for the rows left over when rows > cols (each column then takes at most
// one row). Kuhn–Munkres by shortest augmenting paths with potentials, O(n²·m) for n = min(rows, cols);
// deterministic: among equal-cost assignments the result depends only on the matrix.
std::vector<int> min_cost_assignment(const std::vector<double>& cost, int rows, int cols);

// New segments matched to previous ones.
struct IdMatch {
  std::vector<std::int32_t> ids;      // per new centre: its segment id
  std::vector<double> distance;       // per new centre: the distance to the previous centre whose id it
                                      // took, or −1 for a new id
  std::vector<std::int32_t> created;  // ids that are new in this model, ascending
  std::vector<std::int32_t> retired;  // previous ids no new centre took, ascending
  std::int32_t next_id = 0;           // the id the next new segment will get
};

// Stable ids for `k_new` centres after `k_prev` previous ones (row-major, d columns, one model space):
// the minimum-total-distance matching of new centres to previous ones (Euclidean distances; a pair farther
// apart than `max_distance` costs max_distance, as leaving both unmatched would). A matched pair
// within max_distance keeps the previous id; any other new centre gets next_id, next_id + 1, … in centre
// order, and a previous id left without a centre is retired. Ids are never reused: next_id must exceed every
// id used before (InputError otherwise, naming the id).
IdMatch match_segment_ids(const std::vector<float>& prev_centres, const std::vector<std::int32_t>& prev_ids,
                          const std::vector<float>& new_centres, int d, double max_distance,
                          std::int32_t next_id);

// MONIC (Spiliopoulou et al., KDD 2006) over the overlap matrix of customers: counts[i·k_new + j] customers
// were in old segment i and are in new segment j (customers in only one of the two are left out). The
// overlap of old segment X with new Y is |X ∩ Y| / |X|.
//   survived     X's largest overlap, with Y, is at least `match` and no other old segment has Y as match;
//   absorbed     as survived, but Y is the match of other old segments too;
//   split        no overlap reaches `match`, but the new segments with overlap ≥ `split_part` together
//                hold at least `match` of X;
//   disappeared  none of these;
//   emerged      (new segments) no old segment survived as, was absorbed into or split into it.
// Ties for the largest overlap go to the lower new index.
struct Transitions {
  double match = 0.5, split_part = 0.25;  // the thresholds used
  std::vector<std::string> kind;          // per old segment: survived, absorbed, split, disappeared
  std::vector<std::vector<int>> into;     // per old segment: the new segments (indices) it went to
  std::vector<std::uint8_t> emerged;      // per new segment
};
Transitions monic_transitions(const std::vector<std::uint64_t>& counts, int k_old, int k_new,
                              double match = 0.5, double split_part = 0.25);

// The previous segment of every customer of a new window, joined by customer id, never by row position.
// Files written by `features` keep their customers in ascending mix64(id) order; when the window says so
// (`window_sorted`) and the previous segments file is in that order too (checked once over its ids), the
// two are merged as the window streams past, in constant memory. Otherwise the previous file's ids and
// segments are held sorted by id (about 20 bytes a customer) and looked up. Either way the answer is the
// same.
class PreviousSegments {
 public:
  // `stable_ids`: the segment id of each segment index of the previous file (its model's /segment_id).
  // `memory`: bytes the sorted lookup may hold (0: no bound); ResourceError when it needs more.
  PreviousSegments(const std::filesystem::path& segments, std::vector<std::int32_t> stable_ids,
                   bool window_sorted, std::uint64_t memory = 0);
  ~PreviousSegments();
  PreviousSegments(const PreviousSegments&) = delete;
  PreviousSegments& operator=(const PreviousSegments&) = delete;

  // The next n customers of the window, in its row order (`first_row` names them in errors): the previous
  // segment id of each, or −1 for a customer new to the data. InputError when a window said to be sorted
  // is not (a repeated customer breaks the order too), or when a customer of the previous file is looked
  // up twice.
  void lookup(std::uint64_t first_row, std::uint64_t n, const std::uint64_t* ids, std::int32_t* previous);
  // After the window's last row: every previous customer the window does not have, in the previous file's
  // row order, as (id, previous segment id).
  void gone(const std::function<void(std::uint64_t, std::int32_t)>& each);
  bool merged() const;  // true: the streaming merge; false: the sorted lookup
  std::uint64_t previous_rows() const;
  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `segstream update`: the previous model carried onto a new window of the same customer base.
struct UpdateConfig {
  // The previous centres' absorbed weights are multiplied by 0.5^(1 / half_life) before the window's rows
  // join them (Spark StreamingKMeans' decay; the time unit is one update): after half_life updates a
  // window's weight is half what it was.
  double half_life = 4;
  // A new centre farther than this (model space, Euclidean) from the previous centre it is matched with
  // gets a new id; 0: the median RMS radius of the previous segments over the window's customers.
  double new_segment_distance = 0;
  // The trained centres replace the previous ones only when they lower the window's inertia by at least
  // this share; otherwise the previous centres stand, exactly (so unchanged data changes nothing).
  double min_improvement = 1e-3;
  // Segments come and go. A previous segment holding less than this share of the window's weight, and less
  // than a tenth of its share in the previous model, is retired before training; a group of the window no
  // previous centre covers gets a new segment when it holds at least this share (emerge.hpp has the tests).
  double min_segment_share = 0.005;
  std::uint64_t host_memory = std::uint64_t{8} << 30;  // as fit's
  KMeansConfig kmeans;  // seed, batch size, non-local phase…; k and the start are the previous model's
  // With segments written: the previous run's segments.h5 (of the previous model), joined by customer id.
  std::filesystem::path previous_segments;
  // A customer keeps its previous segment unless the nearest centre is closer than that segment's centre
  // by more than this fraction of the distance; 0: every customer takes the nearest centre, as assign does.
  double hysteresis = 0.1;
  std::filesystem::path
      changes;  // with previous_segments: a CSV of every customer who entered or left a segment
};

// How customers moved between the previous segments and these.
struct Migrations {
  std::vector<std::int32_t> from_id;  // the previous model's segment ids (rows)
  std::vector<std::int32_t> to_id;    // this model's (columns)
  // (from + 1) × (to + 1), row-major: customers from → to; the last row counts customers new to the data,
  // the last column customers gone from it.
  std::vector<std::uint64_t> matrix;
  std::uint64_t both = 0, changed = 0, arrived = 0, gone = 0;  // changed: in both, with another id now
  std::vector<std::uint64_t> entered;  // per new segment: customers whose previous id differs (or new)
  std::vector<std::uint64_t> exited;   // per previous segment: customers whose id is now another (or gone)
  std::vector<double> drift;           // to × columns: the centre (natural units) minus the previous
                                       // centre of its id; NaN for a new id
  Transitions transitions;             // MONIC over the customers in both
  std::string json() const;
};

struct UpdateReport {
  std::uint64_t rows = 0;
  bool in_memory = true;  // false: the window's rows were read from the file on every pass
  int k = 0, d = 0;
  double decay = 1;                   // 0.5^(1 / half_life)
  double inertia_before = 0;          // the window under the previous centres
  double inertia_trained = 0;         // the window under the trained centres
  double inertia = 0;                 // under the centres kept
  bool moved = false;                 // the trained centres replaced the previous ones
  double new_segment_distance = 0;    // the one used
  std::vector<std::int32_t> dropped;  // previous ids retired before training (their groups left the window)
  int grown = 0;                      // centres added for groups no previous centre covered
  IdMatch ids;                        // ids per segment, created and retired ones
  io::SegmentProfiles profiles;       // of the window, with names carried by id
  bool segments_written = false;
  double segments_inertia = 0;  // Σ w·d² of the segments written (with hysteresis: to the kept segments)
  std::uint64_t held = 0;       // customers hysteresis kept in their previous segment
  bool migrations_counted = false;
  Migrations migrations;
  double seconds = 0;
  // Where the time went: opening the inputs (and reading the rows when held), the pass under the previous
  // centres, the sample and the segments that came and went, training, the profiles, and segments.h5 with the
  // hysteresis and migrations (0 without --out).
  double read_seconds = 0, before_seconds = 0, emerge_seconds = 0, train_seconds = 0, profile_seconds = 0,
         segments_seconds = 0;
};

// Reads the previous model and the window's features (the model's columns, units and transform; features
// whose columns or units differ are refused), trains from the previous centres, keeps or replaces them,
// matches ids and writes the next model; with `out_segments` also every customer's segment (with
// hysteresis against config.previous_segments) and the migrations. Every output is written atomically,
// all or none.
UpdateReport update_model(const std::filesystem::path& previous_model, const std::filesystem::path& features,
                          const std::filesystem::path& out_model, const std::filesystem::path& out_segments,
                          bool overwrite, const UpdateConfig& config, kernels::Backend& backend);

}  // namespace segstream::host
