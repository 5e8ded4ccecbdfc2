// The HDF5 layer: round trips, the prefetching reader, atomic outputs, and every bad input it must refuse
// with a clear message.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <numeric>
#include <thread>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/hdf5.hpp"
#include "segstream/io/inspect.hpp"
#include "segstream/io/prefetch.hpp"
#include "segstream/io/streams.hpp"
#include "test_util.hpp"

namespace segstream::io {
namespace {

using test::TempDir;

std::string read_text(const std::filesystem::path& path) {  // the first line
  std::ifstream f(path, std::ios::binary);
  std::string line;
  std::getline(f, line);
  return line;
}

// Fills events with a recognisable pattern: row i has customer i / 3, timestamp 1000 + i, …
void fill_events(EventBuffer& buf, std::uint64_t n, std::uint64_t offset = 0) {
  buf.resize(n);
  EventColumns v = buf.view();
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t r = i + offset;
    v.customer_id[i] = (r / 3) * 0x9E3779B97F4A7C15ull;
    v.timestamp[i] = 1000 + static_cast<std::int64_t>(r);
    v.event_type[i] = static_cast<std::uint8_t>(r % kEventTypeCount);
    v.amount[i] = static_cast<float>(r) * 0.5f;
    v.category[i] = static_cast<std::uint16_t>(r % 25);
    v.channel[i] = static_cast<std::uint8_t>(r % 5);
    v.discount[i] = static_cast<float>(r % 7);
  }
}

void write_events(const std::filesystem::path& path, std::uint64_t n, std::uint64_t chunk_rows,
                  std::uint64_t append_size) {
  EventFileWriter writer(path, chunk_rows);
  EventBuffer buf;
  for (std::uint64_t at = 0; at < n; at += append_size) {
    const std::uint64_t k = std::min(append_size, n - at);
    fill_events(buf, k, at);
    writer.append(buf.view(), k);
  }
  writer.close();
}

TEST(Events, RoundTripAcrossChunkAndAppendSizes) {
  TempDir dir;
  for (auto [chunk, append] :
       {std::pair<std::uint64_t, std::uint64_t>{7, 3}, {64, 1000}, {1000, 64}, {4096, 4096}}) {
    const auto path = dir / ("ev-" + std::to_string(chunk) + ".h5");
    const std::uint64_t n = 5003;
    write_events(path, n, chunk, append);
    EventFileReader reader(path);
    ASSERT_EQ(reader.rows(), n);
    EventBuffer got(n), want;
    fill_events(want, n);
    reader.read(0, n, got.view());
    const EventColumns g = got.view(), w = want.view();
    for (std::uint64_t i = 0; i < n; ++i) {
      ASSERT_EQ(g.customer_id[i], w.customer_id[i]) << i;
      ASSERT_EQ(g.timestamp[i], w.timestamp[i]);
      ASSERT_EQ(g.event_type[i], w.event_type[i]);
      ASSERT_EQ(g.amount[i], w.amount[i]);
      ASSERT_EQ(g.category[i], w.category[i]);
      ASSERT_EQ(g.channel[i], w.channel[i]);
      ASSERT_EQ(g.discount[i], w.discount[i]);
    }
    // A row range in the middle, across chunk boundaries.
    EventBuffer part(100);
    reader.read(1234, 100, part.view());
    EXPECT_EQ(part.view().timestamp[0], 1000 + 1234);
    EXPECT_EQ(part.view().timestamp[99], 1000 + 1333);
    // Columns without a destination are skipped; the others are read as usual.
    std::vector<std::int64_t> only_ts(10, -1);
    EventColumns partial;
    partial.timestamp = only_ts.data();
    reader.read(2000, 10, partial);
    EXPECT_EQ(only_ts[0], 1000 + 2000);
    EXPECT_EQ(only_ts[9], 1000 + 2009);
    EXPECT_EQ(reader.file().group("/events").string_list_attribute("event_type_names"),
              standard_event_type_names());
  }
}

TEST(Features, RoundTripAndSchema) {
  TempDir dir;
  const auto path = dir / "f.h5";
  const std::uint64_t n = 3001, d = 5;
  std::vector<float> rows(n * d);
  std::vector<std::uint64_t> ids(n);
  for (std::uint64_t i = 0; i < n * d; ++i) rows[i] = static_cast<float>(i) * 0.25f;
  std::iota(ids.begin(), ids.end(), std::uint64_t{1} << 40);
  {
    FeatureFileWriter writer(path, {"a", "b", "c", "d", "e"}, 64);
    writer.append(rows.data(), ids.data(), 1000);
    writer.append(rows.data() + 1000 * d, ids.data() + 1000, n - 1000);
    writer.close();
  }
  FeatureFileReader reader(path);
  EXPECT_EQ(reader.rows(), n);
  EXPECT_EQ(reader.columns(), d);
  EXPECT_EQ(reader.chunk_rows(), 64u);
  EXPECT_EQ(reader.feature_names(), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  std::vector<float> got(n * d);
  std::vector<std::uint64_t> got_ids(n);
  reader.read_rows(0, n, got.data());
  reader.read_ids(0, n, got_ids.data());
  EXPECT_EQ(got, rows);
  EXPECT_EQ(got_ids, ids);
}

TEST(Features, DefaultChunkIsAboutFourMebibytes) {
  EXPECT_EQ(default_feature_chunk_rows(16), 65536u);
  EXPECT_EQ(default_feature_chunk_rows(1), std::uint64_t{1} << 20);
  EXPECT_EQ(default_feature_chunk_rows(4096), 1024u);
  EXPECT_EQ(default_feature_chunk_rows(24), 32768u);
}

TEST(Prefetcher, DeliversEveryBlockInOrderWhateverTheRing) {
  for (std::size_t ring_size : {1u, 2u, 3u, 5u}) {
    const std::uint64_t total = 10007, block = 97;
    std::vector<std::vector<std::uint64_t>> storage(ring_size, std::vector<std::uint64_t>(block));
    std::vector<std::vector<std::uint64_t>*> ring;
    for (auto& s : storage) ring.push_back(&s);
    Prefetcher<std::vector<std::uint64_t>> p(ring, total, block,
                                             [](std::uint64_t start, std::uint64_t rows, auto& buf) {
                                               for (std::uint64_t i = 0; i < rows; ++i) buf[i] = start + i;
                                             });
    std::uint64_t expected = 0, blocks = 0;
    while (auto b = p.next()) {
      ASSERT_EQ(b->start, expected);
      for (std::uint64_t i = 0; i < b->rows; ++i) ASSERT_EQ((*b->slot)[i], expected + i);
      expected += b->rows;
      ++blocks;
    }
    EXPECT_EQ(expected, total);
    EXPECT_EQ(blocks, p.block_count());
    EXPECT_FALSE(p.next().has_value());
  }
}

TEST(Prefetcher, NeverOverwritesTheBlockTheConsumerHolds) {
  // The reader may run ahead, but a slot is refilled only after the consumer has moved past it.
  const std::uint64_t total = 2000, block = 10;
  std::vector<std::vector<int>> storage(3, std::vector<int>(block));
  std::vector<std::vector<int>*> ring{&storage[0], &storage[1], &storage[2]};
  Prefetcher<std::vector<int>> p(ring, total, block, [](std::uint64_t start, std::uint64_t rows, auto& buf) {
    for (std::uint64_t i = 0; i < rows; ++i) buf[i] = static_cast<int>(start);
  });
  while (auto b = p.next()) {
    const int tag = (*b->slot)[0];
    std::this_thread::yield();
    for (std::uint64_t i = 0; i < b->rows; ++i) ASSERT_EQ((*b->slot)[i], tag);
    ASSERT_EQ(static_cast<std::uint64_t>(tag), b->start);
  }
}

TEST(Prefetcher, RethrowsTheReadersError) {
  std::vector<int> a(4), b(4);
  std::vector<std::vector<int>*> ring{&a, &b};
  Prefetcher<std::vector<int>> p(ring, 100, 4, [](std::uint64_t start, std::uint64_t, auto&) {
    if (start >= 40) throw InputError("disk said no");
  });
  int blocks = 0;
  try {
    while (p.next()) ++blocks;
    FAIL() << "expected an exception";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "disk said no");
  }
  EXPECT_EQ(blocks, 10);
}

// A consumer that stops early: the destructor stops the reader, which never ran more than the ring ahead
// (2 of 250,000 blocks), and joins it, so no fill runs after the prefetcher is gone.
TEST(Prefetcher, CanBeAbandonedMidway) {
  std::vector<int> a(4), b(4);
  std::vector<std::vector<int>*> ring{&a, &b};
  std::atomic<int> fills{0};
  {
    Prefetcher<std::vector<int>> p(ring, 1000000, 4, [&](std::uint64_t, std::uint64_t, auto&) { ++fills; });
    const auto first = p.next();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->index, 0u);
  }
  const int after = fills.load();
  EXPECT_GE(after, 1);
  EXPECT_LE(after, 2);  // block 0 and at most one ahead: the ring has two slots, one held by the consumer
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(fills.load(), after);  // the reader thread is gone
}

TEST(Streams, EventBlocksCoverTheFileInOrder) {
  TempDir dir;
  const auto path = dir / "ev.h5";
  const std::uint64_t n = 10007;
  write_events(path, n, 512, 3000);
  EventFileReader reader(path);
  std::vector<EventBuffer> storage(3, EventBuffer(999));
  EventBlockStream stream(reader, {storage[0].view(), storage[1].view(), storage[2].view()}, 999);
  std::uint64_t expected = 0;
  while (auto block = stream.next()) {
    ASSERT_EQ(block->start, expected);
    for (std::uint64_t i = 0; i < block->rows; ++i) {
      ASSERT_EQ(block->columns.timestamp[i], static_cast<std::int64_t>(1000 + expected + i));
      ASSERT_EQ(block->columns.category[i], (expected + i) % 25);
    }
    expected += block->rows;
  }
  EXPECT_EQ(expected, n);
}

TEST(Streams, FeatureBlocksCarryRowsAndIds) {
  TempDir dir;
  const auto path = dir / "f.h5";
  const std::uint64_t n = 5000, d = 3;
  {
    FeatureFileWriter w(path, {"a", "b", "c"}, 1024);
    std::vector<float> rows(n * d);
    std::vector<std::uint64_t> ids(n);
    for (std::uint64_t i = 0; i < n * d; ++i) rows[i] = static_cast<float>(i);
    for (std::uint64_t i = 0; i < n; ++i) ids[i] = 7 * i;
    w.append(rows.data(), ids.data(), n);
    w.close();
  }
  FeatureFileReader reader(path);
  const std::uint64_t block = 700;
  std::vector<std::vector<float>> rows(2, std::vector<float>(block * d));
  std::vector<std::vector<std::uint64_t>> ids(2, std::vector<std::uint64_t>(block));
  FeatureBlockStream stream(reader, {{rows[0].data(), ids[0].data()}, {rows[1].data(), ids[1].data()}},
                            block);
  std::uint64_t expected = 0;
  while (auto b = stream.next()) {
    ASSERT_EQ(b->start, expected);
    for (std::uint64_t i = 0; i < b->rows; ++i) {
      ASSERT_EQ(b->ids[i], 7 * (expected + i));
      ASSERT_EQ(b->data[i * d + 2], static_cast<float>((expected + i) * d + 2));
    }
    expected += b->rows;
  }
  EXPECT_EQ(expected, n);
}

// The direct read path (plain preads at the addresses HDF5 reports) applies exactly where it is valid and
// reads the same values as HDF5 would.
TEST(DirectRead, QualifiesOnlyForPlainRowLayoutsAndMatchesHdf5) {
  TempDir dir;
  const auto path = dir / "layouts.h5";
  const hsize_t n = 5000, d = 3;
  std::vector<float> values(n * d);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f;
  {
    File f = File::create(path);
    f.create_dataset<float>("/contiguous", DatasetOptions{{n, d}, {}, false, 0})
        .write_rows(0, n, values.data());
    f.create_dataset<float>("/row_chunks", DatasetOptions{{n, d}, {512, d}, false, 0})
        .write_rows(0, n, values.data());
    f.create_dataset<float>("/column_chunks", DatasetOptions{{n, d}, {512, 1}, false, 0})
        .write_rows(0, n, values.data());
    f.create_dataset<float>("/deflated", DatasetOptions{{n, d}, {512, d}, false, 4})
        .write_rows(0, n, values.data());
    // Extended to n rows but only the first 1000 written: the rest are unallocated chunks.
    Dataset sparse = f.create_dataset<float>("/sparse", DatasetOptions{{0, d}, {512, d}, true, 0});
    sparse.write_rows(0, 1000, values.data());
    std::vector<hsize_t> grown{n, d};
    H5Dset_extent(sparse.id(), grown.data());
  }
  File f = File::open(path);
  const std::map<std::string, bool> qualifies = {{"/contiguous", true},
                                                 {"/row_chunks", true},
                                                 {"/column_chunks", false},
                                                 {"/deflated", false},
                                                 {"/sparse", false}};
  for (const auto& [name, direct] : qualifies) {
    const Dataset ds = f.dataset(name);
    std::vector<FileSegment> plan;
    std::vector<float> got(700 * d);
    EXPECT_EQ(ds.plan_direct_read(4000, 700, ElementType::kFloat32, got.data(), plan), direct) << name;
    ds.read_rows(4000, 700, got.data());  // through whichever path applies
    for (std::size_t i = 0; i < got.size(); ++i) {
      const float want = name == "/sparse" ? 0.0f : values[4000 * d + i];
      ASSERT_EQ(got[i], want) << name << " element " << i;
    }
  }
  // A read in another type than stored goes through HDF5's conversion.
  std::vector<double> as_double(10 * d);
  std::vector<FileSegment> plan;
  EXPECT_FALSE(
      f.dataset("/row_chunks").plan_direct_read(0, 10, ElementType::kFloat64, as_double.data(), plan));
  f.dataset("/row_chunks").read_rows(0, 10, as_double.data());
  EXPECT_EQ(as_double[29], 14.5);
}

TEST(DirectRead, ChunkPiecesSplitAtChunkBoundaries) {
  TempDir dir;
  const auto path = dir / "ev.h5";
  write_events(path, 10000, 1000, 10000);
  EventFileReader reader(path);
  const Dataset ts = reader.file().dataset("/events/timestamp");
  std::vector<std::int64_t> buf(2500);
  std::vector<FileSegment> plan;
  ASSERT_TRUE(ts.plan_direct_read(999, 1002, ElementType::kInt64, buf.data(), plan));
  ASSERT_EQ(plan.size(), 3u);  // 1 row of chunk 0, all of chunk 1, 1 row of chunk 2
  EXPECT_EQ(plan[0].bytes, 8u);
  EXPECT_EQ(plan[1].bytes, 8000u);
  EXPECT_EQ(plan[2].bytes, 8u);
  EXPECT_EQ(static_cast<char*>(plan[2].dst) - static_cast<char*>(plan[0].dst), 1001 * 8);
}

TEST(AtomicOutput, CommitRenamesAndAbandonRemoves) {
  TempDir dir;
  const auto final_path = dir / "out.h5";
  {
    AtomicOutput out(final_path, false);
    std::ofstream(out.temp_path()) << "partial";
    EXPECT_FALSE(std::filesystem::exists(final_path));
  }
  EXPECT_TRUE(dir.entries().empty()) << "an abandoned output must leave nothing behind";
  {
    AtomicOutput out(final_path, false);
    std::ofstream(out.temp_path()) << "done";
    out.commit();
  }
  EXPECT_TRUE(std::filesystem::exists(final_path));
  EXPECT_EQ(dir.entries().size(), 1u);
  EXPECT_THROW(AtomicOutput(final_path, false), UsageError);
  EXPECT_NO_THROW(AtomicOutput(final_path, true));
  EXPECT_THROW(AtomicOutput(dir / "missing-dir" / "x.h5", false), ResourceError);
}

// A file that appears under the final name while the run works is kept without --overwrite (the run loses,
// with a usage error and nothing of its own left), and replaced with it. A signal before commit discards.
TEST(AtomicOutput, AFileThatAppearsMeanwhileIsNotReplaced) {
  TempDir dir;
  const auto final_path = dir / "out.h5";
  {
    AtomicOutput out(final_path, false);
    std::ofstream(out.temp_path()) << "mine";
    std::ofstream(final_path) << "theirs";
    try {
      out.commit();
      ADD_FAILURE() << "the other run's file was replaced";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("out.h5: appeared while this run was writing it"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.h5"});
  EXPECT_EQ(read_text(final_path), "theirs");
  {
    AtomicOutput out(final_path, true);
    std::ofstream(out.temp_path()) << "mine";
    out.commit();
  }
  EXPECT_EQ(read_text(final_path), "mine");
  std::filesystem::remove(final_path);
  {
    AtomicOutput out(final_path, false);
    std::ofstream(out.temp_path()) << "mine";
    request_interrupt(SIGTERM);
    EXPECT_THROW(out.commit(), InterruptedError);
    clear_interrupt();
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicOutput, AnOutputThatIsAnInputOrAnotherOutputIsRefused) {
  TempDir dir;
  std::ofstream(dir / "in.h5") << "x";
  std::filesystem::create_hard_link(dir / "in.h5", dir / "link.h5");
  const auto refused = [&](const std::vector<NamedPath>& in, const std::vector<NamedPath>& out) {
    try {
      check_outputs_apart(in, out);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(refused({{"--events", dir / "in.h5"}}, {{"--out", dir / "sub" / ".." / "in.h5"}})
                .find("is also the input --events"),
            std::string::npos);
  EXPECT_NE(refused({{"--events", dir / "in.h5"}}, {{"--out", dir / "link.h5"}}).find("is also the input"),
            std::string::npos);
  EXPECT_NE(refused({}, {{"--out", dir / "new.h5"}, {"--state-out", dir / "." / "new.h5"}})
                .find("--state-out " + (dir / "." / "new.h5").string() + ": is also the output --out"),
            std::string::npos);
  EXPECT_EQ(refused({{"--events", dir / "in.h5"}, {"--state-in", ""}},
                    {{"--out", dir / "new.h5"}, {"--state-out", ""}}),
            "(accepted)");
}

// Repeated customer ids, in features' key order and in any other, are found and named by their rows.
TEST(FeatureFile, RepeatedCustomerIdsAreRefused) {
  TempDir dir;
  const auto write = [&](const std::string& name, std::vector<std::uint64_t> ids, bool key_order) {
    std::vector<float> rows(ids.size(), 1.0f);
    FeatureFileWriter w(dir / name, {"a"});
    w.append(rows.data(), ids.data(), ids.size());
    FeatureFileMetadata m;
    if (key_order) m.customer_order = std::string(kMix64Order);
    w.close(m, {"segstream.features", "test", {}, {}});
    return FeatureFileReader(dir / name);
  };
  std::vector<std::uint64_t> ids(5000);
  for (std::uint64_t i = 0; i < ids.size(); ++i) ids[i] = 1000 + 7 * i;
  EXPECT_NO_THROW(check_unique_customer_ids(write("ok.h5", ids, false), 1 << 20));
  std::vector<std::uint64_t> repeated = ids;
  repeated[4321] = repeated[17];
  for (const std::uint64_t budget : {std::uint64_t{1} << 20, std::uint64_t{4096}}) {  // one pass, or ten
    const std::string msg =
        test::input_error_of([&] { check_unique_customer_ids(write("dup.h5", repeated, false), budget); });
    EXPECT_NE(msg.find("dup.h5: customer id 1119 is in rows 17 and 4321"), std::string::npos) << msg;
  }
  std::vector<std::uint64_t> keyed = ids;
  std::sort(keyed.begin(), keyed.end(), [](auto a, auto b) { return mix64(a) < mix64(b); });
  EXPECT_NO_THROW(check_unique_customer_ids(write("keyed.h5", keyed, true), 1 << 20));
  std::vector<std::uint64_t> keyed_dup = keyed;
  keyed_dup[11] = keyed_dup[10];
  std::string msg =
      test::input_error_of([&] { check_unique_customer_ids(write("kd.h5", keyed_dup, true), 1); });
  EXPECT_NE(msg.find("kd.h5: customer id " + std::to_string(keyed[10]) + " is in rows 10 and 11"),
            std::string::npos)
      << msg;
  std::swap(keyed[20], keyed[30]);
  msg = test::input_error_of([&] { check_unique_customer_ids(write("ko.h5", keyed, true), 1); });
  EXPECT_NE(msg.find("ko.h5: row 21 (customer "), std::string::npos) << msg;
  EXPECT_NE(msg.find("breaks the order its customer_order attribute states"), std::string::npos) << msg;
}

// --- bad inputs -------------------------------------------------------------------------------------------

TEST(BadInput, MissingFile) {
  TempDir dir;
  const std::string msg = test::input_error_of([&] { EventFileReader r(dir / "nope.h5"); });
  EXPECT_NE(msg.find("nope.h5: no such file"), std::string::npos) << msg;
}

TEST(BadInput, NotHdf5) {
  TempDir dir;
  std::ofstream(dir / "text.h5") << "customer_id,timestamp\n1,2\n";
  const std::string msg = test::input_error_of([&] { EventFileReader r(dir / "text.h5"); });
  EXPECT_NE(msg.find("text.h5: not an HDF5 file"), std::string::npos) << msg;
}

TEST(BadInput, TruncatedFile) {
  TempDir dir;
  const auto path = dir / "ev.h5";
  write_events(path, 100000, 4096, 100000);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  const std::string msg = test::input_error_of([&] {
    EventFileReader r(path);
    EventBuffer buf(r.rows());
    r.read(0, r.rows(), buf.view());
  });
  EXPECT_NE(msg.find("ev.h5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(BadInput, MissingDataset) {
  TempDir dir;
  const auto path = dir / "ev.h5";
  {
    File f = File::create(path);
    f.create_group("/events");
    for (const auto& spec : event_columns())
      if (std::string(spec.name) != "amount")
        f.create_dataset(std::string("/events/") + spec.name, spec.type, DatasetOptions{{10}, {}, false, 0});
  }
  const std::string msg = test::input_error_of([&] { EventFileReader r(path); });
  EXPECT_NE(msg.find("dataset /events/amount is missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ev.h5"), std::string::npos) << msg;
}

void write_event_columns(const std::filesystem::path& path,
                         std::function<DatasetOptions(const EventColumnSpec&)> shape,
                         std::function<ElementType(const EventColumnSpec&)> type) {
  File f = File::create(path);
  f.create_group("/events");
  for (const auto& spec : event_columns())
    f.create_dataset(std::string("/events/") + spec.name, type(spec), shape(spec));
}

TEST(BadInput, WrongType) {
  TempDir dir;
  const auto path = dir / "ev.h5";
  write_event_columns(
      path,
      [](auto&) {
        return DatasetOptions{{10}, {}, false, 0};
      },
      [](const EventColumnSpec& s) {
        return std::string(s.name) == "timestamp" ? ElementType::kFloat64 : s.type;
      });
  const std::string msg = test::input_error_of([&] { EventFileReader r(path); });
  EXPECT_NE(msg.find("dataset /events/timestamp has type float64, expected int64"), std::string::npos) << msg;
}

TEST(BadInput, WrongRank) {
  TempDir dir;
  const auto path = dir / "ev.h5";
  write_event_columns(
      path,
      [](const EventColumnSpec& s) {
        return std::string(s.name) == "amount" ? DatasetOptions{{10, 2}, {}, false, 0}
                                               : DatasetOptions{{10}, {}, false, 0};
      },
      [](const EventColumnSpec& s) { return s.type; });
  const std::string msg = test::input_error_of([&] { EventFileReader r(path); });
  EXPECT_NE(msg.find("dataset /events/amount has rank 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected rank 1"), std::string::npos) << msg;
}

TEST(BadInput, UnequalColumnLengths) {
  TempDir dir;
  const auto path = dir / "ev.h5";
  write_event_columns(
      path,
      [](const EventColumnSpec& s) {
        return DatasetOptions{{std::string(s.name) == "channel" ? hsize_t{9} : hsize_t{10}}, {}, false, 0};
      },
      [](const EventColumnSpec& s) { return s.type; });
  const std::string msg = test::input_error_of([&] { EventFileReader r(path); });
  EXPECT_NE(msg.find("/events/channel has 9 rows but /events/customer_id has 10"), std::string::npos) << msg;
}

TEST(BadInput, ZeroRows) {
  TempDir dir;
  const auto path = dir / "ev.h5";
  write_events(path, 0, 16, 16);
  const std::string msg = test::input_error_of([&] { EventFileReader r(path); });
  EXPECT_NE(msg.find("/events has zero rows"), std::string::npos) << msg;

  const auto fpath = dir / "f.h5";
  {
    FeatureFileWriter w(fpath, {"a"});
    w.close();
  }
  const std::string fmsg = test::input_error_of([&] { FeatureFileReader r(fpath); });
  EXPECT_NE(fmsg.find("/features has zero rows"), std::string::npos) << fmsg;
}

TEST(BadInput, FeatureNamesMustMatchColumns) {
  TempDir dir;
  const auto path = dir / "f.h5";
  {
    File f = File::create(path);
    Dataset ds = f.create_dataset<float>("/features", DatasetOptions{{4, 3}, {}, false, 0});
    std::vector<float> zeros(12, 0.0f);
    ds.write_rows(0, 4, zeros.data());
    ds.set_attribute("feature_names", std::vector<std::string>{"a", "b"});
    Dataset ids = f.create_dataset<std::uint64_t>("/customer_id", DatasetOptions{{4}, {}, false, 0});
    std::vector<std::uint64_t> id{1, 2, 3, 4};
    ids.write_rows(0, 4, id.data());
  }
  const std::string msg = test::input_error_of([&] { FeatureFileReader r(path); });
  EXPECT_NE(msg.find("/features has 3 columns but its feature_names attribute names 2"), std::string::npos)
      << msg;
}

TEST(Hdf5, AttributesRoundTrip) {
  TempDir dir;
  const auto path = dir / "a.h5";
  {
    File f = File::create(path);
    f.set_attribute("s", "hello");
    f.set_attribute("i", std::int64_t{-42});
    f.set_attribute("d", 2.5);
    f.set_attribute("list", std::vector<std::string>{"x", "yy", ""});
    f.set_attribute("s", "replaced");
  }
  File f = File::open(path);
  EXPECT_EQ(f.string_attribute("s"), "replaced");
  EXPECT_EQ(f.int_attribute("i"), -42);
  EXPECT_EQ(f.float_attribute("d"), 2.5);
  EXPECT_EQ(f.string_list_attribute("list"), (std::vector<std::string>{"x", "yy", ""}));
  EXPECT_EQ(f.attribute_as_text("list"), "[\"x\", \"yy\", \"\"]");
  EXPECT_THROW(f.string_attribute("missing"), InputError);
  EXPECT_THROW(f.int_attribute("s"), InputError);
}

TEST(Inspect, SummarisesEveryDatasetWithStatistics) {
  TempDir dir;
  const auto path = dir / "ev.h5";
  write_events(path, 1000, 128, 1000);
  const FileSummary s = inspect_file(path, true);
  ASSERT_EQ(s.datasets.size(), 7u);
  for (const auto& d : s.datasets) {
    ASSERT_EQ(d.columns.size(), 1u) << d.path;
    EXPECT_EQ(d.columns[0].count, 1000u);
    if (d.path == "/events/timestamp") {
      EXPECT_EQ(d.columns[0].min, 1000);
      EXPECT_EQ(d.columns[0].max, 1999);
      EXPECT_DOUBLE_EQ(d.columns[0].mean, 1499.5);
      EXPECT_NEAR(d.columns[0].stddev, std::sqrt((1000.0 * 1000.0 - 1) / 12.0), 1e-9);
      EXPECT_EQ(d.type, "int64");
      EXPECT_EQ(d.chunk, std::vector<std::uint64_t>{128});
    }
  }
}

}  // namespace
}  // namespace segstream::io
