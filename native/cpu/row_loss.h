// Loss kernels compute one loss per row in parallel, then total them here in
// row order, so the returned sum does not depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

namespace imix::cpu {

// Σ_i row_loss[i] in double; copies each row's loss to `losses` when given.
inline double sum_row_losses(const std::vector<double>& row_loss, float* losses) {
  double total = 0.0;
  for (std::size_t i = 0; i < row_loss.size(); ++i) {
    total += row_loss[i];
    if (losses) losses[i] = (float)row_loss[i];
  }
  return total;
}

}  // namespace imix::cpu
