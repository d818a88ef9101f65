// LeNet-5 on Eigen: each convolution is an im2col matrix times the kernel matrix.
#include "engine/lenet5.h"

#include <algorithm>
#include <cmath>

namespace lsi {

namespace {

constexpr int kKernel = 5;
constexpr int kConv1Out = 6;
constexpr int kConv1Side = 24;  // 28 - 5 + 1
constexpr int kPool1Side = 12;
constexpr int kConv2Out = 16;
constexpr int kConv2Side = 8;   // 12 - 5 + 1
constexpr int kPool2Side = 4;
constexpr int kFlat = kConv2Out * kPool2Side * kPool2Side;  // 256

// Reads a PyTorch conv weight (out x in x 5 x 5) as a (in*25) x out matrix.
RowMatrix conv_weight_t(const std::vector<float>& weight, int n_out) {
  const auto n_cols = static_cast<Eigen::Index>(weight.size()) / n_out;
  return ConstRowMatrixMap(weight.data(), n_out, n_cols).transpose();
}

// Max-pools 2x2 then applies ReLU. in: (B * side * side) x C rows in (b, y, x) order.
// out: (B * side/2 * side/2) x C rows in the same order.
void max_pool_relu(const RowMatrix& in, int n_batch, int side, RowMatrix& out) {
  const int half = side / 2;
  const auto n_channels = in.cols();
  out.resize(static_cast<Eigen::Index>(n_batch) * half * half, n_channels);
  for (int b = 0; b < n_batch; ++b) {
    for (int y = 0; y < half; ++y) {
      for (int x = 0; x < half; ++x) {
        const Eigen::Index top = (static_cast<Eigen::Index>(b) * side + 2 * y) * side + 2 * x;
        const Eigen::Index bottom = top + side;
        auto pooled = in.row(top).cwiseMax(in.row(top + 1))
                          .cwiseMax(in.row(bottom).cwiseMax(in.row(bottom + 1)));
        out.row((static_cast<Eigen::Index>(b) * half + y) * half + x) = pooled.cwiseMax(0.0f);
      }
    }
  }
}

}  // namespace

std::vector<TensorSpec> LeNet5::specs() {
  std::vector<TensorSpec> all = {
      {"0.weight", {kConv1Out, 1, kKernel, kKernel}}, {"0.bias", {kConv1Out}},
      {"3.weight", {kConv2Out, kConv1Out, kKernel, kKernel}}, {"3.bias", {kConv2Out}}};
  for (const auto& layer : {Linear::specs("7", kFlat, 120), Linear::specs("9", 120, 84),
                            Linear::specs("11", 84, 10)}) {
    all.insert(all.end(), layer.begin(), layer.end());
  }
  return all;
}

LeNet5 LeNet5::load(const std::string& path) {
  const WeightFile file = WeightFile::load(path, specs());
  LeNet5 net;
  net.conv1_weight_t_ = conv_weight_t(file.values("0.weight"), kConv1Out);
  net.conv1_bias_ = Eigen::Map<const Eigen::RowVectorXf>(file.values("0.bias").data(), kConv1Out);
  net.conv2_weight_t_ = conv_weight_t(file.values("3.weight"), kConv2Out);
  net.conv2_bias_ = Eigen::Map<const Eigen::RowVectorXf>(file.values("3.bias").data(), kConv2Out);
  net.fc1_ = Linear::from_file(file, "7");
  net.fc2_ = Linear::from_file(file, "9");
  net.fc3_ = Linear::from_file(file, "11");
  net.sha256_ = file.sha256();
  return net;
}

void LeNet5::forward(const Eigen::Ref<const RowMatrix>& normalized, RowMatrix& log_probs) const {
  const int n_batch = static_cast<int>(normalized.rows());
  const int n_patch1 = kConv1Side * kConv1Side;
  const int n_patch2 = kConv2Side * kConv2Side;

  // Convolution 1: one row of 25 pixels per output position.
  RowMatrix patches1(static_cast<Eigen::Index>(n_batch) * n_patch1, kKernel * kKernel);
  for (int b = 0; b < n_batch; ++b) {
    for (int y = 0; y < kConv1Side; ++y) {
      for (int x = 0; x < kConv1Side; ++x) {
        float* row = patches1.row((static_cast<Eigen::Index>(b) * kConv1Side + y) * kConv1Side + x)
                         .data();
        for (int ky = 0; ky < kKernel; ++ky) {
          for (int kx = 0; kx < kKernel; ++kx) {
            row[ky * kKernel + kx] = normalized(b, (y + ky) * 28 + x + kx);
          }
        }
      }
    }
  }
  RowMatrix conv1 = patches1 * conv1_weight_t_;
  conv1.rowwise() += conv1_bias_;
  RowMatrix pool1;
  max_pool_relu(conv1, n_batch, kConv1Side, pool1);

  // Convolution 2: one row of 6 x 25 values per output position, channel-major as PyTorch.
  RowMatrix patches2(static_cast<Eigen::Index>(n_batch) * n_patch2,
                     kConv1Out * kKernel * kKernel);
  for (int b = 0; b < n_batch; ++b) {
    for (int y = 0; y < kConv2Side; ++y) {
      for (int x = 0; x < kConv2Side; ++x) {
        float* row = patches2.row((static_cast<Eigen::Index>(b) * kConv2Side + y) * kConv2Side + x)
                         .data();
        for (int c = 0; c < kConv1Out; ++c) {
          for (int ky = 0; ky < kKernel; ++ky) {
            for (int kx = 0; kx < kKernel; ++kx) {
              const Eigen::Index src = (static_cast<Eigen::Index>(b) * kPool1Side + y + ky) *
                                           kPool1Side + x + kx;
              row[(c * kKernel + ky) * kKernel + kx] = pool1(src, c);
            }
          }
        }
      }
    }
  }
  RowMatrix conv2 = patches2 * conv2_weight_t_;
  conv2.rowwise() += conv2_bias_;
  RowMatrix pool2;
  max_pool_relu(conv2, n_batch, kConv2Side, pool2);

  // Flatten in PyTorch's (channel, y, x) order.
  RowMatrix flat(n_batch, kFlat);
  const int n_pool2 = kPool2Side * kPool2Side;
  for (int b = 0; b < n_batch; ++b) {
    for (int p = 0; p < n_pool2; ++p) {
      for (int c = 0; c < kConv2Out; ++c) {
        flat(b, c * n_pool2 + p) = pool2(static_cast<Eigen::Index>(b) * n_pool2 + p, c);
      }
    }
  }

  // Classifier head and a numerically stable log-softmax.
  RowMatrix hidden1;
  RowMatrix hidden2;
  fc1_.forward(flat, hidden1);
  relu_inplace(hidden1);
  fc2_.forward(hidden1, hidden2);
  relu_inplace(hidden2);
  fc3_.forward(hidden2, log_probs);
  for (int b = 0; b < n_batch; ++b) {
    const float max_logit = log_probs.row(b).maxCoeff();
    const float log_sum = std::log((log_probs.row(b).array() - max_logit).exp().sum());
    log_probs.row(b).array() -= max_logit + log_sum;
  }
}

}  // namespace lsi
