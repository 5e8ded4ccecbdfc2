// Small hand-written event files and feature-file readers for the feature tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

#include "segstream/core/time.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"

namespace segstream::test {

struct Event {
  std::uint64_t customer;
  const char* when;  // ISO time, UTC
  io::EventType type;
  float amount;
  std::uint16_t category = 0;
  std::uint8_t channel = 0;
  float discount = 0;
};

inline void write_events(const std::filesystem::path& path, const std::vector<Event>& events,
                         std::int64_t as_of = 0) {
  io::EventFileWriter w(path, 1024);
  io::EventBuffer buf(events.size());
  io::EventColumns c = buf.view();
  for (std::size_t i = 0; i < events.size(); ++i) {
    c.customer_id[i] = events[i].customer;
    c.timestamp[i] = *parse_iso_time(events[i].when);
    c.event_type[i] = static_cast<std::uint8_t>(events[i].type);
    c.amount[i] = events[i].amount;
    c.category[i] = events[i].category;
    c.channel[i] = events[i].channel;
    c.discount[i] = events[i].discount;
  }
  w.append(c, events.size());
  if (as_of) w.file().set_attribute("as_of", as_of);
  w.close();
}

// customer id → feature row
inline std::map<std::uint64_t, std::vector<float>> read_features(const std::filesystem::path& path) {
  io::FeatureFileReader r(path);
  std::vector<float> x(r.rows() * r.columns());
  std::vector<std::uint64_t> ids(r.rows());
  r.read_rows(0, r.rows(), x.data());
  r.read_ids(0, r.rows(), ids.data());
  std::map<std::uint64_t, std::vector<float>> out;
  for (std::size_t i = 0; i < ids.size(); ++i)
    out[ids[i]] = std::vector<float>(x.begin() + static_cast<std::ptrdiff_t>(i * r.columns()),
                                     x.begin() + static_cast<std::ptrdiff_t>((i + 1) * r.columns()));
  return out;
}

// The whole /features matrix and /customer_id of a file, in file order.
struct FeatureMatrix {
  std::vector<float> values;
  std::vector<std::uint64_t> ids;
  std::vector<std::string> names;
};

inline FeatureMatrix read_matrix(const std::filesystem::path& path) {
  io::FeatureFileReader r(path);
  FeatureMatrix m{std::vector<float>(r.rows() * r.columns()), std::vector<std::uint64_t>(r.rows()),
                  r.feature_names()};
  r.read_rows(0, r.rows(), m.values.data());
  r.read_ids(0, r.rows(), m.ids.data());
  return m;
}

}  // namespace segstream::test
