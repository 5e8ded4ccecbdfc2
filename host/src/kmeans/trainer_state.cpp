// TrainerState as bytes: a magic word and a version, then every field in a fixed order, little-endian as the
// machine stores it (x86-64 and the GPUs segstream targets are little-endian), lengths before vectors and
// strings. The reader checks every length against what is left, so a truncated or foreign blob is an
// InputError, never a crash.
#include <cstring>
#include <type_traits>

#include "segstream/core/error.hpp"
#include "segstream/host/kmeans.hpp"

namespace segstream::host {
namespace {

constexpr std::uint32_t kMagic = 0x53544753;  // "SGTS"
constexpr std::uint32_t kVersion = 2;         // 2: the non-local phase

class Writer {
 public:
  template <class T>
  void value(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof v);
  }
  template <class T>
  void vector(const std::vector<T>& v) {
    value(static_cast<std::uint64_t>(v.size()));
    if (v.empty()) return;
    const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
    out_.insert(out_.end(), p, p + v.size() * sizeof(T));
  }
  void string(const std::string& s) {
    value(static_cast<std::uint64_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  template <class T>
  T value() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), "a field");
    T v;
    std::memcpy(&v, in_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  template <class T>
  std::vector<T> vector() {
    const auto n = value<std::uint64_t>();
    SEGSTREAM_CHECK_INPUT(
        n <= (in_.size() - at_) / sizeof(T),
        "a saved k-means state is truncated or corrupt (a list of {} values at byte {} of {})", n, at_,
        in_.size());
    std::vector<T> v(n);
    if (n > 0) std::memcpy(v.data(), in_.data() + at_, n * sizeof(T));
    at_ += n * sizeof(T);
    return v;
  }
  std::string string() {
    const auto n = value<std::uint64_t>();
    need(n, "a text");
    std::string s(reinterpret_cast<const char*>(in_.data() + at_), n);
    at_ += n;
    return s;
  }
  bool at_end() const { return at_ == in_.size(); }

 private:
  void need(std::uint64_t n, const char* what) const {
    SEGSTREAM_CHECK_INPUT(n <= in_.size() - at_,
                          "a saved k-means state is truncated or corrupt ({} at byte {} of {})", what, at_,
                          in_.size());
  }
  std::span<const std::uint8_t> in_;
  std::size_t at_ = 0;
};

// Field by field: the struct has padding, whose bytes are not part of the state.
void write_breathing(Writer& w, const KMeansModel::Breathing& b) {
  w.value(b.depth);
  w.value(b.rows);
  w.value(b.sampled);
  w.value(b.rounds);
  w.value(b.kept);
  w.value(b.passes);
  w.value(b.before);
  w.value(b.after);
  w.value(b.reverted);
}

KMeansModel::Breathing read_breathing(Reader& r) {
  KMeansModel::Breathing b;
  b.depth = r.value<int>();
  b.rows = r.value<std::uint64_t>();
  b.sampled = r.value<std::uint8_t>() != 0;
  b.rounds = r.value<int>();
  b.kept = r.value<int>();
  b.passes = r.value<int>();
  b.before = r.value<double>();
  b.after = r.value<double>();
  b.reverted = r.value<std::uint8_t>() != 0;
  return b;
}

void write_model(Writer& w, const KMeansModel& m) {
  w.value(m.k);
  w.value(m.d);
  w.vector(m.centres);
  w.vector(m.absorbed);
  w.vector(m.counts);
  w.vector(m.cluster_weight);
  w.value(m.inertia);
  w.vector(m.inertia_history);
  w.value(m.steps);
  w.value(m.lloyd_passes);
  w.string(m.stop_reason);
  w.value(m.restart);
  write_breathing(w, m.breathing);
}

KMeansModel read_model(Reader& r) {
  KMeansModel m;
  m.k = r.value<int>();
  m.d = r.value<int>();
  m.centres = r.vector<float>();
  m.absorbed = r.vector<double>();
  m.counts = r.vector<std::uint64_t>();
  m.cluster_weight = r.vector<double>();
  m.inertia = r.value<double>();
  m.inertia_history = r.vector<double>();
  m.steps = r.value<std::uint64_t>();
  m.lloyd_passes = r.value<int>();
  m.stop_reason = r.string();
  m.restart = r.value<int>();
  m.breathing = read_breathing(r);
  return m;
}

bool same_model(const KMeansModel& a, const KMeansModel& b) {
  return a.k == b.k && a.d == b.d && a.centres == b.centres && a.absorbed == b.absorbed &&
         a.counts == b.counts && a.cluster_weight == b.cluster_weight && a.inertia == b.inertia &&
         a.inertia_history == b.inertia_history && a.steps == b.steps && a.lloyd_passes == b.lloyd_passes &&
         a.stop_reason == b.stop_reason && a.restart == b.restart && a.breathing == b.breathing;
}

}  // namespace

bool TrainerState::operator==(const TrainerState& o) const {
  return rows == o.rows && d == o.d && k == o.k && config_digest == o.config_digest && restart == o.restart &&
         phase == o.phase && centres == o.centres && absorbed == o.absorbed && history == o.history &&
         steps == o.steps && passes == o.passes && stop == o.stop && ewa == o.ewa && best_ewa == o.best_ewa &&
         no_improvement == o.no_improvement && since_reassign == o.since_reassign && visit == o.visit &&
         tol_known == o.tol_known && tol == o.tol && breath == o.breath && have_best == o.have_best &&
         (!have_best || same_model(best, o.best));
}

std::vector<std::uint8_t> serialize_trainer_state(const TrainerState& s) {
  Writer w;
  w.value(kMagic);
  w.value(kVersion);
  w.value(s.rows);
  w.value(s.d);
  w.value(s.k);
  w.value(s.config_digest);
  w.value(s.restart);
  w.value(s.phase);
  w.vector(s.centres);
  w.vector(s.absorbed);
  w.vector(s.history);
  w.value(s.steps);
  w.value(s.passes);
  w.string(s.stop);
  w.value(s.ewa);
  w.value(s.best_ewa);
  w.value(s.no_improvement);
  w.value(s.since_reassign);
  w.value(s.visit.epoch);
  w.value(s.visit.window_begin);
  w.value(s.visit.position);
  w.value(s.tol_known);
  w.value(s.tol);
  const TrainerState::Breath& b = s.breath;
  w.value(b.stage);
  w.value(b.m);
  w.vector(b.work);
  w.value(b.passes);
  w.value(b.tol);
  w.vector(b.best);
  w.vector(b.best_weight);
  w.vector(b.before);
  w.vector(b.before_absorbed);
  w.value(b.before_full);
  write_breathing(w, b.log);
  w.value(s.have_best);
  if (s.have_best) write_model(w, s.best);
  w.value(s.seconds);
  return w.take();
}

TrainerState deserialize_trainer_state(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  SEGSTREAM_CHECK_INPUT(bytes.size() >= 8 && r.value<std::uint32_t>() == kMagic,
                        "not a saved k-means state (no SGTS magic word)");
  const auto version = r.value<std::uint32_t>();
  SEGSTREAM_CHECK_INPUT(version == kVersion, "a saved k-means state of version {} (this segstream reads {})",
                        version, kVersion);
  TrainerState s;
  s.rows = r.value<std::uint64_t>();
  s.d = r.value<int>();
  s.k = r.value<int>();
  s.config_digest = r.value<std::uint64_t>();
  s.restart = r.value<int>();
  const auto phase = r.value<std::uint8_t>();
  SEGSTREAM_CHECK_INPUT(phase <= static_cast<std::uint8_t>(TrainerState::Phase::kDone),
                        "a saved k-means state in an unknown phase {}", phase);
  s.phase = static_cast<TrainerState::Phase>(phase);
  s.centres = r.vector<float>();
  s.absorbed = r.vector<double>();
  s.history = r.vector<double>();
  s.steps = r.value<std::uint64_t>();
  s.passes = r.value<int>();
  s.stop = r.string();
  s.ewa = r.value<double>();
  s.best_ewa = r.value<double>();
  s.no_improvement = r.value<int>();
  s.since_reassign = r.value<std::uint64_t>();
  s.visit.epoch = r.value<std::uint64_t>();
  s.visit.window_begin = r.value<std::uint64_t>();
  s.visit.position = r.value<std::uint64_t>();
  s.tol_known = r.value<std::uint8_t>() != 0;
  s.tol = r.value<double>();
  TrainerState::Breath& b = s.breath;
  const auto stage = r.value<std::uint8_t>();
  SEGSTREAM_CHECK_INPUT(stage <= static_cast<std::uint8_t>(TrainerState::Breath::Stage::kOut),
                        "a saved k-means state in an unknown stage {} of the non-local phase", stage);
  b.stage = static_cast<TrainerState::Breath::Stage>(stage);
  b.m = r.value<int>();
  b.work = r.vector<float>();
  b.passes = r.value<int>();
  b.tol = r.value<double>();
  b.best = r.vector<float>();
  b.best_weight = r.vector<double>();
  b.before = r.vector<float>();
  b.before_absorbed = r.vector<double>();
  b.before_full = r.value<double>();
  b.log = read_breathing(r);
  s.have_best = r.value<std::uint8_t>() != 0;
  if (s.have_best) s.best = read_model(r);
  s.seconds = r.value<KMeansModel::Seconds>();
  SEGSTREAM_CHECK_INPUT(r.at_end(), "a saved k-means state has {} bytes past its end", bytes.size());
  return s;
}

}  // namespace segstream::host
