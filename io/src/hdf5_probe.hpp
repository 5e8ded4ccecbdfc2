// The probe that reads an untrusted HDF5 file's metadata in a child process first (hdf5_probe.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace segstream::io::detail {

// Throws InputError naming the file when the probe refuses it, crashes, or runs past its time bound;
// ResourceError when no probe process can be started. A file that passed is not probed again.
void probe_untrusted_file(const std::string& path);

// The probe's time bound for a file of this size: 30 s plus 4 s per GiB (only string datasets and chunk
// indices are read, never numeric data).
double probe_time_bound_seconds(std::uint64_t file_bytes);

}  // namespace segstream::io::detail
