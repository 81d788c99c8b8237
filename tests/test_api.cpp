// The public API's values (include/lvsctl/lvsctl.h): errors with exit codes, the options from a
// config file, a run as a Result. Against the database: tests/db/test_database.cpp.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "lvsctl/api/engine.h"
#include "lvsctl/lvsctl.h"

using namespace lvsctl;

namespace {

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / name;
    std::ofstream(path) << text;
    return path;
}

template <typename Fn>
int exit_code_of(Fn&& fn) {
    try {
        fn();
    } catch (const api::Error& e) {
        return e.exit_code();
    }
    return -1;
}

}  // namespace

TEST_CASE("api::Error: a runtime_error with the exit code") {
    const api::Error e(api::exit_code::lock_busy, "cluster 7: locked");
    CHECK(e.exit_code() == 75);
    CHECK(std::string(e.what()) == "cluster 7: locked");
    const std::runtime_error& base = e;
    CHECK(std::string(base.what()) == "cluster 7: locked");
    // The API's codes are the program's.
    CHECK(api::exit_code::data == static_cast<int>(ExitCode::data));
    CHECK(api::exit_code::db_unavailable == static_cast<int>(ExitCode::db_unavailable));
    CHECK(api::exit_code::config == static_cast<int>(ExitCode::config));
    CHECK_FALSE(api::version().empty());
}

TEST_CASE("api::load_options: the config file's keys, then LVSCTL_DB") {
    ::unsetenv("LVSCTL_DB");
    const auto path = write_temp("lvsctl-api-test.conf",
                                 "# a comment\nssh-user = deploy\nlock-timeout = 5\n"
                                 "known-hosts = /etc/lvsctl/known_hosts\nvrrp-unicast = true\n"
                                 "db = \"dbname=from_file\"\n");
    auto o = api::load_options(path.string(), true);
    CHECK(o.ssh_user == "deploy");
    CHECK(o.lock_timeout == 5);
    CHECK(o.known_hosts == "/etc/lvsctl/known_hosts");
    CHECK(o.vrrp_unicast);
    CHECK(o.db == "dbname=from_file");
    CHECK(o.parallel == 16);  // the default
    ::setenv("LVSCTL_DB", "dbname=from_env", 1);
    CHECK(api::load_options(path.string()).db == "dbname=from_env");
    ::unsetenv("LVSCTL_DB");

    // A missing file: the defaults, unless it must exist (78, as the program's --config).
    CHECK(api::load_options("/nonexistent/lvsctl.conf").ssh_user == "root");
    CHECK(exit_code_of([] { api::load_options("/nonexistent/lvsctl.conf", true); }) == 78);
    const auto bad = write_temp("lvsctl-api-bad.conf", "no-such-key = 1\n");
    CHECK(exit_code_of([&] { api::load_options(bad.string()); }) == 78);
    std::filesystem::remove(path);
    std::filesystem::remove(bad);
}

TEST_CASE("engine: the global options and api::Options carry every field both ways") {
    // Every field set away from its default: a field one conversion forgets comes back default.
    Settings s;
    s.db = "host=db.example user=lvsctl";
    s.ssh_user = "deploy";
    s.ssh_identity = "/etc/lvsctl/id_ed25519";
    s.known_hosts = "/etc/lvsctl/known_hosts";
    s.templates = "/etc/lvsctl/templates";
    s.agent = "/usr/local/bin/lvsctl";
    s.timeout = 7;
    s.parallel = 3;
    s.lock_timeout = 9;
    s.vrrp_nopreempt = true;
    s.vrrp_unicast = true;
    const auto o = engine::options_of(s);
    const auto back = engine::settings_of(o);
    CHECK(back.db == s.db);
    CHECK(back.ssh_user == s.ssh_user);
    CHECK(back.ssh_identity == s.ssh_identity);
    CHECK(back.known_hosts == s.known_hosts);
    CHECK(back.templates == s.templates);
    CHECK(back.agent == s.agent);
    CHECK(back.timeout == s.timeout);
    CHECK(back.parallel == s.parallel);
    CHECK(back.lock_timeout == s.lock_timeout);
    CHECK(back.vrrp_nopreempt == s.vrrp_nopreempt);
    CHECK(back.vrrp_unicast == s.vrrp_unicast);
    // The presentation options are the program's, not the library's: they stay default.
    CHECK_FALSE(back.json);
    CHECK(back.verbosity == 0);
}

TEST_CASE("engine::result_of: a run as the API's values") {
    engine::Converged c;
    c.outcome.cluster.id = 7;
    c.outcome.cluster.name = "Shop";
    c.outcome.cluster.backend = "ipvs";
    c.outcome.cluster.serial = 12;
    HostPlan lb;
    lb.host = "lb 10.0.0.1";
    lb.changes = {"add service FWM 100"};
    lb.monitored = true;
    HostPlan web;
    web.host = "web 10.0.0.11";
    web.error = "web 10.0.0.11: connection refused";
    web.failure = ExitCode::unreachable;
    c.outcome.result.plan = {lb, web};
    c.outcome.result.notes = {"a note"};
    c.outcome.document = "{}\n";
    c.code = ExitCode::unreachable;
    c.errors = {*web.error};

    SUBCASE("a plan") {
        const auto r = engine::result_of(c, true);
        CHECK(r.cluster_id == 7);
        CHECK(r.cluster_name == "Shop");
        CHECK(r.backend == "ipvs");
        CHECK(r.serial == 12);
        CHECK(r.dry_run);
        CHECK(r.pending);
        CHECK_FALSE(r.changed);
        REQUIRE(r.hosts.size() == 2);
        CHECK(r.hosts[0].role == "lb");
        CHECK_FALSE(r.hosts[0].applied);
        CHECK(r.hosts[0].changes == std::vector<std::string>{"add service FWM 100"});
        CHECK(r.hosts[0].exit_code == 0);
        CHECK(r.hosts[0].monitored);
        CHECK(r.hosts[0].monitor.find("no health record") != std::string::npos);
        CHECK(r.hosts[1].role == "web");
        CHECK(r.hosts[1].error == web.error);
        CHECK(r.hosts[1].exit_code == 68);
        CHECK(r.notes == std::vector<std::string>{"a note"});
        CHECK(r.errors == c.errors);
        CHECK(r.document == "{}\n");
        CHECK(r.exit_code == 68);
    }
    SUBCASE("an update: what was done, and what failed") {
        HostReport done;
        done.host = lb.host;
        done.done = {"added service FWM 100"};
        done.errors = {"lb 10.0.0.1: weight refused"};
        c.outcome.result.applied = {done, HostReport{}};
        const auto r = engine::result_of(c, false);
        CHECK_FALSE(r.dry_run);
        CHECK(r.hosts[0].applied);
        CHECK(r.hosts[0].changes == std::vector<std::string>{"added service FWM 100"});
        CHECK(r.hosts[0].errors == done.errors);
        CHECK(r.hosts[0].exit_code == 3);
        CHECK_FALSE(r.hosts[1].applied);  // not reached: its read error stands
        CHECK(r.hosts[1].exit_code == 68);
    }
}
