// The `schedule` key of a marketplace (docs/settlement.md, "Calendar"), read for load_config.
#include <algorithm>
#include <string>

#include "settlement/config_reader.h"

namespace tally::config_reader {

namespace {

constexpr std::string_view kWeekdayChoices =
    "monday | tuesday | wednesday | thursday | friday | saturday | sunday";

// `weekly`: a weekday name or a non-empty array of them; a repeated day is refused (a typo for
// another day is likelier than a meaningful repeat). Stored Monday first.
std::optional<WeeklySchedule> weekly_days(Reader& r, const toml::node& n, std::string_view path) {
  WeeklySchedule w;
  auto one = [&](const toml::node& e, const std::string& p) {
    const std::string* s = r.want_string(e, p, "a weekday name");
    if (!s) return false;
    std::optional<date::weekday> wd = parse_weekday(*s);
    if (!wd) {
      r.fail(e, p, in_quotes(*s) + " is not one of " + std::string(kWeekdayChoices));
      return false;
    }
    if (std::find(w.days.begin(), w.days.end(), *wd) != w.days.end()) {
      r.fail(e, p, "duplicate weekday " + in_quotes(*s));
      return false;
    }
    w.days.push_back(*wd);
    return true;
  };
  bool ok = true;
  if (n.is_string()) {
    ok = one(n, std::string(path));
  } else if (const toml::array* a = n.as_array()) {
    if (a->empty()) {
      r.fail(n, path, "must name at least one weekday");
      ok = false;
    }
    for (size_t i = 0; i < a->size(); ++i) ok = one(*a->get(i), index(path, i)) && ok;
  } else {
    r.fail(n, path, "must be a weekday name or an array of them, not " + std::string(type_name(n)));
    ok = false;
  }
  if (!ok) return std::nullopt;
  std::sort(w.days.begin(), w.days.end(),
            [](date::weekday a, date::weekday b) { return a.iso_encoding() < b.iso_encoding(); });
  return w;
}

// `monthly_days`: a non-empty array of days, integers 1..31 and "last" (= 31: a day past a
// month's end is its last day). A repeated day, 31 and "last" included, is refused. Stored
// ascending.
std::optional<MonthlySchedule> monthly_days(Reader& r, const toml::node& n, std::string_view path) {
  const toml::array* a = n.as_array();
  if (!a) {
    r.fail(n, path,
           "must be an array of days of the month (1..31 or \"last\"), not " +
               std::string(type_name(n)));
    return std::nullopt;
  }
  if (a->empty()) {
    r.fail(n, path, "must name at least one day of the month");
    return std::nullopt;
  }
  MonthlySchedule m;
  std::vector<std::string> spelled;  // as written, by position in m.days
  bool ok = true;
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    std::string p = index(path, i);
    int day = 0;
    std::string text;
    if (const auto* s = e.as_string()) {
      if (s->get() != "last") {
        r.fail(e, p, in_quotes(s->get()) + " is not a day of the month: 1..31 or \"last\"");
        ok = false;
        continue;
      }
      day = MonthlySchedule::last_day;
      text = "\"last\"";
    } else if (e.is_integer()) {
      std::optional<int64_t> v = r.want_integer(e, p, 1, MonthlySchedule::last_day);
      if (!v) {
        ok = false;
        continue;
      }
      day = int(*v);
      text = std::to_string(day);
    } else {
      r.fail(e, p,
             "must be a day of the month, 1..31 or \"last\", not " + std::string(type_name(e)));
      ok = false;
      continue;
    }
    auto seen = std::find(m.days.begin(), m.days.end(), day);
    if (seen != m.days.end()) {
      const std::string& first = spelled[size_t(seen - m.days.begin())];
      r.fail(e, p,
             "duplicate day " + text +
                 (first == text ? ""
                                : " (31 and \"last\" are the same day: a day past a month's end "
                                  "is its last day)"));
      ok = false;
      continue;
    }
    m.days.push_back(day);
    spelled.push_back(text);
  }
  if (!ok) return std::nullopt;
  std::sort(m.days.begin(), m.days.end());
  return m;
}

}  // namespace

// `schedule`: exactly one form, { every_days, anchor }, { weekly } or { monthly_days }.
std::optional<Schedule> read_schedule(Reader& r, const toml::node& n, std::string_view path) {
  const toml::table* t = r.want_table(n, path);
  if (!t) return std::nullopt;
  const size_t before = r.problem_count();
  r.check_keys(*t, path, {"every_days", "anchor", "weekly", "monthly_days"}, {});
  const bool every = t->contains("every_days") || t->contains("anchor");
  const bool weekly = t->contains("weekly"), monthly = t->contains("monthly_days");
  const int forms = int(every) + int(weekly) + int(monthly);
  if (forms == 0) {
    r.fail(*t, path, "must give one form: { every_days, anchor }, { weekly } or { monthly_days }");
  } else if (forms > 1) {
    std::string keys;
    for (std::string_view k : {"every_days", "anchor", "weekly", "monthly_days"}) {
      if (!t->contains(k)) continue;
      keys += keys.empty() ? "" : ", ";
      keys += k;
    }
    r.fail(*t, path,
           "mixes schedule forms (" + keys +
               "): give exactly one of { every_days, anchor }, { weekly }, { monthly_days }");
  } else if (every) {
    for (std::string_view k : {"every_days", "anchor"})
      if (!t->contains(k)) r.fail(*t, join(path, k), "missing (required)");
  }
  EveryDaysSchedule e;
  if (const toml::node* v = t->get("every_days")) {
    if (auto x = r.want_integer(*v, join(path, "every_days"), 1, EveryDaysSchedule::every_days_max))
      e.every_days = int(*x);
  }
  if (const toml::node* v = t->get("anchor")) {
    if (auto d = r.want_date(*v, join(path, "anchor"))) e.anchor = *d;
  }
  std::optional<WeeklySchedule> w;
  if (const toml::node* v = t->get("weekly")) w = weekly_days(r, *v, join(path, "weekly"));
  std::optional<MonthlySchedule> m;
  if (const toml::node* v = t->get("monthly_days"))
    m = monthly_days(r, *v, join(path, "monthly_days"));
  if (r.problem_count() != before) return std::nullopt;
  if (w) return *w;
  if (m) return *m;
  return e;
}

}  // namespace tally::config_reader
