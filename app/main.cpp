// lsi-cuda: latent space illumination of an MNIST GAN, on the CPU or a CUDA GPU.
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "app/cpu_check.h"

int main(int argc, char** argv) {
  const std::string missing = lsi::missing_cpu_features();
  if (!missing.empty()) {
    std::cerr << "lsi-cuda: error: " << missing << "\n";
    return 1;
  }

  CLI::App app{"lsi-cuda: latent space illumination of an MNIST GAN with CMA-ME"};
  app.set_version_flag("--version", "lsi-cuda " LSI_VERSION);
  app.require_subcommand(1);

  lsi::add_run_command(app);
  lsi::add_bench_command(app);
  lsi::add_classify_command(app);
  lsi::add_inspect_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "lsi-cuda: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
