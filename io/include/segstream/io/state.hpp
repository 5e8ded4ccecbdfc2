// state.h5, written by `features --state-out` and read by `features --state-in` (docs/FORMATS.md): the
// per-customer state behind the behavioural features as of t0, one fixed-size record per customer in
// ascending mix64(customer_id) order, and what the next run must share with this one. The records are
// opaque bytes here (the features engine owns their layout); the one writer and the one validating reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "segstream/io/provenance.hpp"

namespace segstream::io {

struct StateMetadata {
  std::int64_t as_of = 0;                    // the t0 the state is at
  std::string identity;                      // JSON: the parameters the next run must share
  std::uint64_t events_folded = 0;           // all runs together
  std::vector<std::int64_t> category_cents;  // spend per category slot, integer cents
  std::int64_t channel_slots = 0;
};

// Records are deflated (mostly zeros) and written one whole chunk at a time, so no compressed chunk is ever
// read back.
class StateFileWriter {
 public:
  static constexpr std::uint64_t kChunk = 4096;
  StateFileWriter(const std::filesystem::path& path, const std::string& display_name,
                  std::size_t record_bytes);
  // Appends n customers: their ids and n records of record_bytes bytes.
  void append(std::uint64_t n, const std::uint64_t* ids, const void* records);
  const File& file() const { return file_; }
  void close(const StateMetadata& metadata, const Provenance& provenance);

 private:
  void flush(std::uint64_t n);
  File file_;
  Dataset ids_, records_;
  std::size_t record_bytes_;
  std::vector<std::uint64_t> staged_ids_;
  std::vector<std::uint8_t> staged_;
  std::uint64_t rows_ = 0;
};

// Validates format and version, the metadata, /state/customer_id and /state/record (one record of
// record_bytes bytes per customer).
class StateFileReader {
 public:
  StateFileReader(const std::filesystem::path& path, std::size_t record_bytes);
  const std::string& path() const { return file_.path(); }
  const StateMetadata& metadata() const { return metadata_; }
  std::uint64_t customers() const { return customers_; }
  // Customers [start, start + n): their ids and records.
  void read(std::uint64_t start, std::uint64_t n, std::uint64_t* ids, void* records) const;

 private:
  File file_;
  Dataset ids_, records_;
  std::uint64_t customers_ = 0;
  StateMetadata metadata_;
};

}  // namespace segstream::io
