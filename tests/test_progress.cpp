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

TEST_CASE("the phase timer: each phase's time, before and after the hosts, passed on to the line") {
    std::ostringstream out;
    auto now = std::chrono::steady_clock::time_point{};
    TerminalProgress line(
        out, "cluster 7", [&] { return now; }, std::chrono::milliseconds(0));
    PhaseTimer timer(&line, [&] { return now; });
    now += std::chrono::milliseconds(12);
    timer.begin("reading hosts", 65);
    CHECK(out.str().ends_with("reading hosts 0/65"));
    timer.done(false);
    CHECK(out.str().ends_with("reading hosts 1/65"));
    now += std::chrono::milliseconds(300);
    timer.begin("LBs: applying", 1);
    now += std::chrono::milliseconds(100);
    timer.end();
    CHECK(out.str().ends_with("\r\x1b[K"));
    now += std::chrono::milliseconds(6);
    CHECK(timer.summary() ==
          "before the hosts 0.012 s (database snapshot, rendering), reading hosts (65) 0.300 s, "
          "LBs: applying (1) 0.100 s, after the hosts 0.006 s (the run log); total 0.418 s");

    PhaseTimer alone(nullptr, [&] { return now; });  // no line (not a terminal): still timed
    now += std::chrono::milliseconds(5);
    CHECK(alone.summary() ==
          "before the hosts 0.005 s (database snapshot, rendering); total 0.005 s");
}
