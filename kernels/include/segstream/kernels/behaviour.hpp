// The behavioural feature set of FEATURES.md, written once for both backends: a per-customer state that
// folds one event at a time in time order, and the features that state yields at the as-of time t0.
//
// Every part of the state is mergeable in time order (counts, sums, first and last, the last purchase
// period and month, a ring of daily counts for the usage windows), so a saved state plus the events after
// its t0 gives the same features as a recompute over the whole history (`--state-in` / `--state-out`).
//
// Windows are counted in days aligned on t0: aligned day d covers (t0 - (D0 - d + 1) days, t0 - (D0 - d)
// days], D0 being t0's own, so "the last w days" is exactly t0 - w days < ts <= t0. A state can move
// forward only by whole days for that reason (the host checks it).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "segstream/core/civil.hpp"
#include "segstream/core/hd.hpp"
#include "segstream/kernels/bgnbd.hpp"

namespace segstream::kernels {

inline constexpr int kRecentDays = 120;    // the ring of daily counts: the longest usage window
inline constexpr int kAppDays = 28;        // app_sessions_28d and active_days_28d
inline constexpr int kCategorySlots = 32;  // category codes >= 31 share the last slot
inline constexpr int kChannelSlots = 8;    // channel codes >= 7 share the last slot
inline constexpr int kHours = 24;
inline constexpr int kWindows = 3;
inline constexpr int kMaxCategoryColumns = 16;
inline constexpr int kStageNone = -1;     // an event type that is not the customer's action (email_sent)
inline constexpr int kStageAdoption = 4;  // reached by a second purchase period
inline constexpr int kStageAdvocacy = 5;

struct BehaviourParams {
  std::int64_t t0 = 0;  // as-of time (inclusive), Unix s
  std::int64_t unit_seconds = 86400;
  double multiplier = 1.0;  // BG/NBD durations are periods / multiplier, as in lifetimes mode
  std::uint32_t purchase_mask[8] = {};
  std::int32_t return_type = 7;  // -1 when the file has none of these types
  std::int32_t app_session_type = 8;
  std::int32_t email_sent_type = 12;
  std::int32_t email_open_type = 2;
  std::int32_t email_click_type = 3;
  std::int32_t page_view_type = 0;  // -1 when the file has none of these types (their columns are then 0)
  std::int32_t cart_add_type = 5;
  std::int32_t support_type = 9;
  std::int8_t stage_of_type[256] = {};  // journey stage of each event type, kStageNone for no action
  std::uint32_t season_months = (1u << 11) | (1u << 12);  // bit m for month m (1..12): holiday_share
  std::int32_t windows[kWindows] = {7, 28, 90};           // days, each 1..kRecentDays
  // Columns: category_share for these slots, channel_share for the first `channels` slots.
  std::int32_t category_columns[kMaxCategoryColumns] = {};
  std::int32_t categories = 0;
  std::int32_t channels = 5;
  BgNbdParams bgnbd{1, 1, 1, 1};
  // category_concentration's prior: Σ (share of all customers' spend in a category slot)², the
  // concentration of a customer who buys as the whole base does.
  double category_prior = 1.0;

  SEGSTREAM_HD bool is_purchase(std::uint8_t type) const {
    return (purchase_mask[type >> 5] >> (type & 31)) & 1u;
  }
};

SEGSTREAM_HD std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

SEGSTREAM_HD std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
  return a - floor_div(a, b) * b;
}

// The aligned day of a time: t0's day is floor_div(t0 - phase, 86400) with phase = t0 mod 86400.
SEGSTREAM_HD std::int64_t aligned_day(std::int64_t ts, std::int64_t t0) {
  const std::int64_t phase = floor_mod(t0, kSecondsPerDay);
  return floor_div(ts - phase + kSecondsPerDay - 1, kSecondsPerDay);
}

struct BehaviourState {
  std::uint64_t events = 0;   // every event folded, actions or not
  std::uint64_t actions = 0;  // events that are the customer's own action
  std::int64_t first_event_ts = 0;
  std::int64_t last_event_ts = 0;
  std::uint64_t purchases = 0;  // purchase events
  std::uint64_t periods = 0;    // distinct purchase periods
  std::int64_t first_period = 0;
  std::int64_t last_period = 0;
  std::int64_t last_purchase_ts = 0;
  std::int64_t last_purchase_month = 0;
  std::uint64_t purchase_months = 0;
  double gap_square_sum = 0;  // squared gaps between consecutive purchase periods, in periods
  double spend = 0;
  double returned = 0;  // absolute refunded amounts
  double season_spend = 0;
  std::uint64_t weekend_purchases = 0;
  std::uint64_t discount_purchases = 0;
  double discount_spend = 0;  // spend on purchases with a discount
  std::uint64_t emails_sent = 0;
  std::uint64_t email_opens = 0;
  std::uint64_t email_clicks = 0;
  std::uint64_t page_views = 0;
  std::uint64_t cart_adds = 0;
  std::uint64_t support_tickets = 0;
  std::int32_t max_stage = kStageNone;
  std::int32_t padding = 0;  // explicit, so the raw record written to state.h5 has no undefined bytes
  std::uint64_t hour[kHours] = {};
  std::uint64_t channel[kChannelSlots] = {};
  double category_spend[kCategorySlots] = {};
  std::int64_t recent_day = 0;                  // aligned day of the newest ring slot (valid when events > 0)
  std::uint32_t day_actions[kRecentDays] = {};  // actions per aligned day, slot = day mod kRecentDays
  std::uint32_t day_app_sessions[kAppDays] = {};  // app sessions per aligned day, slot = day mod kAppDays

  // Moves the rings forward to aligned day `day`, clearing the days in between.
  SEGSTREAM_HD void advance_to(std::int64_t day) {
    if (day <= recent_day) return;
    const std::int64_t steps = day - recent_day;
    for (std::int64_t k = 1; k <= steps && k <= kRecentDays; ++k)
      day_actions[floor_mod(recent_day + k, kRecentDays)] = 0;
    for (std::int64_t k = 1; k <= steps && k <= kAppDays; ++k)
      day_app_sessions[floor_mod(recent_day + k, kAppDays)] = 0;
    recent_day = day;
  }

  // Folds one event; events must come in non-decreasing time order. `amount` is as stored (returns are
  // negative); a purchase with a negative amount counts as a return, as import-csv stores it.
  SEGSTREAM_HD void add(const BehaviourParams& p, std::int64_t ts, std::uint8_t type, float amount,
                        std::uint16_t category, std::uint8_t channel_code, bool discounted) {
    const std::int64_t day = aligned_day(ts, p.t0);
    if (events == 0) {
      first_event_ts = ts;
      recent_day = day;
    }
    ++events;
    last_event_ts = ts;
    advance_to(day);
    const int stage = p.stage_of_type[type];
    if (stage != kStageNone) {
      ++actions;
      if (stage > max_stage) max_stage = stage;
      const std::int64_t second_of_day = floor_mod(ts, kSecondsPerDay);
      ++hour[second_of_day / 3600];
      ++channel[channel_code < kChannelSlots ? channel_code : kChannelSlots - 1];
      ++day_actions[floor_mod(day, kRecentDays)];  // day is recent_day: events come in time order
    }
    const int t = type;
    if (t == p.app_session_type) ++day_app_sessions[floor_mod(day, kAppDays)];
    if (t == p.email_sent_type) ++emails_sent;
    if (t == p.email_open_type) ++email_opens;
    if (t == p.email_click_type) ++email_clicks;
    if (t == p.page_view_type) ++page_views;
    if (t == p.cart_add_type) ++cart_adds;
    if (t == p.support_type) ++support_tickets;
    const bool purchase = p.is_purchase(type);
    if ((purchase && amount < 0) || t == p.return_type) {
      returned += fabs(static_cast<double>(amount));
      return;
    }
    if (!purchase) return;
    const std::int64_t period = floor_div(ts, p.unit_seconds);
    const std::int64_t day_number = floor_div(ts, kSecondsPerDay);
    const std::int64_t month = month_index_of_day(day_number);
    if (purchases == 0) {
      first_period = period;
      last_period = period;
      periods = 1;
      last_purchase_month = month;
      purchase_months = 1;
    } else {
      if (period != last_period) {
        const double gap = static_cast<double>(period - last_period);
        gap_square_sum += gap * gap;
        last_period = period;
        ++periods;
      }
      if (month != last_purchase_month) {
        last_purchase_month = month;
        ++purchase_months;
      }
    }
    ++purchases;
    last_purchase_ts = ts;
    const double a = amount;
    spend += a;
    category_spend[category < kCategorySlots ? category : kCategorySlots - 1] += a;
    const int weekday = weekday_of_day(day_number);
    if (weekday >= 5) ++weekend_purchases;
    if (discounted) {
      ++discount_purchases;
      discount_spend += a;
    }
    const CivilDate civil = civil_from_days(day_number);
    if ((p.season_months >> civil.month) & 1u) season_spend += a;
  }

  // BG/NBD's (x, t_x, T) in periods / multiplier, as lifetimes mode computes them.
  SEGSTREAM_HD void bgnbd_summary(const BehaviourParams& p, double& x, double& t_x, double& T) const {
    x = static_cast<double>(periods) - 1;
    t_x = static_cast<double>(last_period - first_period) / p.multiplier;
    T = static_cast<double>(floor_div(p.t0, p.unit_seconds) - first_period) / p.multiplier;
  }
};

// Columns before the category shares; their names are behaviour_base_names() on the host.
inline constexpr int kBaseColumns = 29;
// After the channel shares: journey_stage, churn_risk, p_alive, has_purchase.
inline constexpr int kTailColumns = 4;

SEGSTREAM_HD int behaviour_columns(const BehaviourParams& p) {
  return kBaseColumns + p.categories + p.channels + kTailColumns;
}

SEGSTREAM_HD double ratio_or_zero(double num, double den) {
  return den > 0 ? num / den : 0.0;
}

// Shares over a customer's purchases are shrunk toward a prior by this many pseudo-purchases, so one purchase
// does not make a share of 0 or 1 (a weekend share over one purchase says little about its buyer).
inline constexpr double kSharePseudoPurchases = 2.0;

SEGSTREAM_HD double shrunk_share(double share, double purchases, double prior) {
  return (share * purchases + kSharePseudoPurchases * prior) / (purchases + kSharePseudoPurchases);
}

// The share of `trials` that led to an event by Laplace's rule of succession, (events + 1) / (trials + 2),
// with events counted up to the trials: within (0, 1), 1/2 without trials, and one cart add without a
// purchase is not a conversion rate of 0. (Purchases without a cart add, in a store, do not raise it.)
SEGSTREAM_HD double laplace_rate(std::uint64_t events, std::uint64_t trials) {
  const double e = static_cast<double>(events < trials ? events : trials);
  return (e + 1) / (static_cast<double>(trials) + 2);
}

// The mean direction of a customer's actions around the clock: the mean of cos and sin of each action's
// hour, taken at the middle of the hour, (h + 1/2) · 2π / 24. The constants are written out so that both
// backends and every compiler use the same bits (they are local, as CUDA reads no namespace-scope arrays).
SEGSTREAM_HD void hour_direction(const std::uint64_t* hour, std::uint64_t actions, double& c, double& s) {
  constexpr double kCos[kHours] = {
      0.99144486137381038,  0.92387953251128674,  0.79335334029123517,  0.60876142900872066,
      0.38268343236508984,  0.13052619222005171,  -0.13052619222005171, -0.38268343236508984,
      -0.60876142900872066, -0.79335334029123517, -0.92387953251128674, -0.99144486137381038,
      -0.99144486137381038, -0.92387953251128674, -0.79335334029123517, -0.60876142900872066,
      -0.38268343236508984, -0.13052619222005171, 0.13052619222005171,  0.38268343236508984,
      0.60876142900872066,  0.79335334029123517,  0.92387953251128674,  0.99144486137381038};
  constexpr double kSin[kHours] = {
      0.13052619222005171,  0.38268343236508984,  0.60876142900872066,  0.79335334029123517,
      0.92387953251128674,  0.99144486137381038,  0.99144486137381038,  0.92387953251128674,
      0.79335334029123517,  0.60876142900872066,  0.38268343236508984,  0.13052619222005171,
      -0.13052619222005171, -0.38268343236508984, -0.60876142900872066, -0.79335334029123517,
      -0.92387953251128674, -0.99144486137381038, -0.99144486137381038, -0.92387953251128674,
      -0.79335334029123517, -0.60876142900872066, -0.38268343236508984, -0.13052619222005171};
  c = 0;
  s = 0;
  if (actions == 0) return;
  for (int h = 0; h < kHours; ++h) {
    const double q = static_cast<double>(hour[h]) / static_cast<double>(actions);
    c += q * kCos[h];
    s += q * kSin[h];
  }
}

// The share of the year's days in the season months (bit m for month m), a 365.2425-day year.
SEGSTREAM_HD double season_day_share(std::uint32_t months) {
  constexpr double kDays[13] = {0, 31, 28.2425, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  double days = 0;
  for (int m = 1; m <= 12; ++m)
    if ((months >> m) & 1u) days += kDays[m];
  return days / 365.2425;
}

// How concentrated a customer's spend is across category slots: the Herfindahl index H = Σ share², made
// unbiased for n purchases ((n·H − 1) / (n − 1), within [0, 1]) and shrunk toward `prior` by two
// pseudo-purchases; `prior` itself below two purchases.
SEGSTREAM_HD double category_concentration(const double* spend, int slots, double purchases, double prior) {
  double total = 0, square = 0;
  for (int k = 0; k < slots; ++k) total += spend[k] > 0 ? spend[k] : 0.0;
  if (purchases < 2 || total <= 0) return prior;
  for (int k = 0; k < slots; ++k)
    if (spend[k] > 0) square += (spend[k] / total) * (spend[k] / total);
  double h = (purchases * square - 1) / (purchases - 1);
  h = h < 0 ? 0.0 : (h > 1 ? 1.0 : h);
  return ((purchases - 1) * h + 2 * prior) / (purchases + 1);
}

// The features of a customer at t0, in the column order of behaviour_columns().
SEGSTREAM_HD void behaviour_features(const BehaviourState& s, const BehaviourParams& p, float* out) {
  constexpr double kDay = kSecondsPerDay;
  const bool buyer = s.purchases > 0;
  const double n = static_cast<double>(s.purchases);
  const double recency = static_cast<double>(p.t0 - (buyer ? s.last_purchase_ts : s.first_event_ts)) / kDay;
  const double tenure = static_cast<double>(p.t0 - s.first_event_ts) / kDay;
  double gap_mean = 0, gap_cv = 0;
  if (s.periods >= 2) {
    const double gaps = static_cast<double>(s.periods - 1);
    const double mean = static_cast<double>(s.last_period - s.first_period) / gaps;
    const double var = s.gap_square_sum / gaps - mean * mean;
    gap_mean = mean * static_cast<double>(p.unit_seconds) / kDay;
    gap_cv = (var > 0 ? sqrt(var) : 0.0) / mean;
  }
  const std::int64_t d0 = aligned_day(p.t0, p.t0);
  std::uint64_t window_actions[kWindows] = {};
  std::uint64_t active_days = 0, app_sessions = 0;
  for (std::int64_t d = s.recent_day; d > s.recent_day - kRecentDays && d > d0 - kRecentDays; --d) {
    const std::uint32_t c = s.day_actions[floor_mod(d, kRecentDays)];
    for (int w = 0; w < kWindows; ++w)
      if (d > d0 - p.windows[w]) window_actions[w] += c;
    if (d > d0 - kAppDays) {  // recent_day <= d0: the ring holds these days
      active_days += c > 0 ? 1 : 0;
      app_sessions += s.day_app_sessions[floor_mod(d, kAppDays)];
    }
  }
  const std::int64_t months = month_index_of_day(floor_div(p.t0, kSecondsPerDay)) -
                              month_index_of_day(floor_div(s.first_event_ts, kSecondsPerDay)) + 1;
  double entropy = 0, hour_cos = 0, hour_sin = 0;
  hour_direction(s.hour, s.actions, hour_cos, hour_sin);
  int peak = 0;
  for (int h = 0; h < kHours; ++h) {
    if (s.hour[h] > s.hour[peak]) peak = h;
    if (s.hour[h] > 0) {
      const double q = static_cast<double>(s.hour[h]) / static_cast<double>(s.actions);
      entropy -= q * log2(q);
    }
  }
  int stage = s.max_stage < 0 ? 0 : s.max_stage;
  if (s.periods >= 2 && stage < kStageAdoption) stage = kStageAdoption;

  int c = 0;
  out[c++] = static_cast<float>(recency);
  out[c++] = static_cast<float>(s.periods);
  out[c++] = static_cast<float>(s.spend);
  out[c++] = static_cast<float>(ratio_or_zero(s.spend, n));
  out[c++] = static_cast<float>(tenure);
  out[c++] = static_cast<float>(gap_mean);
  out[c++] = static_cast<float>(gap_cv);
  out[c++] = static_cast<float>(s.spend > 0 ? s.returned / s.spend : 0.0);
  for (int w = 0; w < kWindows; ++w) out[c++] = static_cast<float>(window_actions[w]);
  out[c++] = static_cast<float>(active_days);
  out[c++] = static_cast<float>(app_sessions);
  out[c++] = static_cast<float>(
      ratio_or_zero(static_cast<double>(s.email_opens), static_cast<double>(s.emails_sent)));
  out[c++] = static_cast<float>(
      ratio_or_zero(static_cast<double>(s.email_clicks), static_cast<double>(s.email_opens)));
  out[c++] = static_cast<float>(buyer ? (n - 1) / n : 0.0);
  out[c++] =
      static_cast<float>(ratio_or_zero(static_cast<double>(s.purchase_months), static_cast<double>(months)));
  out[c++] = static_cast<float>(
      shrunk_share(ratio_or_zero(static_cast<double>(s.weekend_purchases), n), n, 2.0 / 7.0));
  out[c++] = static_cast<float>(
      shrunk_share(s.spend > 0 ? s.season_spend / s.spend : 0.0, n, season_day_share(p.season_months)));
  out[c++] = static_cast<float>(entropy);
  out[c++] = static_cast<float>(s.actions > 0 ? peak : 0);
  out[c++] = static_cast<float>(ratio_or_zero(static_cast<double>(s.discount_purchases), n));
  out[c++] =
      static_cast<float>(category_concentration(s.category_spend, kCategorySlots, n, p.category_prior));
  out[c++] = static_cast<float>(s.spend > 0 ? s.discount_spend / s.spend : 0.0);
  out[c++] = static_cast<float>(hour_cos);
  out[c++] = static_cast<float>(hour_sin);
  const bool funnel = p.page_view_type >= 0 && p.cart_add_type >= 0;
  out[c++] = static_cast<float>(funnel ? laplace_rate(s.cart_adds, s.page_views) : 0.0);
  out[c++] = static_cast<float>(p.cart_add_type >= 0 ? laplace_rate(s.purchases, s.cart_adds) : 0.0);
  out[c++] =
      static_cast<float>(static_cast<double>(s.support_tickets) * 30.0 / (tenure > 30 ? tenure : 30.0));
  for (int k = 0; k < p.categories; ++k)
    out[c++] = static_cast<float>(s.spend > 0 ? s.category_spend[p.category_columns[k]] / s.spend : 0.0);
  for (int k = 0; k < p.channels; ++k)
    out[c++] =
        static_cast<float>(ratio_or_zero(static_cast<double>(s.channel[k]), static_cast<double>(s.actions)));
  out[c++] = static_cast<float>(stage);
  // The gap churn_risk compares recency with: the customer's own mean gap, or without one the base's
  // typical gap, 1 / E[λ] = α / r of the BG/NBD purchase rate, in days.
  const double gap =
      s.periods >= 2 ? gap_mean
                     : p.bgnbd.alpha / p.bgnbd.r * p.multiplier * static_cast<double>(p.unit_seconds) / kDay;
  out[c++] = static_cast<float>(recency / (gap > 1 ? gap : 1.0));
  double p_alive = 1.0;
  if (buyer) {
    double x = 0, t_x = 0, T = 0;
    s.bgnbd_summary(p, x, t_x, T);
    p_alive = x == 0 ? one_time_buyer_p_alive(p.bgnbd, t_x, T) : bgnbd_p_alive(p.bgnbd, x, t_x, T);
  }
  out[c++] = static_cast<float>(p_alive);
  out[c++] = buyer ? 1.0f : 0.0f;
}

// An event as both backends hold it: three 64-bit words that sort by customer (the hashed id), then time,
// type and discount flag, then amount, category and channel. A record whose second word is 0 names a
// customer without being an event (a customer carried in from a saved state).
struct BehaviourRecord {
  std::uint64_t key;   // mix64(customer_id)
  std::uint64_t when;  // (timestamp + kRecordTimeBias) << 16 | type << 8 | discounted
  std::uint64_t rest;  // amount bits << 32 | category << 16 | channel << 8
};
inline constexpr std::int64_t kRecordTimeBias = std::int64_t{1} << 47;

SEGSTREAM_HD bool record_less(const BehaviourRecord& a, const BehaviourRecord& b) {
  if (a.key != b.key) return a.key < b.key;
  if (a.when != b.when) return a.when < b.when;
  return a.rest < b.rest;
}

SEGSTREAM_HD BehaviourRecord pack_record(std::uint64_t key, std::int64_t ts, std::uint8_t type, float amount,
                                         std::uint16_t category, std::uint8_t channel, bool discounted) {
  std::uint32_t bits = 0;
  memcpy(&bits, &amount, sizeof bits);
  return BehaviourRecord{key,
                         (static_cast<std::uint64_t>(ts + kRecordTimeBias) << 16) |
                             (static_cast<std::uint64_t>(type) << 8) | (discounted ? 1u : 0u),
                         (static_cast<std::uint64_t>(bits) << 32) |
                             (static_cast<std::uint64_t>(category) << 16) |
                             (static_cast<std::uint64_t>(channel) << 8)};
}

SEGSTREAM_HD void fold_record(BehaviourState& s, const BehaviourParams& p, const BehaviourRecord& r) {
  if (r.when == 0) return;
  const auto bits = static_cast<std::uint32_t>(r.rest >> 32);
  float amount = 0;
  memcpy(&amount, &bits, sizeof amount);
  s.add(p, static_cast<std::int64_t>(r.when >> 16) - kRecordTimeBias, static_cast<std::uint8_t>(r.when >> 8),
        amount, static_cast<std::uint16_t>(r.rest >> 16), static_cast<std::uint8_t>(r.rest >> 8),
        (r.when & 1u) != 0);
}

}  // namespace segstream::kernels
