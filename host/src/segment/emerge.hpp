// Groups of a window that no segment of the previous model covers (internal to host: `update`).
#pragma once

#include <vector>

namespace segstream::host::detail {

struct EmergeConfig {
  double min_share = 0.005;  // a new group holds at least this share of the sample's weight
  double min_distance = 0;   // and its centre lies farther than this from every centre
  double bandwidth = 1;      // the radius of the density counts, in typical segment radii
  int max_new = 1;           // at most this many groups are added
};

// Adds a centre to `centres` (k × d, model space) for each group of the sample rows `x` (n × d, weights w)
// that stands apart from every centre, and returns how many it added. A centre's radius is the median
// distance of its rows, at most the typical radius (the median over centres). A group is found by mean
// shift with a flat kernel of `bandwidth` typical radii, from the densest of the rows lying beyond twice
// their centre's radius, and is added when (1) it lies farther than max(min_distance, twice the nearest
// centre's radius) from every centre, (2) its cell (the rows nearer to it than to their centre) holds at
// least min_share of the weight, and (3) the density halfway to the nearest centre is below half its own (a
// valley separates them). Deterministic: the same sample gives the same centres.
int grow_centres(const std::vector<float>& x, const std::vector<float>& w, int d, std::vector<float>& centres,
                 const EmergeConfig& config);

// Each centre's share of the sample's weight: the rows nearer to it than to any other (ties: the lower).
std::vector<double> nearest_shares(const std::vector<float>& x, const std::vector<float>& w, int d,
                                   const std::vector<float>& centres);

}  // namespace segstream::host::detail
