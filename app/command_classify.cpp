// `lsi-cuda classify`: LeNet-5 predictions for an IDX file of digits, and the accuracy.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/default_paths.h"
#include "engine/idx.h"
#include "app/make_backend.h"

namespace lsi {

namespace {

struct ClassifyOptions {
  std::string classifier;
  std::string images_path;
  std::string labels_path;
  std::string device = "auto";
  bool quiet = false;
};

void run_classify(const ClassifyOptions& options) {
  const IdxArray images = read_idx(options.images_path);
  if (images.shape.size() != 3 || images.shape[1] != kImageSide || images.shape[2] != kImageSide) {
    throw std::runtime_error(options.images_path + ": expected images of shape N x 28 x 28");
  }
  const int n_images = static_cast<int>(images.shape[0]);

  IdxArray labels;
  if (!options.labels_path.empty()) {
    labels = read_idx(options.labels_path);
    if (labels.shape.size() != 1 || labels.shape[0] != n_images) {
      throw std::runtime_error(options.labels_path + ": expected " + std::to_string(n_images) +
                               " labels, one per image");
    }
  }

  std::vector<float> images01(images.values.size());
  for (size_t i = 0; i < images01.size(); ++i) images01[i] = images.values[i] / 255.0f;
  std::vector<float> log_probs(static_cast<size_t>(n_images) * kClasses);
  WeightPaths paths;
  paths.lenet5 = options.classifier;
  std::unique_ptr<Backend> backend = make_backend(options.device, paths);
  backend->classify(images01.data(), n_images, log_probs.data());

  int n_right = 0;
  for (int i = 0; i < n_images; ++i) {
    const float* row = log_probs.data() + static_cast<size_t>(i) * kClasses;
    int predicted = 0;
    for (int k = 1; k < kClasses; ++k) {
      if (row[k] > row[predicted]) predicted = k;
    }
    const bool labelled = !labels.values.empty();
    if (labelled && predicted == labels.values[i]) ++n_right;
    if (options.quiet) continue;
    if (labelled) {
      std::printf("%d %d label %d\n", i, predicted, labels.values[i]);
    } else {
      std::printf("%d %d\n", i, predicted);
    }
  }
  if (!labels.values.empty()) {
    std::printf("accuracy: %.4f (%d/%d)\n", static_cast<double>(n_right) / n_images, n_right,
                n_images);
  }
}

}  // namespace

void add_classify_command(CLI::App& app) {
  auto options = std::make_shared<ClassifyOptions>();
  options->classifier = default_weights_dir() + "/lenet5.safetensors";
  CLI::App* cmd = app.add_subcommand(
      "classify", "Classify MNIST digits with LeNet-5: one line 'index prediction' per image");
  cmd->add_option("--classifier", options->classifier, "LeNet-5 weight file (.safetensors)")
      ->capture_default_str()
      ->check(CLI::ExistingFile);
  cmd->add_option("--images", options->images_path, "IDX file of 28x28 digits, plain or .gz")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--labels", options->labels_path,
                  "IDX file of labels; prints the accuracy as the last line")
      ->check(CLI::ExistingFile);
  cmd->add_option("--device", options->device, "cpu, cuda, or auto (the GPU when usable)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_flag("-q,--quiet", options->quiet, "print only the accuracy line");
  cmd->callback([options] { run_classify(*options); });
}

}  // namespace lsi
