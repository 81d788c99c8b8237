// The lvsctl program as a user runs it: flags, config file, exit codes, output.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fixtures.h"

namespace fs = std::filesystem;
using lvsctl::testing::golden;
using lvsctl::testing::read_file;

extern char** environ;

namespace {

struct Result {
    int code = -1;
    std::string out;
    std::string err;
};

using Scratch = lvsctl::testing::TempDir;

// Runs the built program with `args`, stdout and stderr captured, and an empty config file
// instead of the machine's /etc/lvsctl/lvsctl.conf unless the test passes --config itself.
Result run_lvsctl(std::vector<std::string> args, std::vector<std::string> env_extra = {}) {
    Scratch scratch;
    const auto out_path = scratch.path / "out";
    const auto err_path = scratch.path / "err";
    std::vector<std::string> argv_s{LVSCTL_PROGRAM};
    const bool has_config = std::any_of(args.begin(), args.end(),
                                        [](const auto& a) { return a.starts_with("--config"); });
    if (!has_config) {
        argv_s.push_back("--config=" + scratch.write("empty.conf", "").string());
    }
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
        if (!std::string_view(*e).starts_with("LVSCTL_")) {
            env_s.emplace_back(*e);
        }
    }
    env_s.insert(env_s.end(), env_extra.begin(), env_extra.end());
    std::vector<char*> envp;
    for (auto& e : env_s) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    return r;
}

const std::string kSeed = golden("seed-lvs.cf").string();
const std::string kTemplates = "--templates=" + lvsctl::testing::template_dir().string();

}  // namespace

TEST_CASE("help is a success and lists every command") {
    const auto r = run_lvsctl({"--help"});
    CHECK(r.code == 0);
    for (const char* command :
         {"update", "plan", "render", "status", "server", "ip", "import", "agent", "db"}) {
        CAPTURE(command);
        CHECK(r.out.find(std::string("  ") + command + " ") != std::string::npos);
    }
}

TEST_CASE("--version prints `lvsctl VERSION` and exits 0, before or after a command") {
    // LVSCTL_VERSION_STRING: what CMake chose (-DLVSCTL_VERSION, git describe, else 0.1.0).
    const std::string expected = std::string("lvsctl ") + LVSCTL_VERSION_STRING + "\n";
    CHECK(std::string(LVSCTL_VERSION_STRING).size() > 0);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--version"}, {"render", "--version"}, {"--json", "--version"}}) {
        const auto r = run_lvsctl(args);
        CAPTURE(args.front());
        CHECK(r.code == 0);
        CHECK(r.out == expected);
        CHECK(r.err.empty());
    }
    // It is listed in --help.
    CHECK(run_lvsctl({"--help"}).out.find("--version") != std::string::npos);
}

TEST_CASE("bad flags are usage errors: exit 64") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {},
             {"frobnicate"},
             {"--no-such-flag", "render", "--from-lvscf", kSeed},
             {"render", "--from-lvscf", kSeed, "--format=nginx"},
             {"render"},
             {"render", "--cluster-id=0"},
             {"render", "--cluster-id=abc"},
             {"render", "--from-lvscf", "/nonexistent/lvs.cf"},
             {"update"},
             {"update", "--all", "--cluster-id=1"},
             {"update", "--cluster-id=1", "--clusters-parallel=2"},
             {"update", "--all", "--clusters-parallel=0"},
             {"plan"},
             {"plan", "--all", "--cluster-id=1"},
             {"status", "--cluster-id=1", "--stats", "--rate"},
             {"server"},
             {"server", "add", "--cluster-id=1", "--node-id=5", "--address=10.0.0.5"},
             {"server", "add", "--cluster-id=1", "--node-id=5", "--address=2001:db8::5",
              "--mgmt-address=10.0.1.5"},
             {"server", "add", "--cluster-id=1", "--node-id=5", "--address=10.0.0.5",
              "--mgmt-address=10.0.1.5", "--weight=65536"},
             {"server", "set", "--cluster-id=1", "--node-id=5", "--active=perhaps"},
             {"ip", "add", "--cluster-id=1"},
             {"ip", "add", "--cluster-id=1", "10.0.0.1", "not-an-ip"},
             {"agent", "apply", "--marks=pf"},
             {"--timeout=0", "render", "--from-lvscf", kSeed},
         }) {
        CAPTURE(args);
        const auto r = run_lvsctl(args);
        CHECK(r.code == 64);
        CHECK_FALSE(r.err.empty());
    }
}

TEST_CASE("render prints lvs.cf, keepalived.conf and the desired state from an lvs.cf") {
    const auto cf = run_lvsctl({kTemplates, "render", "--from-lvscf", kSeed});
    CHECK(cf.code == 0);
    CHECK(lvsctl::testing::without_serial(cf.out) == read_file(golden("seed-lvs.cf")));

    const auto ka = run_lvsctl({"render", "--from-lvscf", kSeed, "--format=keepalived"});
    CHECK(ka.code == 0);
    CHECK(ka.out.find("virtual_server fwmark 100 {") != std::string::npos);

    const auto rules = run_lvsctl({"render", "--from-lvscf", kSeed, "--format=ipvsadm"});
    CHECK(rules.code == 0);
    CHECK(rules.out.starts_with("-A -f 100 -s lblc\n-a -f 100 -r 10.39.84.43:0 -g -w 32\n"));

    const auto js = run_lvsctl({"render", "--from-lvscf", kSeed, "--format", "json"});
    CHECK(js.code == 0);
    const auto doc = nlohmann::json::parse(js.out);
    CHECK(doc["services"][0]["destinations"].size() == 2);

    // Global options may follow the command, and --json wraps text formats in a document.
    const auto wrapped = run_lvsctl({"render", "--from-lvscf", kSeed, "--json"});
    CHECK(wrapped.code == 0);
    const auto wdoc = nlohmann::json::parse(wrapped.out);
    CHECK(wdoc["format"] == "lvs.cf");
    CHECK(wdoc["content"] == cf.out);
}

TEST_CASE("the config file: flags win, a bad file is exit 78") {
    Scratch s;
    const auto empty_templates = s.path / "empty";
    fs::create_directory(empty_templates);
    const auto conf = s.write("lvsctl.conf", "templates = " + empty_templates.string() + "\n");

    // From the file: the empty directory has no lvs.cf.tpl, which is a configuration error.
    auto r = run_lvsctl({"--config", conf.string(), "render", "--from-lvscf", kSeed});
    CHECK(r.code == 78);
    CHECK(r.err.find(empty_templates.string() + "/lvs.cf.tpl: cannot be read") !=
          std::string::npos);
    // The flag wins over the file.
    r = run_lvsctl({"--config", conf.string(), kTemplates, "render", "--from-lvscf", kSeed});
    CHECK(r.code == 0);

    const auto bad = s.write("bad.conf", "timeout = 30\nthreads = 4\n");
    r = run_lvsctl({"--config", bad.string(), "render", "--from-lvscf", kSeed});
    CHECK(r.code == 78);
    CHECK(r.err == "lvsctl: config " + bad.string() + " line 2: unknown key \"threads\"\n");

    r = run_lvsctl(
        {"--config", (s.path / "missing.conf").string(), "render", "--from-lvscf", kSeed});
    CHECK(r.code == 78);
    CHECK(r.err.find("cannot be opened") != std::string::npos);
}

TEST_CASE("invalid input data is exit 65 and names the line or the row") {
    Scratch s;
    auto text = read_file(golden("seed-lvs.cf"));
    const auto broken =
        s.write("broken.cf", text.replace(text.find("weight = 32"), 11, "wieght = 32"));
    auto r = run_lvsctl({"render", "--from-lvscf", broken.string()});
    CHECK(r.code == 65);
    CHECK(r.err ==
          "lvsctl: " + broken.string() + " line 21: unknown key 'wieght' in server 10.39.94.43\n");
    CHECK(r.out.empty());

    text = read_file(golden("seed-lvs.cf"));
    const auto invalid = s.write("invalid.cf", text.replace(text.find("lblc"), 4, "fastest"));
    r = run_lvsctl({"render", "--from-lvscf", invalid.string(), "--json"});
    CHECK(r.code == 65);
    CHECK(r.err.find("line 14: scheduler = fastest: expected one of lc, rr, wlc") !=
          std::string::npos);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc["exit_code"] == 65);
    CHECK(doc["changed"] == false);
    CHECK(doc["errors"][0].get<std::string>().find("fastest") != std::string::npos);
}

TEST_CASE("update without a database: exit 69 with libpq's reason") {
    const auto r =
        run_lvsctl({"--db", "host=/nonexistent-socket-dir dbname=x", "update", "--cluster-id=1"});
    CHECK(r.code == 69);
    CHECK(r.err.find("/nonexistent-socket-dir") != std::string::npos);
}

TEST_CASE("update --all without a database: exit 69 before any cluster, one JSON document") {
    const auto r =
        run_lvsctl({"--db", "host=/nonexistent-socket-dir dbname=x", "--json", "update", "--all"});
    CHECK(r.code == 69);
    CHECK(r.err.find("/nonexistent-socket-dir") != std::string::npos);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc["exit_code"] == 69);
}

TEST_CASE("a password in --db is refused before anything, with where to put it instead") {
    for (const char* db : {"host=/nonexistent dbname=x password=hunter2",
                           "postgresql://lvsctl:hunter2@/x?host=/nonexistent"}) {
        const auto r = run_lvsctl({"--db", db, "update", "--cluster-id=1"});
        CHECK(r.code == 64);
        CHECK(r.err.find("~/.pgpass") != std::string::npos);
        CHECK(r.err.find("hunter2") == std::string::npos);
    }
    // The same string from the environment is fine: it is not on any command line.
    const auto r = run_lvsctl({"update", "--cluster-id=1"},
                              {"LVSCTL_DB=host=/nonexistent-socket-dir dbname=x password=hunter2"});
    CHECK(r.code == 69);
    CHECK(r.err.find("hunter2") == std::string::npos);
}

TEST_CASE("--agent is checked when the options are read, before any host is changed") {
    const auto r =
        run_lvsctl({"--agent", "lvsctl; rm -rf /", "--db", "host=/nonexistent-socket-dir dbname=x",
                    "update", "--cluster-id=1"});
    CHECK(r.code == 64);
    CHECK(r.err.find("--agent") != std::string::npos);
}
