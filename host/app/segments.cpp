// `segstream segments export`: each customer's own id, segment and segment name as CSV (host/segment.hpp).
#include <cstdio>
#include <memory>

#include "cli.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/atomic_output.hpp"

namespace segstream::app {

Action add_segments_export(CLI::App& sub) {
  auto o = std::make_shared<host::SegmentsExportOptions>();
  sub.add_option("segments", o->segments, "segments.h5 written by `segstream assign` or `segstream update`")
      ->required();
  sub.add_option("-o,--out", o->out, "Output CSV: customer_id,segment,segment_name")->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.footer("Example:\n  segstream segments export segments.h5 --out segments.csv");
  return [o](const host::GlobalOptions&) {
    io::check_outputs_apart({{"segments", o->segments}}, {{"--out", o->out}});
    const host::ExportReport r = host::export_segments(o->segments, o->out, o->overwrite);
    host::log_record(host::LogLevel::kInfo, "segments export finished",
                     {{"out", o->out}, {"rows", r.rows}, {"k", r.k}, {"text_ids", r.text_ids}});
    std::printf("wrote %s: %s customers in %lld segments, by their own ids\n", o->out.c_str(),
                with_commas(r.rows).c_str(), static_cast<long long>(r.k));
  };
}

}  // namespace segstream::app
