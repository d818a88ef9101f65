// `lsi-cuda run`: the pyribs MNIST tutorial's CMA-ME search, with results and pictures.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/default_paths.h"
#include "app/interrupt.h"
#include "app/make_backend.h"
#include "app/progress_display.h"
#include "app/run_config.h"
#include "app/run_output.h"
#include "app/search.h"
#include "engine/safetensors.h"

namespace lsi {

namespace {

// Bumped when the layout of summary.json or archive.csv changes.
constexpr int kResultsFormatVersion = 1;

nlohmann::json config_json(const RunConfig& c, const std::string& device_used) {
  return {{"digit", c.digit},
          {"iterations", c.n_iterations},
          {"emitters", c.n_emitters},
          {"batch_size", c.batch_size},
          {"sigma0", c.sigma0},
          {"ranker", c.ranker},
          {"cells", {c.n_cells_boldness, c.n_cells_lightness}},
          {"measure_ranges",
           {{RunConfig::kBoldnessLow, RunConfig::kBoldnessHigh},
            {RunConfig::kLightnessLow, RunConfig::kLightnessHigh}}},
          {"seed", c.seed},
          {"device_requested", c.device},
          {"device", device_used},
          {"weights_dir", c.weights_dir}};
}

void run_search_command(RunConfig config) {
  config.validate();

  // Load everything before creating the output folder, so a bad input leaves nothing behind.
  const WeightPaths paths = WeightPaths::in_folder(config.weights_dir);
  std::unique_ptr<Backend> backend = make_backend(config.device, paths);
  nlohmann::json checksums;
  for (const auto& [name, path] : {std::pair{"generator", paths.generator},
                                   std::pair{"discriminator", paths.discriminator},
                                   std::pair{"lenet5", paths.lenet5}}) {
    checksums[name] = WeightFile::load(path).sha256();
  }
  std::unique_ptr<Search> search = make_search(config, *backend, paths);
  const std::string out_dir = create_output_dir(config.out_dir);
  std::fprintf(stderr,
               "lsi-cuda run: digit %d, %lld iterations of %d x %d, search on %s, evaluator on "
               "%s, seed %llu\n",
               config.digit, static_cast<long long>(config.n_iterations), config.n_emitters,
               config.batch_size, search->device().c_str(), backend->name().c_str(),
               static_cast<unsigned long long>(config.seed));
  std::fprintf(stderr, "writing results to %s/\n", out_dir.c_str());

  // The search, with progress on stderr; Ctrl-C stops it after the current iteration.
  install_interrupt_handler();
  ProgressDisplay display;
  const SearchOutcome outcome = search->run(
      interrupt_requested, [&](std::int64_t iteration, double elapsed_s) {
        // The archive's statistics cost a pass over its elites, so only when they are shown.
        const bool last = iteration == config.n_iterations;
        if (!display.is_due(elapsed_s, last)) return;
        const ProgressRow row = search->progress_row(elapsed_s);
        display.update({iteration, config.n_iterations, row.evaluations, elapsed_s, row.coverage,
                        row.qd_score},
                       last);
      });
  display.finish();

  // Results: the archive with its discriminator scores, the statistics, the pictures.
  const qd::GridArchive& archive = search->archive();
  const EliteImages elites = render_elites(archive, *backend, config.digit);
  write_archive_csv(out_dir + "/archive.csv", archive, elites);
  write_progress_csv(out_dir + "/progress.csv", outcome.progress);
  write_pictures(out_dir, archive, elites, config.digit);

  const qd::ArchiveStats stats = archive.stats();
  const double evals_per_second =
      outcome.elapsed_s > 0.0 ? outcome.evaluations / outcome.elapsed_s : 0.0;
  nlohmann::json summary = {
      {"format_version", kResultsFormatVersion},
      {"program_version", LSI_VERSION},
      {"evaluations", outcome.evaluations},
      {"seconds", outcome.elapsed_s},
      {"evals_per_second", evals_per_second},
      {"num_elites", stats.num_elites},
      {"coverage", stats.coverage},
      {"qd_score", stats.qd_score},
      {"obj_max", stats.num_elites > 0 ? nlohmann::json(stats.obj_max) : nlohmann::json()},
      {"obj_mean", stats.num_elites > 0 ? nlohmann::json(stats.obj_mean) : nlohmann::json()},
      {"restarts", search->total_restarts()},
      {"restarts_per_emitter", search->restarts_per_emitter()},
      {"rejected_non_finite", archive.rejected_non_finite()},
      {"iterations_done", outcome.iterations_done},
      {"interrupted", outcome.interrupted},
      {"evaluator_seconds", outcome.evaluator_s},
      {"search_device", search->device()},
      {"config", config_json(config, backend->name())},
      {"weights_sha256", checksums}};
  write_json(out_dir + "/summary.json", summary);

  std::printf("%s%lld iterations, %lld evaluations in %.1f s (%.0f evaluations/s)\n",
              outcome.interrupted ? "interrupted after " : "",
              static_cast<long long>(outcome.iterations_done),
              static_cast<long long>(outcome.evaluations), outcome.elapsed_s, evals_per_second);
  std::printf("elites %lld, coverage %.2f %%, QD score %.2f, best objective %.4f\n",
              static_cast<long long>(stats.num_elites), 100.0 * stats.coverage, stats.qd_score,
              stats.num_elites > 0 ? stats.obj_max : 0.0);
  std::printf("results in %s/: archive.csv summary.json progress.csv heatmap.png "
              "discriminator.png digits.png\n", out_dir.c_str());
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto config = std::make_shared<RunConfig>();
  config->weights_dir = default_weights_dir();
  CLI::App* cmd = app.add_subcommand(
      "run", "Search the GAN's latent space with CMA-ME (the pyribs MNIST tutorial's setup)");
  cmd->add_option("--digit", config->digit, "digit whose probability is the objective (0-9)")
      ->capture_default_str();
  cmd->add_option("--iterations", config->n_iterations, "ask/tell iterations")
      ->capture_default_str();
  cmd->add_option("--emitters", config->n_emitters, "number of improvement emitters")
      ->capture_default_str();
  cmd->add_option("--batch-size", config->batch_size, "latents each emitter samples per iteration")
      ->capture_default_str();
  cmd->add_option("--sigma0", config->sigma0, "initial CMA-ES step size")->capture_default_str();
  cmd->add_option("--ranker", config->ranker, "2imp (status, then improvement) or imp")
      ->capture_default_str();
  cmd->add_option("--cells", [config](const CLI::results_t& values) {
        // CLI11 reports a false return as "Could not convert" with the values given.
        return values.size() == 2 &&
               CLI::detail::lexical_cast(values[0], config->n_cells_boldness) &&
               CLI::detail::lexical_cast(values[1], config->n_cells_lightness);
      }, "archive cells along boldness and lightness")
      ->expected(2)
      ->type_name("INT INT")
      ->default_str("200 200");
  cmd->add_option("--seed", config->seed, "base random seed")->capture_default_str();
  cmd->add_option("--device", config->device, "cpu, cuda, or auto (the GPU when usable)")
      ->capture_default_str();
  cmd->add_option("--weights", config->weights_dir,
                  "folder with generator, discriminator and lenet5 .safetensors")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", config->out_dir,
                  "output folder (new or empty); default runs/<date-time>/");
  cmd->add_option("--progress-every", config->progress_every,
                  "iterations between rows of progress.csv")
      ->capture_default_str();
  cmd->callback([config] { run_search_command(*config); });
}

}  // namespace lsi
