#include "figure_checks.hpp"
#include "rpb/line_plot.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <string>

TEST_CASE("rpb::nice_ticks steps by 1, 2 or 5 times a power of ten") {
    CHECK(rpb::nice_ticks(0, 10, 5) == std::vector<double>{0, 2, 4, 6, 8, 10});
    const std::vector<double> small = rpb::nice_ticks(-0.03, 0.05, 4); // -0.02 .. 0.04 by 0.02
    REQUIRE(small.size() == 4);
    CHECK(small.front() == doctest::Approx(-0.02));
    CHECK(small.back() == doctest::Approx(0.04));
    CHECK(rpb::nice_ticks(3, 3, 5) == std::vector<double>{3});
}

TEST_CASE("rpb::line_plots_figure: panels side by side, series tagged, texts apart") {
    rpb::LinePlot loss{"loss", "epoch", "cross-entropy", {}};
    rpb::LinePlot empty{"accuracy", "epoch", "accuracy", {}};
    rpb::LineSeries train{"train", {}};
    rpb::LineSeries test{"test", {}};
    for (double e = 1; e <= 30; ++e) {
        train.points.push_back({e, 2.0 / e});
        test.points.push_back({e, e == 7 ? NAN : 2.2 / e}); // a gap: two polylines
    }
    loss.series = {train, test};
    empty.series = {{"train", {{1, NAN}}}};
    const rpb::Figure fig = rpb::line_plots_figure(
        {"training curves of a run whose title is long enough to wrap: " + std::string(80, 'x'),
         {loss, empty},
         0});
    check_text_layout(fig);
    CHECK(check_ink(fig) > 0);
    size_t lines_train = 0, lines_test = 0, no_data = 0;
    for (const rpb::FigureItem& item : fig.items) {
        lines_train += item.tag == "series-0-0";
        lines_test += item.tag == "series-0-1";
        if (const auto* t = std::get_if<rpb::Text>(&item.shape)) {
            no_data += t->text == "no data";
        }
    }
    CHECK(lines_train == 1);
    CHECK(lines_test == 2);
    CHECK(no_data == 1);
    const rpb::Image img = rpb::render_line_plots({loss}, "t");
    CHECK(img.width() > 400);
    // tab10's first colours, as matplotlib's.
    CHECK(rpb::tab10(0) == rpb::Rgb{31, 119, 180});
    CHECK(rpb::tab10(11) == rpb::Rgb{255, 127, 14});
}
