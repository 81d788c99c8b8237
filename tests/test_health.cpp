// The monitor's decisions (lb/health.h) with a clock that is only a number: nanny's check
// semantics, the health state machine, slow start, the load rule and effective_weight().
#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "lvsctl/error.h"
#include "lvsctl/lb/health.h"

using namespace lvsctl;
using std::chrono::seconds;

namespace {

MonitorTime at(int s) {
    return MonitorTime{} + seconds(s);
}

HealthSettings settings(int reentry = 10) {
    HealthSettings h;
    h.reentry = seconds(reentry);
    return h;
}

}  // namespace

TEST_CASE("checks: what a reply must look like") {
    const ReplyMatcher http("HTTP", false);
    CHECK(http.matches("HTTP/1.1 200 OK\r\n"));
    CHECK_FALSE(http.matches("SSH-2.0-OpenSSH"));
    CHECK_FALSE(http.matches("HTT"));
    CHECK_FALSE(http.matches(" HTTP/1.1"));
    CHECK(ReplyMatcher("*", false).matches(""));
    CHECK(ReplyMatcher("", false).matches("anything"));

    const ReplyMatcher regex("HTTP/1\\.[01] (200|302)", true);
    CHECK(regex.matches("HTTP/1.1 302 Found"));
    CHECK_FALSE(regex.matches("HTTP/1.1 500 Internal Server Error"));
    try {
        const ReplyMatcher bad("HTTP(", true);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        CHECK(std::string(e.what()).find("checks.expect: \"HTTP(\" is not a POSIX") !=
              std::string::npos);
    }
}

TEST_CASE("load: uptime's line and a bare number; anything else is no load") {
    CHECK(parse_load(" 04:41:04 up 3 days,  2:01,  1 user,  load average: 0.42, 0.40, 0.38\n") ==
          doctest::Approx(0.42));
    CHECK(parse_load("3.0\n") == doctest::Approx(3.0));
    CHECK(parse_load("load: 1.5") == doctest::Approx(1.5));
    CHECK_FALSE(parse_load("no such host"));
    CHECK_FALSE(parse_load("load average: n/a"));
    CHECK_FALSE(parse_load("-1"));
    CHECK_FALSE(parse_load(""));
    CHECK_FALSE(parse_load("2 3"));
}

TEST_CASE("health: down on one failure, back after reentry with weight >> 5, then slow start") {
    const auto s = settings(10);
    ServerHealth h(32, 32);  // in service at 32 when the monitor started
    CHECK(h.in_service());
    CHECK(h.check(true, at(0), s) == Transition::none);
    CHECK(h.state() == Health::up);
    CHECK(h.weight() == 32);

    CHECK(h.check(false, at(10), s) == Transition::taken_out);
    CHECK(h.state() == Health::down);
    CHECK_FALSE(effective_weight(32, &h, false));
    CHECK(effective_weight(32, &h, true) == 0u);
    CHECK(h.check(false, at(20), s) == Transition::none);  // already out

    CHECK(h.check(true, at(30), s) == Transition::none);
    CHECK(h.state() == Health::reentering);
    CHECK_FALSE(effective_weight(32, &h, false));
    CHECK(h.check(true, at(35), s) == Transition::none);
    CHECK(h.check(true, at(40), s) == Transition::made_available);
    CHECK(h.state() == Health::up);
    CHECK(effective_weight(32, &h, false) == 1u);

    // Slow start: doubling every step (20 s) up to the configured weight, no faster.
    std::vector<std::uint32_t> weights;
    for (int t = 45; t <= 200; t += 5) {
        if (h.tick(at(t), std::nullopt, s) == Transition::weight_changed) {
            weights.push_back(h.weight());
        }
    }
    CHECK(weights == std::vector<std::uint32_t>{2, 4, 8, 16, 32});
    CHECK(h.tick(at(400), std::nullopt, s) == Transition::none);  // no load: stays
}

TEST_CASE("health: flapping during reentry starts the wait again") {
    const auto s = settings(10);
    ServerHealth h(32, 32);
    h.check(false, at(0), s);
    h.check(true, at(10), s);
    h.check(true, at(18), s);
    h.check(false, at(19), s);  // fails again just before reentry
    CHECK(h.state() == Health::down);
    CHECK(h.check(true, at(20), s) == Transition::none);
    CHECK(h.check(true, at(29), s) == Transition::none);  // 9 s of successes: not yet
    CHECK(h.check(true, at(30), s) == Transition::made_available);
}

TEST_CASE("health: a new server is checked before it is trusted") {
    const auto s = settings(180);
    ServerHealth fresh(32);
    CHECK(fresh.state() == Health::unchecked);
    CHECK_FALSE(fresh.in_service());
    CHECK_FALSE(effective_weight(32, &fresh, false));
    CHECK(effective_weight(32, &fresh, true) == 0u);
    // Its first passing check brings it in, with slow start, without the reentry wait.
    CHECK(fresh.check(true, at(0), s) == Transition::made_available);
    CHECK(effective_weight(32, &fresh, false) == 1u);

    ServerHealth failing(32);
    CHECK(failing.check(false, at(0), s) == Transition::none);  // never in: nothing to take out
    CHECK(failing.state() == Health::down);
}

TEST_CASE("health: the database's weight wins; an inactive server is 0 whatever its health") {
    const auto s = settings(0);
    ServerHealth h(32, 32);
    h.check(true, at(0), s);
    h.tick(at(20), 0.1, s);  // load-adjusted above 32
    CHECK(h.weight() > 32);
    h.set_configured(10);  // a new database weight: the load rule starts again from it
    CHECK(h.weight() == 10);
    CHECK(effective_weight(0, &h, false) == 0u);
    CHECK(effective_weight(7, nullptr, false) == 7u);  // no monitor: the configured weight

    // Down when the weight changes: stays out, and comes back from the new weight.
    h.check(false, at(30), s);
    h.set_configured(64);
    CHECK_FALSE(effective_weight(64, &h, false));
    CHECK(h.check(true, at(40), s) == Transition::made_available);  // reentry 0
    CHECK(h.weight() == 2);                                         // 64 >> 5

    // In slow start, a higher weight is doubled towards, not jumped to.
    h.set_configured(128);
    CHECK(h.weight() == 2);
    h.tick(at(60), std::nullopt, s);
    CHECK(h.weight() == 4);
}

TEST_CASE("load rule: up to scale x configured below 1, down to configured above, in steps") {
    // 32 + 16 * cbrt(0.9) = 47.4
    CHECK(load_rule(32, 32, 0.1, 10) == 47u);
    CHECK(load_rule(310, 32, 0.0, 10) == 320u);  // the ceiling
    CHECK_FALSE(load_rule(320, 32, 0.0, 10));
    // 100 - 16 * cbrt(2) = 79.8
    CHECK(load_rule(100, 32, 3.0, 10) == 80u);
    CHECK(load_rule(40, 32, 9.0, 10) == 32u);  // the floor
    CHECK_FALSE(load_rule(32, 32, 9.0, 10));
    // Moves of less than a quarter of the configured weight are not applied.
    CHECK_FALSE(load_rule(32, 32, 0.999, 10));
    CHECK_FALSE(load_rule(50, 32, 1.01, 10));
    CHECK_FALSE(load_rule(50, 32, 1.0, 10));

    // Through the state machine: 0.1 climbs to the ceiling, 3.0 then comes down to the floor.
    const auto s = settings(0);
    ServerHealth h(32, 32);
    h.check(true, at(0), s);
    for (int t = 20; t <= 20 * 40; t += 20) {
        h.tick(at(t), 0.1, s);
    }
    // Up to the ceiling, short of it by less than the smallest move applied (32 / 4).
    CHECK(h.weight() <= 320);
    CHECK(h.weight() > 320 - 8);
    for (int t = 20 * 41; t <= 20 * 120; t += 20) {
        h.tick(at(t), 3.0, s);
    }
    CHECK(h.weight() >= 32);
    CHECK(h.weight() < 32 + 8);
    // A failing load command (no load) keeps the last weight.
    h.tick(at(20 * 121), 0.1, s);
    const auto before = h.weight();
    CHECK(h.tick(at(20 * 122), std::nullopt, s) == Transition::none);
    CHECK(h.weight() == before);
}
