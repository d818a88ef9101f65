// The matrix types of the CPU engine: row-major single precision, one row per batch item.
#pragma once

#include <Eigen/Core>

namespace lsi {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixMap = Eigen::Map<RowMatrix>;
using ConstRowMatrixMap = Eigen::Map<const RowMatrix>;

}  // namespace lsi
