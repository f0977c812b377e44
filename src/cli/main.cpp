// rpbtool's front end: wires the subcommands, parses, and is the one place that turns
// errors into messages and exit statuses (0 success, 1 run-time failure, 2 usage error).
#include "commands.hpp"
#include "rpb/cpu.hpp"
#include "rpb/error.hpp"
#include "rpb/output_file.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <new>
#include <string>

namespace {

constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

// One line, starting lower case, as every rpbtool message does.
std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ') {
        text.pop_back();
    }
    if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' &&
        !(text.size() > 1 && text[1] >= 'A' && text[1] <= 'Z')) {
        text[0] = static_cast<char>(text[0] - 'A' + 'a');
    }
    return text;
}

int report(const std::string& message, int status) {
    fmt::print(stderr, "rpbtool: error: {}\n", one_line(message));
    return status;
}

// Without a recognised command, the first word that is not an option was meant as one.
std::string unknown_command(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (argv[i][0] != '-') {
            return fmt::format("unknown command '{}': expected bucket, bias, attn, visualize, "
                               "inspect, resize, train "
                               "or eval "
                               "(see rpbtool --help)",
                               argv[i]);
        }
    }
    return "no command given: expected bucket, bias, attn, visualize, inspect, resize, train or "
           "eval (see rpbtool --help)";
}

const char* const footer = R"(Examples:
  rpbtool bucket --summary                        which distances share each T5 bucket
  rpbtool bucket --qlen 10 -o map.json            the 10x10 T5 bucket map as JSON
  rpbtool bucket --window 7x7 -o swin.npy         Swin 7x7 index map as NPY
  rpbtool bucket --config samples/beit_14x14_cls.toml --summary
  rpbtool bias --qlen 512 --heads 12 -o bias.npy  (12, 512, 512) T5 bias, fresh table
  rpbtool attn --window 7x7 --embed-dim 96 --heads 3 -o out.npy
  rpbtool visualize --type 2d --window 7x7 -o swin.png
  rpbtool inspect model.safetensors               every relative position bias of a checkpoint
  rpbtool resize --checkpoint swin.safetensors --to 12x12 -o swin12.safetensors
  rpbtool train                                   the ViT recipe on Fashion-MNIST into runs/vit-rpb-2d
  rpbtool eval --model runs/vit-rpb-2d/model.safetensors

Exit status: 0 success, 1 run-time failure (bad input file, I/O error), 2 usage error;
train stopped by SIGINT/SIGTERM with its state saved: 130/143.
Reference: docs/cli.md (every command, option, default, output format and exit status),
also as the man page rpbtool(1); rpbtool COMMAND --help for one command.)";

// Each command's own help: where its full description is, and its exit statuses.
std::string command_footer(const std::string& name) {
    std::string text = fmt::format("Reference: docs/cli.md, section \"rpbtool {}\", and man "
                                   "rpbtool.\nExit status: 0 success, 1 run-time failure, 2 "
                                   "usage error",
                                   name);
    if (name == "train") {
        text += "; 130 (SIGINT) or 143 (SIGTERM): stopped with the state saved, continue with "
                "--resume";
    }
    return text + ".";
}

} // namespace

int main(int argc, char** argv) {
    // A closed pipe (`| head`) must surface as EPIPE on write, ending quietly, not as a signal.
    std::signal(SIGPIPE, SIG_IGN);

    CLI::App app{"rpbtool: relative position bias (T5, Swin, BEiT) — bucket maps, bias "
                 "tensors, attention and heatmaps, exactly as the published models compute "
                 "them.",
                 "rpbtool"};
    app.set_version_flag("--version", [] {
        return fmt::format("rpbtool {} (kernel path: {})", RPB_VERSION, rpb::kernel_path_name());
    });
    app.set_config("--config", "",
                   "TOML file with the same option names: global options at the top level, "
                   "[bucket], [bias], ... sections per command; the command line overrides it");
    app.require_subcommand(1, 1);
    app.footer(footer);
    app.allow_config_extras(false); // a misspelt key in --config is an error, not ignored
    // clang-format off
    const std::map<std::string, rpb::cli::Runner> runners = {
        {"bucket", rpb::cli::setup_bucket(app)},
        {"bias", rpb::cli::setup_bias(app)},
        {"attn", rpb::cli::setup_attn(app)},
        {"visualize", rpb::cli::setup_visualize(app)},
        {"inspect", rpb::cli::setup_inspect(app)},
        {"resize", rpb::cli::setup_resize(app)},
        {"train", rpb::cli::setup_train(app)},
        {"eval", rpb::cli::setup_eval(app)},
    };
    // clang-format on
    // Set after the commands exist: they copy the parent's footer when created.
    for (CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
        command->footer(command_footer(command->get_name()));
    }

    try {
        app.parse(argc, argv);
        // A bad RPB_KERNEL_PATH is a usage error of every command, reported before it runs.
        rpb::kernel_path();
        // With --config, CLI11 2.1 can list the selected command more than once.
        runners.at(app.get_subcommands().at(0)->get_name())();
        return 0;
    } catch (const CLI::FileError&) {
        // CLI11 raises this only for the --config file.
        return report(
            fmt::format("cannot read --config file '{}'", app.get_config_ptr()->as<std::string>()),
            exit_runtime);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ExtrasError& e) {
        if (app.get_subcommands().empty()) {
            return report(unknown_command(argc, argv), exit_usage);
        }
        return report(std::string(e.what()) + " (see rpbtool --help)", exit_usage);
    } catch (const CLI::RequiredError& e) {
        if (app.get_subcommands().empty()) {
            return report(unknown_command(argc, argv), exit_usage);
        }
        return report(e.what(), exit_usage);
    } catch (const CLI::ConfigError& e) {
        return report(
            fmt::format("--config {}: {}", app.get_config_ptr()->as<std::string>(), e.what()),
            exit_usage);
    } catch (const CLI::ParseError& e) {
        return report(e.what(), exit_usage);
    } catch (const rpb::UsageError& e) {
        return report(e.what(), exit_usage);
    } catch (const rpb::Error& e) {
        return report(e.what(), exit_runtime);
    } catch (const rpb::BrokenPipe&) {
        return 0; // the reader has all it wanted
    } catch (const std::bad_alloc&) {
        return report("out of memory", exit_runtime);
    } catch (const std::exception& e) {
        return report(e.what(), exit_runtime);
    }
}
