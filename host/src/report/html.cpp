// The report's HTML page (report.hpp), drawn from its JSON content alone: inline CSS and SVG, no script,
// no request to anything outside the file, readable on a laptop and printable.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "segstream/host/report.hpp"

namespace segstream::host {
namespace {

using nlohmann::json;

std::string esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string str(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string commas(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

// A value for people: thousands separated, three significant digits below 1,000.
std::string amount(double v) {
  if (!std::isfinite(v)) return "–";
  const double a = std::fabs(v);
  if (a >= 1e9) return fmt::format("{:.2f} bn", v / 1e9);
  if (a >= 1e6) return fmt::format("{:.2f} M", v / 1e6);
  if (a >= 1000) return (v < 0 ? "−" : "") + commas(static_cast<std::uint64_t>(std::llround(a)));
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2f}", v);
}
std::string amount(const json& v) {
  return v.is_number() ? amount(v.get<double>()) : "–";
}
std::string percent(double share) {
  return std::isfinite(share) ? fmt::format("{:.1f}%", 100 * share) : "–";
}
std::string percent(const json& v) {
  return v.is_number() ? percent(v.get<double>()) : "–";
}

// A categorical palette for segments, and the two ends of the diverging scale.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
                                "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6", "#8cd17d", "#d37295"};
std::string segment_colour(std::size_t s) {
  return kPalette[s % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

// z in [−1, 1] → blue (−) … white … red (+).
std::string diverging(double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, -1.0, 1.0);
  const auto mix = [&](int from, int to) {
    return static_cast<int>(std::lround(from + (to - from) * std::fabs(t)));
  };
  if (t >= 0) return fmt::format("#{:02x}{:02x}{:02x}", mix(255, 178), mix(255, 24), mix(255, 43));
  return fmt::format("#{:02x}{:02x}{:02x}", mix(255, 33), mix(255, 102), mix(255, 172));
}
// share in [0, 1] → white … dark teal.
std::string sequential(double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
  const auto mix = [&](int from, int to) { return static_cast<int>(std::lround(from + (to - from) * t)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(247, 8), mix(251, 64), mix(255, 129));
}
bool dark(double t) {
  return t > 0.55;
}

double text_width(const std::string& s, double px = 12) {
  std::size_t chars = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++chars;
  return static_cast<double>(chars) * px * 0.58;
}

// A "nice" axis maximum and step for values up to `top`.
std::pair<double, double> nice_axis(double top) {
  if (!(top > 0)) return {1, 0.25};
  const double raw = top / 5, mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  return {std::ceil(top / step) * step, step};
}

struct Series {
  std::string name, colour;
  std::vector<double> values;
  bool percent = false;
};

// Horizontal bars, one group per label with one bar per series, an x axis with ticks and its title.
std::string bar_chart(const std::string& id, const std::string& caption,
                      const std::vector<std::string>& labels, const std::vector<Series>& series,
                      const std::string& x_title) {
  double label_w = 0, top = 0;
  for (const auto& l : labels) label_w = std::max(label_w, text_width(l));
  for (const auto& s : series)
    for (double v : s.values)
      if (std::isfinite(v)) top = std::max(top, v);
  const bool pct = !series.empty() && series[0].percent;
  const auto [axis_max, step] = nice_axis(pct ? top * 100 : top);
  const double left = label_w + 16, plot_w = 520, bar_h = 14, gap = 10;
  const double group_h = static_cast<double>(series.size()) * bar_h + gap;
  const double top_pad = series.size() > 1 ? 30 : 10;
  const double height = top_pad + static_cast<double>(labels.size()) * group_h + 44;
  const double width = left + plot_w + 80;
  std::string svg = fmt::format(
      "<svg class=\"plot\" viewBox=\"0 0 {0:.0f} {1:.0f}\" width=\"{0:.0f}\" height=\"{1:.0f}\" role=\"img\" "
      "aria-label=\"{2}\">",
      width, height, esc(caption));
  if (series.size() > 1) {  // legend
    double x = left;
    for (const auto& s : series) {
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/>", x, s.colour);
      svg += fmt::format("<text x=\"{:.1f}\" y=\"18\" class=\"legend\">{}</text>", x + 16, esc(s.name));
      x += 32 + text_width(s.name);
    }
  }
  const double plot_bottom = top_pad + static_cast<double>(labels.size()) * group_h;
  const auto ticks = static_cast<int>(std::lround(axis_max / step));
  for (int tick = 0; tick <= ticks; ++tick) {  // grid and ticks
    const double t = tick * step;
    const double x = left + plot_w * t / axis_max;
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" class=\"grid\"/>",
                       x, top_pad - 4, plot_bottom);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"middle\">{}</text>", x,
                       plot_bottom + 14, pct ? fmt::format("{:g}%", t) : amount(t));
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"axis-title\" text-anchor=\"middle\">{}</text>",
                     left + plot_w / 2, plot_bottom + 34, esc(x_title));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double y0 = top_pad + static_cast<double>(i) * group_h;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"label\" text-anchor=\"end\">{}</text>",
                       left - 6, y0 + static_cast<double>(series.size()) * bar_h / 2 + 4, esc(labels[i]));
    for (std::size_t k = 0; k < series.size(); ++k) {
      const double v = series[k].values[i];
      const double shown = pct ? v * 100 : v;
      const double w = std::isfinite(shown) ? std::max(0.0, plot_w * shown / axis_max) : 0;
      const double y = y0 + static_cast<double>(k) * bar_h;
      const std::string text = pct ? percent(v) : amount(v);
      svg += fmt::format(
          "<rect class=\"mark\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
          "<title>{}: {} {}</title></rect>",
          left, y + 1, std::max(w, 0.5), bar_h - 2, series[k].colour, esc(labels[i]), esc(series[k].name),
          text);
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"value\">{}</text>", left + w + 4,
                         y + bar_h - 3, text);
    }
  }
  svg += "</svg>";
  return fmt::format("<figure class=\"chart\" id=\"{}\"><figcaption>{}</figcaption>{}</figure>\n", id,
                     esc(caption), svg);
}

struct Cell {
  double shade;      // colour position: [−1, 1] diverging or [0, 1] sequential
  std::string text;  // in the cell, or empty
  std::string tip;   // its tooltip
};

// A matrix of coloured cells with row labels on the left and column labels rotated above.
std::string heatmap(const std::string& id, const std::string& caption, const std::vector<std::string>& rows,
                    const std::vector<std::string>& cols, const std::vector<Cell>& cells, bool is_diverging,
                    const std::string& legend_low, const std::string& legend_high, double cell_w,
                    const std::string& row_title, const std::string& col_title) {
  double row_w = 0, col_h = 0;
  for (const auto& r : rows) row_w = std::max(row_w, text_width(r));
  for (const auto& c : cols) col_h = std::max(col_h, text_width(c, 11));
  // Cells as wide as asked, narrower when the page (about 1,120 px) would not hold them, down to 12 px.
  const double cell_h = 22, left = row_w + 16, top = col_h * 0.72 + 40, overhang = col_h * 0.72 + 30;
  cell_w = std::max(12.0, std::min(cell_w, (1120 - left - overhang) / static_cast<double>(cols.size())));
  const double width = left + static_cast<double>(cols.size()) * cell_w + overhang;
  const double height = top + static_cast<double>(rows.size()) * cell_h + 56;
  std::string svg = fmt::format(
      "<svg class=\"plot\" viewBox=\"0 0 {0:.0f} {1:.0f}\" width=\"{0:.0f}\" height=\"{1:.0f}\" role=\"img\" "
      "aria-label=\"{2}\">",
      width, height, esc(caption));
  svg += fmt::format("<text x=\"{:.1f}\" y=\"14\" class=\"axis-title\">{}</text>", left, esc(col_title));
  for (std::size_t j = 0; j < cols.size(); ++j) {
    const double x = left + (static_cast<double>(j) + 0.5) * cell_w;
    svg +=
        fmt::format("<text transform=\"translate({:.1f},{:.1f}) rotate(-45)\" class=\"col-label\">{}</text>",
                    x + 3, top - 6, esc(cols[j]));
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double y = top + static_cast<double>(i) * cell_h;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"label\" text-anchor=\"end\">{}</text>",
                       left - 6, y + cell_h / 2 + 4, esc(rows[i]));
    for (std::size_t j = 0; j < cols.size(); ++j) {
      const Cell& c = cells[i * cols.size() + j];
      const double x = left + static_cast<double>(j) * cell_w;
      svg += fmt::format(
          "<rect class=\"mark\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
          "<title>{}</title></rect>",
          x, y, cell_w - 1, cell_h - 1, is_diverging ? diverging(c.shade) : sequential(c.shade), esc(c.tip));
      if (!c.text.empty() && text_width(c.text, 10) <= cell_w - 3)
        svg += fmt::format(
            "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"cell{}\" text-anchor=\"middle\">{}</text>",
            x + cell_w / 2, y + cell_h / 2 + 4,
            (is_diverging ? std::fabs(c.shade) > 0.6 : dark(c.shade)) ? " inverse" : "", esc(c.text));
    }
  }
  // Legend: a gradient bar with its two ends named, and the row axis' title.
  const double ly = top + static_cast<double>(rows.size()) * cell_h + 14;
  for (int t = 0; t < 40; ++t) {
    const double f = t / 39.0;
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"5\" height=\"10\" fill=\"{}\"/>",
                       left + t * 5.0, ly, is_diverging ? diverging(2 * f - 1) : sequential(f));
  }
  svg +=
      fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\">{}</text>", left, ly + 24, esc(legend_low));
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                     left + 200, ly + 24, esc(legend_high));
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"axis-title\" text-anchor=\"end\">{}</text>",
                     left - 6, top - 6, esc(row_title));
  svg += "</svg>";
  return fmt::format("<figure class=\"chart\" id=\"{}\"><figcaption>{}</figcaption>{}</figure>\n", id,
                     esc(caption), svg);
}

std::string segment_label(const json& s) {
  return fmt::format("{} ({})", s["name"].get<std::string>(), s["id"].get<int>());
}

const char* kStyle = R"(
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --card: #f5f7fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0 auto; padding: 24px 28px 48px; max-width: 1180px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 34px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.sub { color: var(--muted); margin: 0 0 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr)); gap: 10px; }
.card { background: var(--card); border-radius: 8px; padding: 10px 14px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 22px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
figure.chart { margin: 12px 0 22px; overflow-x: auto; } figcaption { font-weight: 600; margin-bottom: 6px; }
svg.plot { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; max-width: none; }
svg .grid { stroke: #e4e7eb; } svg .tick { fill: var(--muted); font-size: 11px; }
svg .axis-title { fill: var(--muted); font-size: 12px; font-weight: 600; } svg .label { fill: var(--ink); }
svg .value { fill: var(--muted); font-size: 11px; } svg .legend { fill: var(--ink); font-size: 12px; }
svg .col-label { fill: var(--ink); font-size: 11px; } svg .cell { font-size: 10px; fill: var(--ink); }
svg .cell.inverse { fill: #fff; }
.note { color: var(--muted); font-size: 12.5px; } code { font-size: 12.5px; }
.kpi-def dt { font-weight: 600; } .kpi-def dd { margin: 0 0 6px 0; color: var(--muted); }
@media print { body { padding: 0; max-width: none; } h2 { break-after: avoid; } figure.chart, table, .cards { break-inside: avoid; } }
)";

std::string card(const std::string& key, const std::string& value) {
  return fmt::format("<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div></div>", esc(key),
                     esc(value));
}

}  // namespace

std::string render_report_html(const json& c) {
  const json& base = c["base"];
  const json& segs = c["segments"];
  const json& cols = c["columns"];
  const std::size_t k = segs.size(), d = cols.size();
  std::vector<std::string> labels;
  for (const json& s : segs) labels.push_back(segment_label(s));
  const bool has_revenue = base["revenue"].is_number();

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += fmt::format("<title>{}</title>\n<style>{}</style></head>\n<body>\n", esc(str(c["title"])), kStyle);
  h += fmt::format("<h1>{}</h1>\n<p class=\"sub\">{} customers in {} segments{}{}. Made by {}.</p>\n",
                   esc(str(c["title"])), commas(base["customers"].get<std::uint64_t>()), k,
                   base["as_of"].is_string() ? ", as of " + esc(str(base["as_of"])) : "",
                   base["mode"].get<std::string>().empty() ? "" : ", " + esc(str(base["mode"])) + " features",
                   esc(str(c["created_by"])));

  // The base at a glance.
  h += "<h2 id=\"base\">The base at a glance</h2>\n<div class=\"cards\">";
  h += card("Customers", commas(base["customers"].get<std::uint64_t>()));
  h += card("Segments", std::to_string(k));
  if (has_revenue) h += card("Revenue (" + str(base["revenue_column"]) + ")", amount(base["revenue"]));
  if (has_revenue)
    h += card("Revenue per customer",
              amount(base["revenue"].get<double>() / std::max(1.0, base["profiled"].get<double>())));
  h += card("As of", base["as_of"].is_string() ? str(base["as_of"]).substr(0, 10) : "–");
  if (c["truth"].is_object())
    h += card("Agreement with truth (ARI)", fmt::format("{:.3f}", c["truth"]["ari"].get<double>()));
  if (c["migration"].is_object())
    h += card("Changed segment", percent(c["migration"].value("changed_share", std::nan(""))));
  h += "</div>\n";
  h += "<table><tr><th>input</th><th>file</th><th class=\"n\">bytes</th><th>fingerprint</th></tr>";
  for (const json& in : c["inputs"])
    h += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
                     esc(str(in["role"])), esc(str(in["file"])), commas(in["bytes"].get<std::uint64_t>()),
                     esc(str(in["fingerprint"])));
  h += "</table>\n";
  h += fmt::format(
      "<p class=\"note\">Model: {}. Segments: {}. Features: {} ({} columns profiled, {} clustered, "
      "transform {}).</p>\n",
      esc(str(c["provenance"]["model"])), esc(str(c["provenance"]["segments"])), esc(str(base["features"])),
      d, base["columns_clustered"].size(), esc(str(base["transform"])));

  // Sizes and revenue.
  h += "<h2 id=\"segments\">Segments: size and value</h2>\n";
  std::vector<Series> size_series{{"customers", "#4e79a7", {}, true}};
  if (has_revenue) size_series.push_back({"revenue", "#f28e2b", {}, true});
  for (const json& s : segs) {
    size_series[0].values.push_back(s["customer_share"].get<double>());
    if (has_revenue)
      size_series[1].values.push_back(s["revenue_share"].is_number() ? s["revenue_share"].get<double>() : 0);
  }
  h += bar_chart(
      "chart-sizes",
      has_revenue ? "Share of customers and of revenue per segment" : "Share of customers per segment",
      labels, size_series, "share of the base (%)");

  // The table of segments: name, size, value, KPIs, what sets it apart.
  h += "<table id=\"segment-table\"><tr><th>segment</th><th class=\"n\">customers</th><th "
       "class=\"n\">share</th>";
  if (has_revenue) h += "<th class=\"n\">revenue share</th>";
  const std::vector<std::pair<std::string, std::string>> kpis = {{"conversion_rate", "conversion"},
                                                                 {"avg_order_value", "avg order value"},
                                                                 {"buyer_share", "buyers"},
                                                                 {"p_alive", "P(active)"},
                                                                 {"expected_value", "expected value"},
                                                                 {"holdout_churn_rate", "holdout churn"}};
  std::vector<std::pair<std::string, std::string>> shown;
  for (const auto& [key, title] : kpis) {
    bool any = false;
    for (const json& s : segs) any = any || (s["kpi"].contains(key) && s["kpi"][key].is_number());
    if (any) shown.emplace_back(key, title);
  }
  for (const auto& [key, title] : shown) h += "<th class=\"n\">" + esc(title) + "</th>";
  h += "<th>what sets it apart</th></tr>\n";
  for (std::size_t s = 0; s < k; ++s) {
    const json& seg = segs[s];
    h += fmt::format(
        "<tr data-segment=\"{}\"><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td>"
        "<td class=\"n\" data-value=\"{}\">{}</td><td class=\"n\">{}</td>",
        seg["id"].get<int>(), segment_colour(s), esc(labels[s]), seg["customers"].get<std::uint64_t>(),
        commas(seg["customers"].get<std::uint64_t>()), percent(seg["customer_share"]));
    if (has_revenue) h += fmt::format("<td class=\"n\">{}</td>", percent(seg["revenue_share"]));
    for (const auto& [key, title] : shown) {
      const json& v = seg["kpi"].contains(key) ? seg["kpi"][key] : json(nullptr);
      const bool is_share =
          key == "conversion_rate" || key == "buyer_share" || key == "p_alive" || key == "holdout_churn_rate";
      h += fmt::format("<td class=\"n\">{}</td>", is_share ? percent(v) : amount(v));
    }
    h += fmt::format("<td>{}</td></tr>\n", esc(str(seg["apart"])));
  }
  h += "</table>\n<dl class=\"kpi-def note\">";
  for (const auto& [key, title] : shown)
    h += fmt::format("<dt>{}</dt><dd>{}</dd>", esc(title), esc(str(c["kpi_definitions"][key])));
  h += "</dl>\n";

  // KPI charts, one per KPI the data give.
  for (const auto& [key, title] : shown) {
    const bool is_share =
        key == "conversion_rate" || key == "buyer_share" || key == "p_alive" || key == "holdout_churn_rate";
    Series series{title, "#59a14f", {}, is_share};
    for (const json& s : segs) {
      const json& v = s["kpi"][key];
      series.values.push_back(v.is_number() ? v.get<double>() : std::nan(""));
    }
    std::string axis = title;
    if (key == "expected_value" && c["lifetimes"].is_object())
      axis = fmt::format("expected revenue per customer in the next {:g} days",
                         c["lifetimes"]["horizon_days"].get<double>());
    if (key == "avg_order_value") axis = "revenue per purchase period";
    if (is_share) axis += " (%)";
    h += bar_chart("chart-kpi-" + key, title + " per segment", labels, {series}, axis);
  }

  // Profile heatmap.
  h += "<h2 id=\"profiles\">Segment profiles</h2>\n<p class=\"note\">Each cell is the segment's mean of the "
       "column in standard deviations from the population's mean (red above, blue below; the colour is "
       "clipped at ±2.5 sd). Hover a cell for the mean itself.</p>\n";
  std::vector<std::string> col_names;
  for (const json& col : cols) col_names.push_back(str(col["name"]));
  std::vector<Cell> cells;
  for (std::size_t s = 0; s < k; ++s)
    for (std::size_t j = 0; j < d; ++j) {
      const json& z = segs[s]["z"][j];
      const json& mean = segs[s]["mean"][j];
      const double zv = z.is_number() ? z.get<double>() : 0;
      const std::string unit = str(cols[j]["unit"]);
      cells.push_back({zv / 2.5, std::fabs(zv) >= 1 ? fmt::format("{:+.1f}", zv) : "",
                       fmt::format("{} · {}: mean {}{} ({:+.2f} sd; population {})", labels[s], col_names[j],
                                   amount(mean), unit.empty() ? "" : " " + unit, zv,
                                   amount(cols[j]["population_mean"]))});
    }
  h += heatmap("chart-profile", "Profiles: segment means in standard deviations from the population", labels,
               col_names, cells, true, "−2.5 sd", "+2.5 sd", 24, "segment", "feature");
  // The means in natural units.
  h += "<details><summary>Segment means in natural units</summary><table><tr><th>column</th><th>unit</th>"
       "<th class=\"n\">population</th>";
  for (const auto& l : labels) h += "<th class=\"n\">" + esc(l) + "</th>";
  h += "</tr>";
  for (std::size_t j = 0; j < d; ++j) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td>", esc(col_names[j]),
                     esc(str(cols[j]["unit"])), amount(cols[j]["population_mean"]));
    for (std::size_t s = 0; s < k; ++s) h += "<td class=\"n\">" + amount(segs[s]["mean"][j]) + "</td>";
    h += "</tr>";
  }
  h += "</table></details>\n";

  // Lifetimes models.
  if (c["lifetimes"].is_object()) {
    const json& l = c["lifetimes"];
    h += "<h2 id=\"value\">Customer value</h2>\n";
    h += fmt::format(
        "<p class=\"note\">From {}: {} customers with a purchase ({} of them in these segments). BG/NBD (r "
        "{:.4g}, "
        "α {:.4g}, a {:.4g}, b {:.4g}) gives each customer's expected purchases in the next {:g} days; "
        "Gamma-Gamma (p {:.4g}, q {:.4g}, v {:.4g}, fitted on {} repeat customers) their expected spend per "
        "purchase.{}</p>\n",
        esc(str(l["file"])), commas(l["customers"].get<std::uint64_t>()),
        commas(l["joined"].get<std::uint64_t>()), l["bgnbd"]["r"].get<double>(),
        l["bgnbd"]["alpha"].get<double>(), l["bgnbd"]["a"].get<double>(), l["bgnbd"]["b"].get<double>(),
        l["horizon_days"].get<double>(), l["gamma_gamma"]["p"].get<double>(),
        l["gamma_gamma"]["q"].get<double>(), l["gamma_gamma"]["v"].get<double>(),
        commas(l["gamma_gamma"]["customers"].get<std::uint64_t>()),
        l["holdout"].get<bool>()
            ? fmt::format(" The holdout window is {:.0f} days long.", l.value("holdout_days", 0.0))
            : "");
  }

  // Migrations after an update.
  if (c["migration"].is_object()) {
    const json& m = c["migration"];
    h += "<h2 id=\"migration\">Who moved where</h2>\n";
    h += fmt::format(
        "<p class=\"note\">Against the previous segments: {} customers in both, {} of them ({}) in another "
        "segment now; {} new to the data, {} gone from it.</p>\n",
        commas(m.value("both", std::uint64_t{0})), commas(m.value("changed", std::uint64_t{0})),
        percent(m.value("changed_share", std::nan(""))), commas(m.value("arrived", std::uint64_t{0})),
        commas(m.value("gone", std::uint64_t{0})));
    std::vector<std::string> rows = m["from_label"].get<std::vector<std::string>>();
    std::vector<std::string> columns = m["to_label"].get<std::vector<std::string>>();
    rows.emplace_back("new to the data");
    columns.emplace_back("gone from the data");
    std::vector<Cell> mc;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::uint64_t row_total = 0;
      for (const json& v : m["matrix"][i]) row_total += v.get<std::uint64_t>();
      for (std::size_t j = 0; j < columns.size(); ++j) {
        const std::uint64_t v = m["matrix"][i][j].get<std::uint64_t>();
        const double share = row_total > 0 ? static_cast<double>(v) / static_cast<double>(row_total) : 0;
        mc.push_back({share, v > 0 ? commas(v) : "",
                      fmt::format("{} → {}: {} customers ({} of the row)", rows[i], columns[j], commas(v),
                                  percent(share))});
      }
    }
    h += heatmap("chart-migration",
                 "Migration matrix: customers from each previous segment (rows) to each "
                 "current one (columns)",
                 rows, columns, mc, false, "0% of the row", "100% of the row", 56, "previous segment",
                 "current segment");
    h += "<table><tr><th>largest flows between segments</th><th></th><th class=\"n\">customers</th></tr>";
    for (const json& f : m["largest_flows"])
      h += fmt::format("<tr><td>{}</td><td>→ {}</td><td class=\"n\">{}</td></tr>", esc(str(f["from"])),
                       esc(str(f["to"])), commas(f["customers"].get<std::uint64_t>()));
    h += "</table>\n";
    std::vector<double> entered, exited;
    std::vector<std::string> to_labels = m["to_label"].get<std::vector<std::string>>();
    for (const json& v : m["entered"]) entered.push_back(v.get<double>());
    // exited is per previous segment: shown for the current ids that had one.
    const auto from = m["from_id"].get<std::vector<int>>();
    const auto to = m["to_id"].get<std::vector<int>>();
    for (int id : to) {
      const auto it = std::find(from.begin(), from.end(), id);
      exited.push_back(
          it == from.end() ? 0 : m["exited"][static_cast<std::size_t>(it - from.begin())].get<double>());
    }
    h += bar_chart("chart-flows", "Customers who entered and left each segment", to_labels,
                   {{"entered", "#59a14f", entered, false}, {"left", "#e15759", exited, false}}, "customers");
    // Drift: the largest change of each segment's centre, in natural units.
    if (m.contains("drift") && m.contains("drift_columns")) {
      const auto drift_cols = m["drift_columns"].get<std::vector<std::string>>();
      h += "<table><tr><th>segment</th><th>its centre moved most in</th></tr>";
      for (std::size_t j = 0; j < to.size() && j < m["drift"].size(); ++j) {
        const json& row = m["drift"][j];
        std::string text = "new segment";
        if (row.is_array()) {
          std::vector<std::pair<double, std::size_t>> by;
          for (std::size_t c2 = 0; c2 < row.size() && c2 < drift_cols.size(); ++c2)
            if (row[c2].is_number()) by.emplace_back(-std::fabs(row[c2].get<double>()), c2);
          std::stable_sort(by.begin(), by.end());
          text.clear();
          for (std::size_t t = 0; t < by.size() && t < 3; ++t)
            text += fmt::format("{}{} {:+.3g}", t ? ", " : "", drift_cols[by[t].second],
                                row[by[t].second].get<double>());
        }
        h += fmt::format("<tr><td>{}</td><td>{}</td></tr>", esc(to_labels[j]), esc(text));
      }
      h += "</table>\n";
    }
  }

  // Segments against the truth of a generated base.
  if (c["truth"].is_object()) {
    const json& t = c["truth"];
    h += "<h2 id=\"truth\">Segments against the generator's truth</h2>\n";
    h += fmt::format(
        "<p class=\"note\">{} customers of {} with a known {}: adjusted Rand index {:.3f} (1 is a perfect "
        "match, 0 what chance gives), purity {} (the share of customers in their segment's largest "
        "class).</p>\n",
        commas(t["joined"].get<std::uint64_t>()), esc(str(t["file"])), esc(str(t["kind"])),
        t["ari"].get<double>(), percent(t["purity"]));
    const auto classes = t["classes"].get<std::vector<std::string>>();
    std::vector<Cell> tc;
    for (std::size_t i = 0; i < classes.size(); ++i) {
      std::uint64_t total = 0;
      for (const json& v : t["matrix"][i]) total += v.get<std::uint64_t>();
      for (std::size_t s = 0; s < k; ++s) {
        const std::uint64_t v = t["matrix"][i][s].get<std::uint64_t>();
        const double share = total > 0 ? static_cast<double>(v) / static_cast<double>(total) : 0;
        tc.push_back({share, v > 0 ? commas(v) : "",
                      fmt::format("{} in {}: {} customers ({} of the {})", classes[i], labels[s], commas(v),
                                  percent(share), str(t["kind"]))});
      }
    }
    h += heatmap("chart-truth", "Confusion: true classes (rows) against segments (columns)", classes, labels,
                 tc, false, "0% of the class", "100% of the class", 56, "true class", "segment");
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace segstream::host
