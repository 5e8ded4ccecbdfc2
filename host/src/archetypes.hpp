// Behavioural parameters of the generator's archetypes (docs/GENERATOR.md explains each number's intent).
#pragma once

#include <array>

#include "segstream/host/generate.hpp"

namespace segstream::host::detail {

// How a customer's activity evolves within a phase of life.
enum class Activity : std::uint8_t {
  kSteady,     // constant intensity
  kDeclining,  // intensity decays with a time constant of decline_days from the phase start
  kDropout,    // active until a drop-out time early in the phase, then near-silent
  kRecent,     // acquired near the end of the window; silent before
  kSeasonal,   // steady at a low base rate; the calendar's holiday_boost (15 Nov – 31 Dec) dominates
};

struct ArchetypeProfile {
  Activity activity;
  double visit_rate;       // site or app visits per day at full activity
  double pageviews_mean;   // page views per visit
  double content_prob;     // P(content_view | visit)
  double search_prob;      // P(search | visit)
  double cart_prob;        // P(cart_add | visit)
  double buy_prob;         // P(purchase | cart_add)
  double spend_mean;       // mean list price of an order
  double spend_sigma;      // log-scale spread of order values
  double discount_prob;    // P(an order uses a discount)
  double discount_depth;   // mean discount as a fraction of the list price
  double return_prob;      // P(an order is returned)
  double review_prob;      // P(a review follows an order)
  double referral_prob;    // P(a referral follows an order)
  double app_rate;         // app sessions per day
  double app_visit_share;  // share of visits made in the app (channel app, else web)
  double store_share;      // share of orders placed in a store
  double subscribed;       // P(subscribed to e-mail campaigns)
  double open_prob;        // P(open | e-mail sent) at full activity
  double click_prob;       // P(click | open)
  double support_rate;     // support tickets per day
  double weekend_weight;   // intensity on Saturday and Sunday relative to weekdays
  double holiday_boost;    // intensity multiplier in the holiday season
  double peak_hour;        // hour of day (UTC) around which the customer acts
  double hour_sd;          // spread of that hour, in hours
  double category_focus;   // share of orders in the customer's favourite category
  double decline_days;     // kDeclining: time constant of the decay
};

inline const ArchetypeProfile& profile_of(Archetype a) {
  // One row per archetype, columns in the order of ArchetypeProfile's members.
  // clang-format off
  //                           act                 visit  pv   cont  srch  cart  buy   spend sig   dprob depth ret   rev   ref    app   appv  store subs  open  click supp    wkend hol   hour sd   focus decl
  static const std::array<ArchetypeProfile, kArchetypeCount> profiles = {{
      /* champion */         {Activity::kSteady,    0.090, 2.5, 0.30, 0.40, 0.70, 0.85, 120., 0.50, 0.10, 0.10, 0.04, 0.15, 0.040, 0.05, 0.30, 0.15, 0.80, 0.55, 0.35, 0.0015, 1.2, 1.3, 19., 3.0, 0.35, 0.},
      /* loyal */            {Activity::kSteady,    0.050, 2.0, 0.20, 0.35, 0.60, 0.80,  55., 0.45, 0.15, 0.10, 0.05, 0.08, 0.015, 0.03, 0.25, 0.25, 0.75, 0.45, 0.25, 0.0010, 1.1, 1.3, 12., 3.5, 0.35, 0.},
      /* new_buyer */        {Activity::kRecent,    0.060, 3.0, 0.45, 0.50, 0.55, 0.70,  60., 0.55, 0.30, 0.15, 0.06, 0.05, 0.010, 0.04, 0.35, 0.10, 0.85, 0.60, 0.30, 0.0020, 1.1, 1.2, 20., 3.0, 0.30, 0.},
      /* at_risk */          {Activity::kDeclining, 0.070, 2.0, 0.20, 0.35, 0.60, 0.80,  70., 0.50, 0.15, 0.10, 0.10, 0.04, 0.005, 0.02, 0.20, 0.20, 0.70, 0.35, 0.15, 0.0040, 1.1, 1.2, 13., 3.5, 0.35, 90.},
      /* lapsed */           {Activity::kDropout,   0.050, 1.8, 0.15, 0.30, 0.55, 0.75,  50., 0.50, 0.15, 0.10, 0.08, 0.03, 0.003, 0.01, 0.15, 0.20, 0.60, 0.25, 0.10, 0.0010, 1.1, 1.2, 14., 4.0, 0.35, 0.},
      /* seasonal */         {Activity::kSeasonal,  0.006, 2.5, 0.30, 0.60, 0.70, 0.80,  80., 0.50, 0.25, 0.15, 0.08, 0.03, 0.005, 0.00, 0.20, 0.30, 0.60, 0.20, 0.15, 0.0005, 1.5, 14., 18., 3.5, 0.20, 0.},
      /* bargain_hunter */   {Activity::kSteady,    0.050, 3.5, 0.10, 0.70, 0.50, 0.65,  30., 0.45, 0.85, 0.30, 0.12, 0.03, 0.010, 0.02, 0.30, 0.10, 0.90, 0.65, 0.45, 0.0010, 1.3, 1.4, 21., 3.0, 0.25, 0.},
      /* app_heavy */        {Activity::kSteady,    0.050, 4.0, 0.60, 0.30, 0.20, 0.35,  18., 0.40, 0.20, 0.10, 0.03, 0.04, 0.020, 0.70, 0.90, 0.02, 0.50, 0.30, 0.20, 0.0010, 1.6, 1.0, 21., 2.5, 0.30, 0.},
      /* category_special */ {Activity::kSteady,    0.045, 2.5, 0.50, 0.45, 0.60, 0.75,  90., 0.45, 0.10, 0.10, 0.04, 0.12, 0.010, 0.02, 0.20, 0.15, 0.70, 0.45, 0.30, 0.0010, 1.2, 1.2, 20., 3.0, 0.90, 0.},
      /* prospect */         {Activity::kRecent,    0.050, 3.0, 0.55, 0.55, 0.25, 0.00,  40., 0.50, 0.00, 0.00, 0.00, 0.00, 0.000, 0.01, 0.30, 0.00, 0.60, 0.40, 0.15, 0.0003, 1.2, 1.2, 20., 4.0, 0.30, 0.},
  }};
  // clang-format on
  return profiles[static_cast<std::size_t>(a)];
}

}  // namespace segstream::host::detail
