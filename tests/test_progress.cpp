// The terminal's progress line and colour (docs/commands.md, "Progress").
#include <doctest/doctest.h>

#include <sstream>

#include "lvsctl/cli/progress.h"

using namespace lvsctl;
using namespace lvsctl::cli;

TEST_CASE("the progress line: redrawn in place, at most every interval, cleared at the end") {
    std::ostringstream out;
    auto now = std::chrono::steady_clock::time_point{};
    TerminalProgress p(
        out, "cluster 7", [&] { return now; }, std::chrono::milliseconds(100));
    p.begin("reading hosts", 3);
    CHECK(out.str() == "\r\x1b[Klvsctl: cluster 7: reading hosts 0/3");
    out.str("");
    p.done(false);  // within the interval: not drawn
    CHECK(out.str().empty());
    now += std::chrono::milliseconds(150);
    p.done(true);
    CHECK(out.str() == "\r\x1b[Klvsctl: cluster 7: reading hosts 2/3, 1 failed");
    out.str("");
    p.done(false);  // the phase completes: drawn whatever the time
    CHECK(out.str() == "\r\x1b[Klvsctl: cluster 7: reading hosts 3/3, 1 failed");
    out.str("");
    // A host that failed counts in every phase after; the run's failures are not counted twice.
    p.begin("web servers: adding", 2);
    CHECK(out.str() == "\r\x1b[Klvsctl: cluster 7: web servers: adding 0/2, 1 failed");
    p.done(true);
    p.done(false);
    CHECK(out.str().ends_with("web servers: adding 2/2, 1 failed"));
    out.str("");
    p.end();
    CHECK(out.str() == "\r\x1b[K");
    out.str("");
    p.end();  // nothing shown any more: nothing written
    CHECK(out.str().empty());
}

TEST_CASE("progress only for a terminal, never with --json or -q; colour never with NO_COLOR") {
    Settings s;
    CHECK(wants_progress(s, true));
    CHECK_FALSE(wants_progress(s, false));
    s.verbosity = -1;
    CHECK_FALSE(wants_progress(s, true));
    s.verbosity = 0;
    s.json = true;
    CHECK_FALSE(wants_progress(s, true));
    CHECK_FALSE(wants_colour(s, true, nullptr));
    s.json = false;
    CHECK(wants_colour(s, true, nullptr));
    CHECK(wants_colour(s, true, ""));
    CHECK_FALSE(wants_colour(s, true, "1"));
    CHECK_FALSE(wants_colour(s, false, nullptr));
    CHECK(paint("FAILED", Colour::red, true) == "\x1b[31;1mFAILED\x1b[0m");
    CHECK(paint("FAILED", Colour::red, false) == "FAILED");
}
