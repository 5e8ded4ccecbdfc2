// The probe that reads an untrusted HDF5 file's metadata in a child process first (hdf5_probe.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace segstream::io::detail {

// The string attributes of a probed file as the child read them: (object path, attribute name) -> values.
// The parent takes them from here rather than calling H5Aread on variable-length strings itself, so that
// a corrupt global heap that did not crash the child cannot corrupt the run either.
struct ProbedStrings {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> values;
};

// Throws InputError naming the file when the probe refuses it, crashes, or runs past its time bound;
// ResourceError when no probe process can be started. Returns the file's string attributes. A file that
// passed is not probed again (same device, inode, size and modification time).
std::shared_ptr<const ProbedStrings> probe_untrusted_file(const std::string& path);

// The probe's time bound for a file of this size: 30 s plus 4 s per GiB (only string datasets and chunk
// indices are read, never numeric data).
double probe_time_bound_seconds(std::uint64_t file_bytes);

}  // namespace segstream::io::detail
