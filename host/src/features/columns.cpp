// The column registry of the behavioural feature set (features.hpp): names, units, families and the default
// clustering set in one table, in the order of kernels::behaviour_features.
#include <fmt/format.h>

#include "segstream/core/civil.hpp"
#include "segstream/host/features.hpp"
#include "segstream/kernels/behaviour.hpp"

namespace segstream::host {

std::vector<BehaviourColumn> behaviour_column_registry(const std::array<int, 3>& windows,
                                                       std::int64_t unit_seconds,
                                                       const std::vector<std::string>& categories,
                                                       const std::vector<std::string>& channels) {
  const std::string periods =
      unit_seconds == kSecondsPerDay ? "days" : fmt::format("{} s periods", unit_seconds);
  std::vector<BehaviourColumn> c = {
      {"recency_days", "days", "purchase", true},
      {"frequency", "distinct " + periods, "purchase", true},
      {"monetary_total", "currency", "purchase", true},
      {"avg_order_value", "currency per purchase", "purchase", true},
      {"tenure_days", "days", "purchase", true},
      {"interpurchase_mean_days", "days", "purchase", true},
      {"interpurchase_cv", "ratio", "purchase", false},
      {"return_rate", "ratio", "purchase", true},
  };
  for (int w : windows) c.push_back({fmt::format("events_{}d", w), "events", "usage", w == 28});
  const std::vector<BehaviourColumn> rest = {
      {"active_days_28d", "days", "usage", true},
      {"app_sessions_28d", "events", "usage", true},
      {"email_open_rate", "ratio", "engagement", true},
      {"email_click_rate", "ratio", "engagement", false},
      {"repeat_ratio", "ratio", "loyalty", true},
      {"active_month_ratio", "ratio", "loyalty", true},
      {"weekend_share", "share", "occasion", true},
      {"holiday_share", "share", "occasion", true},
      {"hour_entropy", "bits", "occasion", false},
      {"peak_hour", "hour (UTC)", "occasion", false},
      {"discount_share", "share", "benefit", true},
      {"category_concentration", "index 0-1", "benefit", true},
      {"discount_spend_share", "share of spend", "benefit", true},
      {"hour_cos", "-1 to 1", "occasion", true},
      {"hour_sin", "-1 to 1", "occasion", true},
      {"cart_rate", "share of page views", "journey", true},
      {"conversion_rate", "share of cart adds", "journey", true},
      {"support_per_month", "tickets per 30 days", "engagement", true},
  };
  c.insert(c.end(), rest.begin(), rest.end());
  static_assert(kernels::kBaseColumns == 29,
                "the registry's base columns follow kernels::behaviour_features");
  for (const std::string& name : categories)
    c.push_back({"category_share_" + name, "share of spend", "benefit", false});
  for (const std::string& name : channels)
    c.push_back({"channel_share_" + name, "share of actions", "benefit", false});
  static_assert(kernels::kTailColumns == 4, "the registry's tail columns follow kernels::behaviour_features");
  c.push_back({"journey_stage", "stage 0-5", "journey", true});
  c.push_back({"churn_risk", "ratio", "churn", true});
  c.push_back({"p_alive", "probability", "churn", true});
  c.push_back({"has_purchase", "flag", "purchase", false});
  return c;
}

const std::vector<std::string>& default_behavioural_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> names;
    for (const BehaviourColumn& c : behaviour_column_registry({7, 28, 90}, kSecondsPerDay, {}, {}))
      if (c.clustered) names.push_back(c.name);
    return names;
  }();
  return columns;
}

std::string behaviour_family(const std::string& column) {
  if (column.rfind("category_share_", 0) == 0 || column.rfind("channel_share_", 0) == 0) return "benefit";
  if (column.rfind("events_", 0) == 0 && column.size() > 8 && column.back() == 'd') return "usage";
  for (const BehaviourColumn& c : behaviour_column_registry({7, 28, 90}, kSecondsPerDay, {}, {}))
    if (c.name == column) return c.family;
  return "";
}

}  // namespace segstream::host
