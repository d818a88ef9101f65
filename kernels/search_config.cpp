// Checks of a device search's configuration.
#include "kernels/search_config.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/backend.h"

namespace lsi {

void DeviceSearchConfig::validate() const {
  const auto require = [](bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument("DeviceSearchConfig: " + message);
  };
  require(n_emitters >= 1, "n_emitters must be at least 1, got " + std::to_string(n_emitters));
  require(batch_size >= 2, "batch_size must be at least 2, got " + std::to_string(batch_size));
  // Each emitter's batch takes batch_size * 128 / 2 Philox blocks, so no normal draw is left
  // over between iterations as it can be on the CPU for odd sizes.
  require((static_cast<long long>(batch_size) * kLatentDim) % 2 == 0,
          "batch_size * latent size must be even");
  require(std::isfinite(sigma0) && sigma0 > 0.0,
          "sigma0 must be positive and finite, got " + std::to_string(sigma0));
  require(eigen_delay_iterations >= 1 && eigen_delay_iterations <= 64,
          "eigen_delay_iterations must be in 1..64, got " +
              std::to_string(eigen_delay_iterations));
  require(digit >= 0 && digit <= 9, "digit must be in 0..9, got " + std::to_string(digit));
  for (int i = 0; i < 2; ++i) {
    require(n_cells[i] >= 1, "n_cells must be positive");
    require(std::isfinite(lower[i]) && std::isfinite(upper[i]) && lower[i] < upper[i],
            "each measure range must be finite with lower < upper");
  }
  // Batch row indices go into the low 32 bits of the archive's winner keys, and cells fit int.
  const long long n_rows = static_cast<long long>(n_emitters) * batch_size;
  require(n_rows <= (1LL << 24), "n_emitters * batch_size must be at most 2^24, got " +
                                     std::to_string(n_rows));
  require(static_cast<long long>(n_cells[0]) * n_cells[1] <= (1LL << 30),
          "the archive may have at most 2^30 cells");
}

}  // namespace lsi
