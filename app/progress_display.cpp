// Progress bar or plain progress lines.
#include "app/progress_display.h"

#include <cstdio>
#include <string>
#include <unistd.h>

namespace lsi {

namespace {

constexpr int kBarWidth = 24;
constexpr double kTerminalInterval_s = 0.2;

std::string format_duration(double seconds) {
  if (!(seconds >= 0.0) || seconds > 1e7) return "?";
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, total / 60 % 60);
  } else if (total >= 60) {
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lds", total);
  }
  return text;
}

}  // namespace

ProgressDisplay::ProgressDisplay(double plain_interval_s)
    : is_terminal_(isatty(STDERR_FILENO) != 0), interval_s_(plain_interval_s) {}

bool ProgressDisplay::is_due(double elapsed_s, bool force) const {
  const double interval_s = is_terminal_ ? kTerminalInterval_s : interval_s_;
  return force || elapsed_s - last_shown_s_ >= interval_s;
}

void ProgressDisplay::update(const ProgressSnapshot& s, bool force) {
  if (!is_due(s.elapsed_s, force)) return;
  last_shown_s_ = s.elapsed_s;

  const double fraction =
      s.n_iterations > 0 ? static_cast<double>(s.iteration) / s.n_iterations : 1.0;
  const double evals_per_s = s.elapsed_s > 0.0 ? s.evaluations / s.elapsed_s : 0.0;
  const double left_s = fraction > 0.0 ? s.elapsed_s * (1.0 - fraction) / fraction : -1.0;
  char stats[160];
  std::snprintf(stats, sizeof stats,
                "iter %lld/%lld  %.0f evals/s  coverage %.2f%%  QD score %.1f  left %s",
                static_cast<long long>(s.iteration), static_cast<long long>(s.n_iterations),
                evals_per_s, 100.0 * s.coverage, s.qd_score, format_duration(left_s).c_str());

  if (is_terminal_) {
    const int filled = static_cast<int>(fraction * kBarWidth);
    std::string bar(filled, '#');
    bar.append(kBarWidth - filled, '-');
    std::fprintf(stderr, "\r[%s] %3.0f%%  %s\033[K", bar.c_str(), 100.0 * fraction, stats);
  } else {
    std::fprintf(stderr, "%s\n", stats);
  }
  std::fflush(stderr);
}

void ProgressDisplay::finish() {
  if (is_terminal_) std::fprintf(stderr, "\n");
}

}  // namespace lsi
