// Loads the networks with the engine's loaders and copies them to the GPU.
#include "kernels/device_weights.h"

#include <algorithm>
#include <cstring>

#include "engine/discriminator.h"
#include "engine/generator.h"
#include "engine/lenet5.h"
#include "engine/safetensors.h"

namespace lsi {

namespace {

const std::string kWeightSuffix = ".weight";

// Copies `values` to the device with a stream-ordered copy. A copy from pageable memory returns
// once the values are staged, so the host vector may be freed right after.
DeviceBuffer<float> upload_values(const std::vector<float>& values, cudaStream_t stream) {
  DeviceBuffer<float> buffer(values.size());
  buffer.upload(values.data(), values.size(), stream);
  return buffer;
}

// Builds layer `prefix` from PyTorch's weight (out x in) and bias (out). bias_shift (out), when
// not empty, is added to the bias.
HostLinear host_linear(const WeightFile& file, const std::string& prefix,
                       const std::vector<double>& bias_shift = {}) {
  const std::vector<float>& weight = file.values(prefix + kWeightSuffix);
  HostLinear layer;
  layer.bias = file.values(prefix + ".bias");
  layer.n_out = static_cast<int>(layer.bias.size());
  layer.n_in = static_cast<int>(weight.size() / layer.bias.size());

  layer.weight_t.resize(weight.size());
  for (int o = 0; o < layer.n_out; ++o) {
    for (int i = 0; i < layer.n_in; ++i) {
      layer.weight_t[static_cast<size_t>(i) * layer.n_out + o] =
          weight[static_cast<size_t>(o) * layer.n_in + i];
    }
  }
  for (size_t o = 0; o < bias_shift.size(); ++o) {
    layer.bias[o] = static_cast<float>(layer.bias[o] + bias_shift[o]);
  }
  return layer;
}

DeviceLinear upload_linear(const HostLinear& host, cudaStream_t stream) {
  DeviceLinear layer;
  layer.n_in = host.n_in;
  layer.n_out = host.n_out;
  layer.weight_t = upload_values(host.weight_t, stream);
  layer.bias = upload_values(host.bias, stream);
  return layer;
}

// The prefixes of the linear layers in `specs`, in order: every "<prefix>.weight" of rank 2.
std::vector<std::string> linear_prefixes(const std::vector<TensorSpec>& specs) {
  std::vector<std::string> prefixes;
  for (const TensorSpec& spec : specs) {
    const std::string& name = spec.name;
    if (spec.shape.size() == 2 && name.size() > kWeightSuffix.size() &&
        name.compare(name.size() - kWeightSuffix.size(), kWeightSuffix.size(), kWeightSuffix) ==
            0) {
      prefixes.push_back(name.substr(0, name.size() - kWeightSuffix.size()));
    }
  }
  return prefixes;
}

// -(W 1) for PyTorch's weight (out x in), summed in double: the bias shift that lets the
// discriminator's first layer take x in [0, 1] in place of 2x - 1.
std::vector<double> negated_row_sums(const std::vector<float>& weight, int n_out) {
  const size_t n_in = weight.size() / n_out;
  std::vector<double> shift(n_out, 0.0);
  for (int o = 0; o < n_out; ++o) {
    for (size_t i = 0; i < n_in; ++i) shift[o] -= weight[o * n_in + i];
  }
  return shift;
}

template <size_t N>
void copy_into(float (&destination)[N], const std::vector<float>& values) {
  if (values.size() != N) {
    throw std::logic_error("upload_lenet5: a convolution tensor has " +
                           std::to_string(values.size()) + " values, expected " +
                           std::to_string(N));
  }
  std::copy(values.begin(), values.end(), destination);
}

}  // namespace

LeNet5LinearWeights HostLeNet5::linear_weights() const {
  return {fc1.weight_t.data(), fc1.bias.data(), fc2.weight_t.data(), fc2.bias.data(),
          fc3.weight_t.data(), fc3.bias.data()};
}

LeNet5LinearWeights DeviceLeNet5::linear_weights() const {
  return {fc1.weight_t.data(), fc1.bias.data(), fc2.weight_t.data(), fc2.bias.data(),
          fc3.weight_t.data(), fc3.bias.data()};
}

DeviceMlp upload_generator(const std::string& path, cudaStream_t stream) {
  const std::vector<TensorSpec> specs = Generator::specs();
  const WeightFile file = WeightFile::load(path, specs);
  DeviceMlp mlp;
  for (const std::string& prefix : linear_prefixes(specs)) {
    mlp.layers.push_back(upload_linear(host_linear(file, prefix), stream));
  }
  return mlp;
}

DeviceMlp upload_discriminator(const std::string& path, cudaStream_t stream) {
  const std::vector<TensorSpec> specs = Discriminator::specs();
  const WeightFile file = WeightFile::load(path, specs);
  const std::vector<std::string> prefixes = linear_prefixes(specs);
  DeviceMlp mlp;
  mlp.first_alpha = 2.0f;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    std::vector<double> bias_shift;
    if (i == 0) {
      const int n_out = static_cast<int>(file.values(prefixes[0] + ".bias").size());
      bias_shift = negated_row_sums(file.values(prefixes[0] + kWeightSuffix), n_out);
    }
    mlp.layers.push_back(upload_linear(host_linear(file, prefixes[i], bias_shift), stream));
  }
  return mlp;
}

HostLeNet5 load_lenet5_host(const std::string& path) {
  // The tensor names are LeNet5::specs()': convolutions 0 and 3, linear layers 7, 9 and 11.
  const WeightFile file = WeightFile::load(path, LeNet5::specs());
  HostLeNet5 net;
  net.conv.input_mean = kMnistMean;
  net.conv.input_std = kMnistStd;
  copy_into(net.conv.conv1_weight, file.values("0.weight"));
  copy_into(net.conv.conv1_bias, file.values("0.bias"));
  copy_into(net.conv.conv2_weight, file.values("3.weight"));
  copy_into(net.conv.conv2_bias, file.values("3.bias"));
  net.fc1 = host_linear(file, "7");
  net.fc2 = host_linear(file, "9");
  net.fc3 = host_linear(file, "11");
  return net;
}

DeviceLeNet5 upload_lenet5(const std::string& path, cudaStream_t stream) {
  const HostLeNet5 host = load_lenet5_host(path);
  DeviceLeNet5 net;
  net.conv = host.conv;
  net.fc1 = upload_linear(host.fc1, stream);
  net.fc2 = upload_linear(host.fc2, stream);
  net.fc3 = upload_linear(host.fc3, stream);
  return net;
}

}  // namespace lsi
