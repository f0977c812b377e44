// rpbtool visualize: one picture (PNG or SVG, the same layout) of what bucket, bias or attn
// computes with the same options, or of any .npy array; the panels, scales and views are
// chosen in the core (visualize.hpp), the layout in heatmap.hpp and line_plot.hpp.
// `-o fig.html` (--format html) writes a heatmap's panels as an interactive page
// (html_figure.hpp) instead.
#include "attn_options.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "rpb/dataset.hpp"
#include "rpb/error.hpp"
#include "rpb/figure.hpp"
#include "rpb/heatmap.hpp"
#include "rpb/html_figure.hpp"
#include "rpb/line_plot.hpp"
#include "rpb/npy.hpp"
#include "rpb/png.hpp"
#include "rpb/swin_v2.hpp"
#include "rpb/visualize.hpp"
#include "rpb/visualize_checkpoint.hpp"
#include "rpb/vit_pictures.hpp"
#include "table_options.hpp"

#include <charconv>
#include <cstdint>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <vector>

namespace rpb::cli {

namespace {

constexpr int max_cell_px = 256;
constexpr double min_dpi = 24;
constexpr double max_dpi = 600;
constexpr int64_t max_picture_side = 16384;

struct VisualizeOptions {
    AttnOptions attn; ///< scheme, table (--heads, --table, --seed, ...) and attention options
    std::string what; ///< empty: bias, or the --input array
    std::string view; ///< empty: the scheme's default
    std::string head = "all";
    std::string cmap;
    int cell = 0;
    std::string path = "-";
    std::string format; ///< png | svg | html; empty: from the extension of path, else png
    double dpi = 96;
    bool force = false;
    // A trained model (rpbtool train's model.safetensors)
    std::string model;
    int64_t layer = -1;
    int64_t image = 0;
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string checkpoint; ///< --checkpoint FILE: every table of it
    std::string range = "shared";
    bool page = false; ///< the output is an HTML page (set by run_visualize from the format)

    CLI::App* command = nullptr;
};

bool given(const VisualizeOptions& o, const char* name) {
    const CLI::Option* option = o.command->get_option_no_throw(name);
    return option != nullptr && option->count() > 0;
}

// Options that mean nothing for what is drawn are an error rather than silently ignored.
void reject_options(const VisualizeOptions& o, const std::vector<const char*>& names,
                    const std::string& context) {
    for (const char* name : names) {
        if (given(o, name)) {
            throw UsageError(fmt::format("{} does not apply to {}", name, context));
        }
    }
}

const std::vector<const char*> attention_only = {
    "--embed-dim", "--tokens", "--batch", "--weights", "--prefix", "--scale", "--save-weights"};
const std::vector<const char*> init_options = {"--init", "--std", "--cpb", "--pretrained-window"};
const std::vector<const char*> table_options = {"--heads", "--table", "--table-layout", "--seed"};
const std::vector<const char*> scheme_options = {"--type",   "--num-buckets", "--max-distance",
                                                 "--causal", "--qlen",        "--klen",
                                                 "--offset", "--window",      "--cls-token"};

std::optional<int64_t> parse_head(const std::string& text) {
    if (text == "all") {
        return std::nullopt;
    }
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        throw UsageError(
            fmt::format("--head {}: expected all or a head number counted from 0", text));
    }
    return value;
}

// --cell decides the reduction, so the sources that reduce as they stream take it first. A
// page embeds every cell, within its own bounds: reduced to those, not to the PNG's.
DrawSize draw_size(const VisualizeOptions& o) {
    DrawSize size;
    size.cell_px = given(o, "--cell") ? o.cell : 0;
    if (o.page) {
        const HtmlBounds page;
        size.max_panel_px = static_cast<int>(page.max_side);
        size.max_side_px = 1 << 20; // the page lays out its own grid
        size.max_cells = page.max_cells;
    }
    return size;
}

std::string table_source(const TableOptions& t) {
    if (!t.cpb.empty()) {
        return fmt::format("swin v2 cpb {}", t.cpb);
    }
    if (!t.table.empty()) {
        return fmt::format("table {}", t.table);
    }
    if (t.init == "zeros") {
        return "table zeros";
    }
    return fmt::format("table {} std {:g} seed {}", t.init, t.std, t.seed);
}

// A heatmap spec with --cmap and --cell applied, laid out.
Figure heatmap_with_options(const VisualizeOptions& o, HeatmapSpec spec) {
    if (!o.cmap.empty()) {
        spec.colormap = &find_colormap(o.cmap);
    }
    if (given(o, "--cell")) {
        spec.cell_px = o.cell;
    }
    return heatmap_figure(spec);
}

// --view distance draws lines, not cells.
Figure line_plot_with_options(const VisualizeOptions& o, const LineFigure& plot) {
    reject_options(o, {"--cmap", "--cell"},
                   "--view distance (a line plot: use --view strip for "
                   "the colour strip)");
    return line_plots_figure(plot);
}

enum class PictureFormat { png, svg, html };

// --format, else the extension of -o (.svg; .html or .htm in any case), else png.
PictureFormat picture_format(const VisualizeOptions& o) {
    std::string f = o.format;
    if (f.empty()) {
        std::string lower;
        for (const char c : o.path) {
            lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        f = lower.ends_with(".svg")                               ? "svg"
            : lower.ends_with(".html") || lower.ends_with(".htm") ? "html"
                                                                  : "png";
    }
    if (f == "png") {
        return PictureFormat::png;
    }
    if (f == "svg") {
        return PictureFormat::svg;
    }
    if (f == "html") {
        return PictureFormat::html;
    }
    throw UsageError(fmt::format("--format {}: expected png, svg or html", f));
}

// The figure at --dpi (96 = one pixel per figure unit), bounded before drawing.
std::string picture_bytes(const Figure& figure, PictureFormat format, double dpi) {
    const double scale = dpi / 96.0;
    const auto [w, h] = pixel_size(figure, scale);
    if (w > max_picture_side || h > max_picture_side) {
        throw UsageError(fmt::format("the picture at --dpi {:g} would be {}x{} pixels, more than "
                                     "{} per side: use a lower --dpi",
                                     dpi, w, h, max_picture_side));
    }
    return format == PictureFormat::svg ? write_svg(figure, scale)
                                        : encode_png(rasterize(figure, scale), dpi);
}

// A heatmap in the chosen format: laid out (PNG, SVG), or the page of its panels with what
// their cells stand for.
std::string heatmap_bytes(const VisualizeOptions& o, HeatmapSpec spec, const CellMeaning& cells,
                          PictureFormat format) {
    if (format != PictureFormat::html) {
        return picture_bytes(heatmap_with_options(o, std::move(spec)), format, o.dpi);
    }
    if (!o.cmap.empty()) {
        spec.colormap = &find_colormap(o.cmap);
    }
    return html_page(spec, cells);
}

std::string line_plot_bytes(const VisualizeOptions& o, const LineFigure& plot,
                            PictureFormat format) {
    if (format == PictureFormat::html) {
        throw UsageError("--view distance is a line plot, which has no interactive page: write "
                         "it as PNG or SVG, or use --view strip for a page of the same values");
    }
    return picture_bytes(line_plot_with_options(o, plot), format, o.dpi);
}

// The bias needs the table's heads to check --head: resolve_table gives them.
std::string bias_picture(const VisualizeOptions& o, std::optional<int64_t> head,
                         PictureFormat format) {
    reject_options(o, attention_only, "--what bias");
    const Scheme scheme = scheme_for_table(o.attn.table, o.attn.scheme);
    const BiasView view = o.view.empty() ? default_bias_view(scheme) : parse_bias_view(o.view);
    const FloatTensor table = resolve_table(o.attn.table, scheme);
    if (view == BiasView::distance) {
        return line_plot_bytes(
            o, bias_distance_plot(scheme, table, head, table_source(o.attn.table)), format);
    }
    CellMeaning cells;
    HeatmapSpec spec =
        bias_heatmap(scheme, table, view, head, table_source(o.attn.table), draw_size(o), &cells);
    return heatmap_bytes(o, std::move(spec), cells, format);
}

HeatmapSpec bucket_spec(const VisualizeOptions& o, std::optional<int64_t> head,
                        CellMeaning* cells) {
    reject_options(o, attention_only, "--what bucket");
    reject_options(o, init_options, "--what bucket");
    reject_options(o, table_options, "--what bucket");
    if (!o.view.empty() && o.view != "matrix") {
        throw UsageError(fmt::format("--view {} draws a bias: with --what bucket only matrix "
                                     "is accepted",
                                     o.view));
    }
    check_head(head, 1);
    return bucket_heatmap(make_scheme(o.attn.scheme), draw_size(o), cells);
}

HeatmapSpec attn_spec(const VisualizeOptions& o, std::optional<int64_t> head, CellMeaning* cells) {
    reject_options(o, init_options, "--what attn (a fresh table comes with the fresh weights)");
    if (!o.view.empty() && o.view != "matrix") {
        throw UsageError(fmt::format("--view {} draws a bias: with --what attn only matrix "
                                     "is accepted",
                                     o.view));
    }
    // Only batch 0 is drawn: its rows are computed a few query blocks at a time and reduced as
    // they arrive, so that a layer of any length is drawn in memory bounded by the picture.
    const AttnSetup run = prepare_attention(o.attn, InputReading::whole);
    const EntryIndex index(run.scheme);
    const ProbabilitySource rows = [&](const std::vector<int64_t>& heads,
                                       const ProbabilityRows& sink) {
        if (run.logit_scale) {
            swin_v2_probabilities(run.x, run.weights, *run.logit_scale, index, run.config, heads,
                                  sink);
        } else {
            attention_probabilities(run.x, run.weights, index, run.config, heads, sink);
        }
    };
    const std::string weights = o.attn.weights.empty()
                                    ? fmt::format("seeded weights, seed {}", o.attn.table.seed)
                                    : fmt::format("weights {}", o.attn.weights);
    const std::string input = o.attn.input.empty() ? "random input" : "input " + o.attn.input;
    const int64_t n = run.scheme.num_queries();
    return attention_heatmap(rows, run.heads, n, n, head,
                             fmt::format("attention probabilities, batch 0 | {} | {}, {}",
                                         run.describe(), weights, input),
                             draw_size(o), cells, &run.scheme);
}

HeatmapSpec array_spec(const VisualizeOptions& o, std::optional<int64_t> head, CellMeaning* cells) {
    reject_options(o, attention_only, "--input FILE without --what attn");
    reject_options(o, init_options, "--input FILE");
    reject_options(o, table_options, "--input FILE");
    reject_options(o, scheme_options, "--input FILE");
    if (!o.view.empty()) {
        throw UsageError("--view applies to --what bias, not to an --input array");
    }
    // Read row by row and reduced as it is read: a pipe or a file of any size.
    NpyStream input(o.attn.input);
    return array_heatmap(input, head, draw_size(o), cells);
}

// --model: the learned tables, or where the model attends for one test image (as a page: the
// maps only, the image is named in the title).
std::string model_picture(const VisualizeOptions& o, std::optional<int64_t> head,
                          PictureFormat format) {
    reject_options(o, attention_only, "--model");
    reject_options(o, init_options, "--model");
    reject_options(o, table_options, "--model");
    reject_options(o, scheme_options, "--model");
    if (!o.attn.input.empty()) {
        throw UsageError("--input does not apply to --model (the image comes from --data "
                         "and --image)");
    }
    if (head) {
        throw UsageError("--head does not apply to --model (every head of a block is drawn)");
    }
    const ViT model = load_model(o.model);
    const std::optional<int64_t> layer =
        o.layer >= 0 ? std::optional<int64_t>(o.layer) : std::nullopt;
    if (given(o, "--layer") && o.layer < 0) {
        throw UsageError(fmt::format("--layer {} is out of range: expected a block from 0 to {}",
                                     o.layer, model.config().depth - 1));
    }
    if (o.what.empty() || o.what == "bias") {
        if (given(o, "--image") || given(o, "--data")) {
            throw UsageError("--image and --data go with --what attn");
        }
        const std::optional<BiasView> view =
            o.view.empty() ? std::nullopt : std::optional<BiasView>(parse_bias_view(o.view));
        if (view == BiasView::distance) {
            return line_plot_bytes(o, model_distance_plot(model, layer, o.model), format);
        }
        return heatmap_bytes(o, model_bias_heatmap(model, view, layer, o.model), {}, format);
    }
    if (o.what != "attn") {
        throw UsageError(
            fmt::format("--what {} does not apply to --model (accepted: bias, attn)", o.what));
    }
    if (!o.view.empty()) {
        throw UsageError("--view applies to --what bias");
    }
    const ImageSet test =
        load_image_set(o.data, Split::test, static_cast<int>(model.config().num_classes));
    if (o.image < 0 || o.image >= test.count) {
        throw UsageError(fmt::format("--image {} is out of range: the test split has {} images "
                                     "(0 to {})",
                                     o.image, test.count, test.count - 1));
    }
    if (test.height != model.config().image_h || test.width != model.config().image_w) {
        throw Error(fmt::format("{}: the images are {}x{}, the model takes {}x{}", o.data,
                                test.height, test.width, model.config().image_h,
                                model.config().image_w));
    }
    const uint8_t* pixels = test.pixels.data() + o.image * test.height * test.width;
    const int32_t label = test.labels[static_cast<size_t>(o.image)];
    const auto& names = model.config().classes;
    const std::string name = static_cast<size_t>(label) < names.size()
                                 ? names[static_cast<size_t>(label)]
                                 : std::to_string(label);
    ThreadPool pool(0);
    HeatmapSpec maps = model_attention_heatmap(
        pool, model, pixels, layer,
        fmt::format("attention of test image {} ({}) | {}", o.image, name, o.model));
    if (format == PictureFormat::html) {
        return heatmap_bytes(o, std::move(maps), {}, format);
    }
    const Figure picture = image_picture(pixels, test.height, test.width,
                                         fmt::format("image {}: {}", o.image, name), 224);
    return picture_bytes(side_by_side(picture, heatmap_with_options(o, std::move(maps))), format,
                         o.dpi);
}

// Every bias of a checkpoint: a row per block, a panel per head.
HeatmapSpec checkpoint_spec(const VisualizeOptions& o) {
    const std::vector<const char*> other = {"--what", "--view", "--head", "--input"};
    for (const auto* names :
         {&attention_only, &init_options, &table_options, &scheme_options, &other}) {
        reject_options(o, *names, "--checkpoint (it draws every table of the file as it is)");
    }
    const CheckpointRange range = parse_checkpoint_range(o.range);
    return checkpoint_heatmap(SafetensorsFile(o.checkpoint), range);
}

void run_visualize(const VisualizeOptions& options) {
    VisualizeOptions o = options;
    if (!o.what.empty() && o.what != "bucket" && o.what != "bias" && o.what != "attn") {
        throw UsageError(fmt::format("--what {}: expected bucket, bias or attn", o.what));
    }
    if (given(o, "--cell") && (o.cell < 1 || o.cell > max_cell_px)) {
        throw UsageError(fmt::format("--cell {} is out of range: expected an integer from 1 to {} "
                                     "(pixels per value)",
                                     o.cell, max_cell_px));
    }
    if (!o.cmap.empty()) {
        try {
            find_colormap(o.cmap);
        } catch (const UsageError&) {
            throw UsageError(fmt::format("--cmap {}: unknown colour map: expected {}", o.cmap,
                                         fmt::join(colormap_names(), ", ")));
        }
    }
    const std::optional<int64_t> head = parse_head(o.head);
    const PictureFormat format = picture_format(o);
    o.page = format == PictureFormat::html;
    if (!(o.dpi >= min_dpi && o.dpi <= max_dpi)) {
        throw UsageError(fmt::format("--dpi {:g} is out of range: expected {:g} to {:g} (96 draws "
                                     "one pixel per unit of the layout)",
                                     o.dpi, min_dpi, max_dpi));
    }
    if (format == PictureFormat::html) {
        for (const char* name : {"--cell", "--dpi"}) {
            if (given(o, name)) {
                throw UsageError(fmt::format("{} does not apply to an HTML page (it sizes its "
                                             "cells to the window)",
                                             name));
            }
        }
    }
    // -o - with --input - would both use the standard streams: fine; but a terminal is refused
    // a PNG before anything is computed (an SVG or a page is text).
    auto out = open_output(OutputOptions{o.path, "", o.force}, format == PictureFormat::png);
    if (!o.model.empty()) {
        if (!o.checkpoint.empty()) {
            throw UsageError("--model and --checkpoint each draw a whole file: give one of them");
        }
        out->write(model_picture(o, head, format));
        out->commit();
        return;
    }
    for (const char* name : {"--layer", "--image", "--data"}) {
        if (given(o, name)) {
            throw UsageError(fmt::format("{} goes with --model", name));
        }
    }

    CellMeaning cells; // rows and columns only, unless the spec's function says more
    std::string bytes;
    if (!o.checkpoint.empty()) {
        bytes = heatmap_bytes(o, checkpoint_spec(o), cells, format);
    } else if (given(o, "--range")) {
        throw UsageError("--range goes with --checkpoint");
    } else if (o.what == "attn") {
        bytes = heatmap_bytes(o, attn_spec(o, head, &cells), cells, format);
    } else if (o.what.empty() && !o.attn.input.empty()) {
        bytes = heatmap_bytes(o, array_spec(o, head, &cells), cells, format);
    } else if (!o.attn.input.empty()) {
        throw UsageError(fmt::format("--input draws an array or, with --what attn, is the "
                                     "attention input: not with --what {}",
                                     o.what));
    } else if (o.what == "bucket") {
        bytes = heatmap_bytes(o, bucket_spec(o, head, &cells), cells, format);
    } else {
        bytes = bias_picture(o, head, format);
    }
    out->write(bytes);
    out->commit();
}

} // namespace

Runner setup_visualize(CLI::App& app) {
    auto options = std::make_shared<VisualizeOptions>();
    CLI::App* command = app.add_subcommand(
        "visualize", "PNG or SVG pictures (or interactive HTML pages) of bucket maps, bias "
                     "tensors and attention probabilities");
    command->configurable();
    options->command = command;
    VisualizeOptions& o = *options;
    add_attn_options(*command, o.attn);
    // The table options of `bias` that attn lacks: a fresh table for --what bias.
    auto* table_group = command->add_option_group("Bias table initialisation");
    table_group->add_option("--init", o.attn.table.init, "trunc-normal | normal | zeros (bias)")
        ->capture_default_str();
    table_group->add_option("--std", o.attn.table.std, "Init standard deviation (bias)")
        ->capture_default_str();
    table_group->add_option(
        "--cpb", o.attn.table.cpb,
        "Swin V2 continuous bias: FILE:PREFIX of a block with cpb_mlp.* (bias)");
    table_group->add_option("--pretrained-window", o.attn.table.pretrained_window,
                            "--cpb: the window that normalises the coordinates, HxW");
    command->get_option("--input")->description(
        ".npy array to draw (2-d, 3-d per head, 4-d batch 0 per head); - = "
        "stdin. With --what attn: the attention input x, (N, E) or (B, N, E)");

    auto* group = command->add_option_group("Picture options");
    group->add_option("--what", o.what,
                      "bucket | bias | attn: what the matching command computes (default "
                      "bias, or the --input array)");
    group->add_option("--view", o.view,
                      "Bias view: matrix (q x k per head) | table (2d: each head's "
                      "(2Wh-1)x(2Ww-1) table by offset; default for 2d) | distance (t5, 1d: "
                      "a line plot of the bias against relative distance, a line per head) | "
                      "strip (t5, 1d: the same as a heatmap, a row per head)");
    group->add_option("--head", o.head, "all | K: draw every head, or head K (from 0)")
        ->capture_default_str();
    group->add_option("--cmap", o.cmap,
                      "viridis | magma | rdbu | coolwarm | gray (default viridis for ids and "
                      "non-negative values, rdbu for signed values)");
    group->add_option("--cell", o.cell,
                      fmt::format("Pixels per value, 1 to {} (default automatic: small maps "
                                  "readable, large ones bounded and reduced)",
                                  max_cell_px));
    auto* trained = command->add_option_group("A trained model");
    trained->add_option("--model", o.model,
                        "Model file of rpbtool train: every block's learned table (--what bias, "
                        "the default) or where it attends for a test image (--what attn)");
    trained->add_option("--layer", o.layer, "Only this block (from 0)");
    trained->add_option("--image", o.image, "--what attn: index of the test image")
        ->capture_default_str();
    trained->add_option("--data", o.data, "--what attn: the data set folder")
        ->capture_default_str();
    auto* whole = command->add_option_group("Whole checkpoint");
    whole->add_option("--checkpoint", o.checkpoint,
                      "Every relative position bias of a .safetensors checkpoint in one figure: "
                      "a row per block, a panel per head");
    whole
        ->add_option("--range", o.range,
                     "shared | per-block: one colour range for all tables, or each row scaled "
                     "to its own max")
        ->capture_default_str();
    auto* output = command->add_option_group("Output options");
    output
        ->add_option("-o,--output", o.path,
                     "PNG, SVG or HTML file (by --format, else by its "
                     "extension: .svg, .html); - is standard output")
        ->capture_default_str();
    output->add_option("--format", o.format,
                       "png | svg | html: the picture, or an interactive page showing each "
                       "cell's values (default: by the extension of -o, else png)");
    output
        ->add_option("--dpi", o.dpi,
                     fmt::format("Resolution, {:g} to {:g}: 96 draws a pixel per layout unit, "
                                 "192 twice as many per side (print); written into the PNG",
                                 min_dpi, max_dpi))
        ->capture_default_str();
    output->add_flag("--force", o.force, "Write the picture to a terminal anyway");
    return [options]() { run_visualize(*options); };
}

} // namespace rpb::cli
