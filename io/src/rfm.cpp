#include "segstream/io/rfm.hpp"

#include "small_datasets.hpp"

namespace segstream::io {
using detail::read_vector;
using detail::write_matrix;
using detail::write_vector;

void write_rfm(const std::filesystem::path& path, const std::string& display_name, const RfmFile& r,
               const Provenance& provenance) {
  File file = File::create(path, display_name);
  const hsize_t n = r.customer_id.size();
  write_vector(file, "/customer_id", r.customer_id);
  const Dataset scores = write_matrix(file, "/scores", r.scores, n, 3);
  scores.set_attribute("columns", std::vector<std::string>{"R", "F", "M"});
  write_vector(file, "/segment", r.segment).set_attribute("segment_names", r.segment_names);
  file.create_group("/summary");
  file.write_strings("/summary/segment", r.segment_names);
  write_vector(file, "/summary/customers", r.customers);
  write_vector(file, "/summary/revenue", r.revenue);
  write_vector(file, "/summary/customer_share", r.customer_share);
  write_vector(file, "/summary/revenue_share", r.revenue_share);
  r.ids.write(file);
  write_provenance(file, provenance);
  file.set_attribute("scoring", r.scoring);
  file.set_attribute("map", r.map);
  file.set_attribute("source", r.source);
  file.close();
}

RfmFile read_rfm(const std::filesystem::path& path) {
  const File f = File::open(path);
  const std::string& in = f.path();
  expect_format(f, "segstream.rfm", "segstream RFM file");
  RfmFile r;
  r.customer_id = f.dataset("/customer_id", ElementType::kUint64, 1).read_all<std::uint64_t>();
  const std::uint64_t n = r.customer_id.size();
  const Dataset scores = f.dataset("/scores", ElementType::kUint8, 2);
  SEGSTREAM_CHECK_INPUT(scores.dims() == (std::vector<hsize_t>{n, 3}), "{}: /scores is not {} × 3", in, n);
  r.scores = scores.read_all<std::uint8_t>();
  for (std::size_t i = 0; i < r.scores.size(); ++i)
    SEGSTREAM_CHECK_INPUT(r.scores[i] >= 1 && r.scores[i] <= 5, "{}: /scores row {} holds {}, expected 1..5",
                          in, i / 3, r.scores[i]);
  r.segment = read_vector<std::uint8_t>(f, "/segment", n);
  r.segment_names = f.dataset("/summary/segment", ElementType::kString, 1).read_strings();
  const std::uint64_t s = r.segment_names.size();
  for (std::uint64_t i = 0; i < n; ++i)
    SEGSTREAM_CHECK_INPUT(r.segment[i] < s, "{}: /segment row {} is {}, expected 0..{}", in, i, r.segment[i],
                          s - 1);
  r.customers = read_vector<std::uint64_t>(f, "/summary/customers", s);
  r.revenue = read_vector<double>(f, "/summary/revenue", s);
  r.customer_share = read_vector<double>(f, "/summary/customer_share", s);
  r.revenue_share = read_vector<double>(f, "/summary/revenue_share", s);
  r.scoring = f.string_attribute("scoring");
  r.map = f.string_attribute("map");
  r.source = f.string_attribute("source");
  r.ids = CustomerIds::read(f);
  return r;
}

}  // namespace segstream::io
