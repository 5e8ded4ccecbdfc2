#include "segstream/io/profile.hpp"

#include <cmath>

#include "segstream/core/error.hpp"
#include "segstream/io/hdf5.hpp"
#include "small_datasets.hpp"

namespace segstream::io {
using detail::read_vector;
using detail::write_matrix;
using detail::write_vector;

void write_profiles(const File& f, const SegmentProfiles& p) {
  const hsize_t k = p.k(), d = p.d();
  const Group g = f.create_group("/profile");
  g.set_attribute("columns", p.columns);
  if (!p.units.empty()) g.set_attribute("units", p.units);
  g.set_attribute("revenue_column", p.revenue_column);
  g.set_attribute("rows", static_cast<std::int64_t>(p.rows));
  g.set_attribute("median_rows", static_cast<std::int64_t>(p.median_rows));
  f.write_strings("/profile/name", p.name);
  write_vector(f, "/profile/customers", p.customers);
  write_vector(f, "/profile/customer_share", p.customer_share);
  if (!p.revenue_share.empty()) write_vector(f, "/profile/revenue_share", p.revenue_share);
  write_matrix(f, "/profile/mean", p.mean, k, d);
  write_matrix(f, "/profile/median", p.median, k, d);
  write_matrix(f, "/profile/z", p.z, k, d);
  f.write_strings("/profile/apart", p.apart);
  write_vector(f, "/profile/population_mean", p.population_mean);
  write_vector(f, "/profile/population_sd", p.population_sd);
  write_vector(f, "/profile/population_median", p.population_median);
}

bool read_profiles(const File& f, std::size_t k, SegmentProfiles& p) {
  if (!f.has("/profile")) return false;
  const std::string& in = f.path();
  const Group g = f.group("/profile");
  p.columns = g.string_list_attribute("columns");
  const std::size_t d = p.columns.size();
  SEGSTREAM_CHECK_INPUT(d >= 1, "{}: /profile names no columns", in);
  if (g.has_attribute("units")) {
    p.units = g.string_list_attribute("units");
    SEGSTREAM_CHECK_INPUT(p.units.size() == d, "{}: /profile has {} units for {} columns", in, p.units.size(),
                          d);
  }
  p.revenue_column = g.string_attribute("revenue_column");
  p.rows = static_cast<std::uint64_t>(g.int_attribute("rows"));
  p.median_rows = static_cast<std::uint64_t>(g.int_attribute("median_rows"));
  p.name = f.dataset("/profile/name", ElementType::kString, 1).read_strings();
  SEGSTREAM_CHECK_INPUT(p.name.size() == k, "{}: /profile/name has {} names, expected {}", in, p.name.size(),
                        k);
  for (std::size_t s = 0; s < k; ++s)
    SEGSTREAM_CHECK_INPUT(!p.name[s].empty(), "{}: /profile/name of segment {} is empty", in, s);
  p.customers = read_vector<std::uint64_t>(f, "/profile/customers", k);
  p.customer_share = read_vector<double>(f, "/profile/customer_share", k);
  if (f.has("/profile/revenue_share")) p.revenue_share = read_vector<double>(f, "/profile/revenue_share", k);
  for (const char* name : {"/profile/mean", "/profile/median", "/profile/z"}) {
    const Dataset ds = f.dataset(name, ElementType::kFloat64, 2);
    SEGSTREAM_CHECK_INPUT(ds.dims() == (std::vector<hsize_t>{k, d}), "{}: {} is not {} × {}", in, name, k, d);
  }
  p.mean = f.dataset("/profile/mean").read_all<double>();
  p.median = f.dataset("/profile/median").read_all<double>();
  p.z = f.dataset("/profile/z").read_all<double>();
  p.apart = f.dataset("/profile/apart", ElementType::kString, 1).read_strings();
  SEGSTREAM_CHECK_INPUT(p.apart.size() == k, "{}: /profile/apart has {} rows, expected {}", in,
                        p.apart.size(), k);
  p.population_mean = read_vector<double>(f, "/profile/population_mean", d);
  p.population_sd = read_vector<double>(f, "/profile/population_sd", d);
  p.population_median = read_vector<double>(f, "/profile/population_median", d);
  return true;
}

}  // namespace segstream::io
