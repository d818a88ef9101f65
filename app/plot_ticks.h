// Tick positions and tick labels for the linear axes of our figures.
#pragma once

#include <string>
#include <vector>

namespace lsi {

// Ticks of one axis: values in data units, ascending, with their printed labels.
struct AxisTicks {
  std::vector<double> values;
  std::vector<std::string> labels;
};

// Chooses about `n_ticks_target` ticks inside [low, high] at whole multiples of a step of 1, 2,
// 2.5 or 5 times a power of ten. Throws std::invalid_argument unless low < high and both are
// finite.
AxisTicks choose_ticks(double low, double high, int n_ticks_target);

// Returns the number of decimals that shows a step between labels: the fewest that print the
// step exactly, or else the fewest that resolve it into at least five units of the last digit.
int decimals_for_step(double step);

// Formats `value` with `decimals` digits after the point, printing a negative zero as "0".
std::string format_tick(double value, int decimals);

}  // namespace lsi
