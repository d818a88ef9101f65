// Row-major Eigen matrix aliases shared by the quality-diversity library.
//
// Batches are stored one solution per row, so a (B x S) matrix contains B solutions of S values
// and each row is contiguous in memory, as the network code expects its latent batch.
#pragma once

#include <Eigen/Core>

namespace lsi::qd {

using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace lsi::qd
