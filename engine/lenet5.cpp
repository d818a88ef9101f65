// LeNet-5 on the CPU: direct convolutions written so that the compiler vectorises them (conv1
// across a row of 24 outputs, conv2 across its 16 output channels), then batched products for the
// three linear layers.
#include "engine/lenet5.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lsi {

namespace {

constexpr int kSide = 28;
constexpr int kKernel = 5;
constexpr int kTaps = kKernel * kKernel;
constexpr int kConv1Out = 6;
constexpr int kConv1Side = 24;  // 28 - 5 + 1
constexpr int kPool1Side = 12;
constexpr int kConv2Out = 16;
constexpr int kConv2Side = 8;   // 12 - 5 + 1
constexpr int kPool2Side = 4;
constexpr int kPool2Cells = kPool2Side * kPool2Side;
constexpr int kFlat = kConv2Out * kPool2Cells;  // 256

float max4(float a, float b, float c, float d) { return std::max(std::max(a, b), std::max(c, d)); }

// SIMD vectors through GCC's and Clang's vector extensions: one AVX-512 or two AVX2 registers
// for 16 floats, one AVX2 register for 8, whatever the build targets.
typedef float Float16 __attribute__((vector_size(64)));
typedef float Float8 __attribute__((vector_size(32)));

template <typename Vector>
Vector load_vector(const float* p) {
  Vector v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename Vector>
void store_vector(float* p, Vector v) {
  std::memcpy(p, &v, sizeof v);
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
  net.conv1_weight_ = file.values("0.weight");
  net.conv1_bias_ = file.values("0.bias");
  net.conv2_bias_ = file.values("3.bias");

  // conv2: PyTorch's (out, in, ky, kx) becomes (in, ky, kx) x out.
  const std::vector<float>& conv2 = file.values("3.weight");
  const int n_conv2_taps = kConv1Out * kTaps;
  net.conv2_weight_.resize(conv2.size());
  for (int out = 0; out < kConv2Out; ++out) {
    for (int k = 0; k < n_conv2_taps; ++k) {
      net.conv2_weight_[k * kConv2Out + out] = conv2[out * n_conv2_taps + k];
    }
  }

  // fc1 reads PyTorch's flatten order (channel, y, x); we produce (y, x, channel).
  const Linear fc1 = Linear::from_file(file, "7");
  net.fc1_ = fc1;
  for (int c = 0; c < kConv2Out; ++c) {
    for (int cell = 0; cell < kPool2Cells; ++cell) {
      net.fc1_.weight_t.row(cell * kConv2Out + c) = fc1.weight_t.row(c * kPool2Cells + cell);
    }
  }
  net.fc2_ = Linear::from_file(file, "9");
  net.fc3_ = Linear::from_file(file, "11");
  net.sha256_ = file.sha256();
  return net;
}

void LeNet5::convolve(const float* image, float* features) const {
  // Convolution 1 with its bias, one output row of 24 (three vectors of 8) at a time, then 2x2
  // max pool and ReLU.
  static_assert(kConv1Side == 3 * 8, "conv1 rows are three vectors of 8");
  float pooled1[kConv1Out][kPool1Side][kPool1Side];
  for (int c = 0; c < kConv1Out; ++c) {
    const float* w = conv1_weight_.data() + c * kTaps;
    float rows[2][kConv1Side];
    for (int y = 0; y < kConv1Side; ++y) {
      Float8 acc0 = Float8{} + conv1_bias_[c];
      Float8 acc1 = acc0;
      Float8 acc2 = acc0;
      for (int ky = 0; ky < kKernel; ++ky) {
        const float* in = image + (y + ky) * kSide;
        for (int kx = 0; kx < kKernel; ++kx) {
          const float weight = w[ky * kKernel + kx];
          acc0 += weight * load_vector<Float8>(in + kx);
          acc1 += weight * load_vector<Float8>(in + kx + 8);
          acc2 += weight * load_vector<Float8>(in + kx + 16);
        }
      }
      float* row = rows[y % 2];
      store_vector(row, acc0);
      store_vector(row + 8, acc1);
      store_vector(row + 16, acc2);
      if (y % 2 == 0) continue;
      for (int x = 0; x < kPool1Side; ++x) {
        const float m =
            max4(rows[0][2 * x], rows[0][2 * x + 1], rows[1][2 * x], rows[1][2 * x + 1]);
        pooled1[c][y / 2][x] = std::max(m, 0.0f);
      }
    }
  }

  // Convolution 2 with its bias, the 16 output channels of one position as one vector.
  static_assert(kConv2Out == 16, "conv2's outputs are one vector of 16");
  const Float16 bias2 = load_vector<Float16>(conv2_bias_.data());
  float conv2[kConv2Side * kConv2Side][kConv2Out];
  for (int y = 0; y < kConv2Side; ++y) {
    for (int x = 0; x < kConv2Side; ++x) {
      Float16 acc = bias2;
      const float* w = conv2_weight_.data();
      for (int c = 0; c < kConv1Out; ++c) {
        for (int ky = 0; ky < kKernel; ++ky) {
          for (int kx = 0; kx < kKernel; ++kx) {
            acc += pooled1[c][y + ky][x + kx] * load_vector<Float16>(w);
            w += kConv2Out;
          }
        }
      }
      store_vector(conv2[y * kConv2Side + x], acc);
    }
  }

  // 2x2 max pool and ReLU into (y, x, channel) order.
  for (int y = 0; y < kPool2Side; ++y) {
    for (int x = 0; x < kPool2Side; ++x) {
      const float* a = conv2[(2 * y) * kConv2Side + 2 * x];
      const float* b = a + kConv2Out;
      const float* c = a + kConv2Side * kConv2Out;
      const float* d = c + kConv2Out;
      float* out = features + (y * kPool2Side + x) * kConv2Out;
      for (int o = 0; o < kConv2Out; ++o) out[o] = std::max(max4(a[o], b[o], c[o], d[o]), 0.0f);
    }
  }
}

void LeNet5::forward(const Eigen::Ref<const RowMatrix>& normalized, RowMatrix& log_probs,
                     Workspace& workspace) const {
  const auto n_batch = normalized.rows();

  // Convolutions, image by image.
  workspace.features.resize(n_batch, kFlat);
  for (Eigen::Index b = 0; b < n_batch; ++b) {
    convolve(normalized.row(b).data(), workspace.features.row(b).data());
  }

  // Classifier head and a numerically stable log-softmax.
  fc1_.forward_relu(workspace.features, workspace.hidden1);
  fc2_.forward_relu(workspace.hidden1, workspace.hidden2);
  fc3_.forward(workspace.hidden2, log_probs);
  for (Eigen::Index b = 0; b < n_batch; ++b) {
    const float max_logit = log_probs.row(b).maxCoeff();
    const float log_sum = std::log((log_probs.row(b).array() - max_logit).exp().sum());
    log_probs.row(b).array() -= max_logit + log_sum;
  }
}

void LeNet5::forward(const Eigen::Ref<const RowMatrix>& normalized, RowMatrix& log_probs) const {
  Workspace workspace;
  forward(normalized, log_probs, workspace);
}

}  // namespace lsi
