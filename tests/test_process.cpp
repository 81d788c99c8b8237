// Commands on this machine (cli::SpawnRunner: deadlines, process groups, bounded output, a
// minimal environment), and the remote scripts run for real through a local shell.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fixtures.h"
#include "local_host.h"
#include "lvsctl/cli/process.h"
#include "lvsctl/error.h"
#include "lvsctl/manage/transport.h"

using namespace lvsctl;
using lvsctl::testing::LocalHost;
using lvsctl::testing::read_file;
using lvsctl::testing::TempDir;

namespace {

bool alive(pid_t pid) {
    return ::kill(pid, 0) == 0;
}

}  // namespace

TEST_CASE("a command past its deadline is killed with everything it started") {
    cli::ignore_sigpipe();
    TempDir dir;
    const auto pidfile = (dir.path / "child.pid").string();
    cli::SpawnRunner runner(std::chrono::seconds(1));
    const auto start = std::chrono::steady_clock::now();
    bool threw = false;
    try {
        runner.run({"sh", "-c", "sleep 60 & echo $! > \"$0\"; wait", pidfile});
    } catch (const Error& e) {
        threw = true;
        CHECK(e.code() == ExitCode::unreachable);
        CHECK(std::string(e.what()) == "sh did not finish within 1 s; killed");
    }
    CHECK(threw);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    const auto child = std::stoi(read_file(pidfile));
    // The background sleep was in the command's process group: gone too (reaped by init).
    for (int i = 0; i < 100 && alive(child); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK_FALSE(alive(child));
}

TEST_CASE("a command that closes its output but goes on is killed at its deadline") {
    cli::SpawnRunner runner(std::chrono::seconds(1));
    CHECK_THROWS_AS(runner.run({"sh", "-c", "exec >/dev/null 2>&1; sleep 60"}), Error);
}

TEST_CASE("run_for_longer gives a command more time than the runner's deadline") {
    cli::SpawnRunner runner(std::chrono::seconds(1));
    const auto r =
        runner.run_for_longer(std::chrono::seconds(5), {"sh", "-c", "sleep 2; echo done"});
    CHECK(r.status == 0);
    CHECK(r.out == "done\n");
}

TEST_CASE("exec: programs get a minimal environment, without our credentials") {
    ::setenv("PGPASSWORD", "secret", 1);
    ::setenv("LVSCTL_DB", "host=db password=secret", 1);
    ::setenv("SSH_AUTH_SOCK", "/tmp/agent.sock", 1);
    ::setenv("LVSCTL_EXEC_HAPROXY_CFG", "/etc/haproxy/x.cfg", 1);
    const auto minimal =
        cli::SpawnRunner(std::chrono::seconds(10), cli::SpawnRunner::Environment::minimal)
            .run({"env"});
    CHECK(minimal.status == 0);
    CHECK(minimal.out.find("PATH=") != std::string::npos);
    CHECK(minimal.out.find("PGPASSWORD") == std::string::npos);
    CHECK(minimal.out.find("LVSCTL_DB") == std::string::npos);
    CHECK(minimal.out.find("SSH_AUTH_SOCK") == std::string::npos);
    CHECK(minimal.out.find("LVSCTL_EXEC_HAPROXY_CFG=/etc/haproxy/x.cfg\n") != std::string::npos);
    const auto inherited = cli::SpawnRunner(std::chrono::seconds(10)).run({"env"});
    CHECK(inherited.out.find("PGPASSWORD=secret") != std::string::npos);
    ::unsetenv("PGPASSWORD");
    ::unsetenv("LVSCTL_DB");
    ::unsetenv("SSH_AUTH_SOCK");
    ::unsetenv("LVSCTL_EXEC_HAPROXY_CFG");
}

TEST_CASE("output is bounded: too much stdout fails the command, stderr is cut and marked") {
    cli::SpawnRunner runner(std::chrono::seconds(60));
    CHECK_THROWS_WITH_AS(
        runner.run({"head", "-c", std::to_string(OutputLimit::kMaxOut + 1), "/dev/zero"}),
        "head printed more than 256 MiB; stopped", Error);
    const auto r = runner.run({"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x >&2"});
    CHECK(r.status == 0);
    CHECK(r.err.size() < 70000);
    CHECK(r.err.ends_with("[" + std::to_string(100000 - OutputLimit::kMaxErr) +
                          " more bytes of errors not kept]"));
}

TEST_CASE("commands that stop reading their input, on many threads at once, never kill us") {
    cli::ignore_sigpipe();
    const std::string input(4 << 20, 'x');
    std::vector<std::thread> threads;
    std::vector<int> status(8, -1);
    for (std::size_t t = 0; t < status.size(); ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i) {
                status[t] = cli::SpawnRunner(std::chrono::seconds(30)).run({"true"}, input).status;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (const auto s : status) {
        CHECK(s == 0);
    }
}

TEST_CASE("posix_cksum prints what cksum prints") {
    TempDir dir;
    cli::SpawnRunner runner(std::chrono::seconds(10));
    for (const std::string& text :
         {std::string(), std::string("10.39.84.131\n"), std::string(70000, 'a'),
          std::string("serial_no = 1\nnetwork = direct\n\0x", 33)}) {
        const auto r = runner.run({"cksum"}, text);
        CHECK(r.out == posix_cksum(text) + "\n");
    }
}

TEST_CASE("an upload cut mid-file leaves the file as it was") {
    TempDir dir;
    const auto path = (dir.path / "lvs.cf").string();
    std::ofstream(path) << "old content\n";
    const std::string content(100000, 'n');
    LocalHost host;
    host.cut_input_at = content.size() / 2;
    CHECK_THROWS_AS(upload_atomically(host, "lb 10.39.94.41", path, content, 0644), Error);
    CHECK(read_file(path) == "old content\n");
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                        std::filesystem::directory_iterator()) == 1);  // no temporary left
    host.cut_input_at = std::string::npos;
    upload_atomically(host, "lb 10.39.94.41", path, content, 0644);
    CHECK(read_file(path) == content);
}

TEST_CASE("commands start with no signal blocked, whatever the caller blocks") {
    // As `lvsctl monitor` does: SIGTERM, SIGINT and SIGHUP blocked, taken by sigtimedwait. (Not
    // through sh: dash clears its mask itself.)
    sigset_t blocked;
    sigset_t before;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &blocked, &before);
    cli::SpawnRunner runner(std::chrono::seconds(10));
    const auto r = runner.run({"grep", "^SigBlk", "/proc/self/status"});
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
    CHECK(r.status == 0);
    CHECK(r.out == "SigBlk:\t0000000000000000\n");
}
