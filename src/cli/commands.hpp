// One function per subcommand: adds it to the app with its options and returns what runs
// it once parsing is complete. (Not a CLI11 callback: with --config, CLI11 2.1 fires
// subcommand callbacks more than once.)
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace rpb::cli {

using Runner = std::function<void()>;

Runner setup_bucket(CLI::App& app);
Runner setup_bias(CLI::App& app);
Runner setup_attn(CLI::App& app);
Runner setup_visualize(CLI::App& app);
Runner setup_train(CLI::App& app);
Runner setup_eval(CLI::App& app);
Runner setup_inspect(CLI::App& app);
Runner setup_resize(CLI::App& app);

} // namespace rpb::cli
