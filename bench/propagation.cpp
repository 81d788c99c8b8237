// propagation: website IPs onto many web servers over SSH, against the floor of applying the
// same addresses locally with one `ip -batch` per host. Run under tests/ssh/sshd-hosts (which
// makes the hosts, each a network namespace with its own sshd):
//
//   tests/ssh/sshd-hosts 64 build/gcc/bench/propagation [--v4 8000] [--v6 2000]
//                                                       [--parallel 16] [--cold-parallel N]
//                                                       [--rounds 3] [--no-floor]
//
// Steps: the floor (the same addresses with `ip -n NS -batch`, `cold-parallel` at once; then
// removed again), lvsctl from empty (also `cold-parallel` at once), then `rounds` no-ops and
// `rounds` times one IP added (`parallel` at once, lvsctl's default 16), each followed by the same
// done by hand over SSH. Prints times, changing commands and lvsctl's peak memory, and the targets
// of issue 5 (the incremental ones on the medians). A benchmark, not a test: it exits non-zero only
// when a step's result is wrong (a host not converged, a no-op that changed something).
// `--no-floor` skips the floor (and so the first target), for measuring the SSH steps alone.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lvsctl/fanout.h"
#include "lvsctl/manage/propagate.h"
#include "lvsctl/manage/web_step.h"
#include "propagation/ssh.h"

using namespace lvsctl;
using Seconds = std::chrono::duration<double>;

namespace {

struct Options {
    int v4 = 8000, v6 = 2000;
    std::size_t parallel = 16;  // lvsctl's --parallel
    // Adding 10,000 addresses is the kernel's work, and here all hosts share one kernel and this
    // machine's cores (in production each web server has its own): more at once than cores only
    // adds contention, to the floor and lvsctl alike. Reads are latency, not CPU: `parallel`.
    std::size_t cold_parallel = std::max(1U, std::thread::hardware_concurrency());
    bool floor = true;
    int rounds = 3;  // of the no-op and of one IP added
};

struct Host {
    std::string netns;
    IpAddress address;
};

std::string env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr) {
        throw std::runtime_error(
            fmt::format("{} is not set: run under tests/ssh/sshd-hosts", name));
    }
    return v;
}

std::vector<Host> hosts() {
    std::ifstream in(env("LVSCTL_TEST_SSH_HOSTS"));
    std::vector<Host> out;
    int index = 0;
    std::string netns, v4, v6;
    while (in >> index >> netns >> v4 >> v6) {
        out.push_back({netns, *IpAddress::parse(v4)});
    }
    return out;
}

std::vector<IpAddress> website_ips(const Options& o) {
    std::vector<IpAddress> out;
    for (int i = 0; i < o.v4; ++i) {
        out.push_back(*IpAddress::parse(
            fmt::format("10.{}.{}.{}", 40 + i / 62500, (i / 250) % 250, i % 250 + 1)));
    }
    for (int i = 0; i < o.v6; ++i) {
        out.push_back(*IpAddress::parse(fmt::format("2001:db8:40::{:x}", i + 1)));
    }
    return out;
}

// `ip -n NS -batch -` with `input`, from this process: the floor.
bool local_batch(const std::string& netns, const std::string& input) {
    const auto command = fmt::format("ip -n {} -batch - >/dev/null", netns);
    FILE* p = ::popen(command.c_str(), "w");
    if (p == nullptr) {
        return false;
    }
    std::fwrite(input.data(), 1, input.size(), p);
    return ::pclose(p) == 0;
}

double cpu_seconds() {  // this process's user + system time: lvsctl's side, not the hosts'
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kib() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

double median(std::vector<double> v) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

template <typename Fn>
double timed(Fn&& fn) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    return Seconds(std::chrono::steady_clock::now() - start).count();
}

int run(const Options& o) {
    const auto all = hosts();
    const auto ips = website_ips(o);
    std::vector<WebTarget> targets;
    for (const auto& h : all) {
        targets.push_back({"web " + h.address.str(), h.address, 22});
    }
    fmt::print(
        "propagation: {} hosts x {} website IPs ({} IPv4 + {} IPv6), parallel {} "
        "(from empty: {})\n",
        all.size(), ips.size(), o.v4, o.v6, o.parallel, o.cold_parallel);
    std::fflush(stdout);
    bool ok = true;

    // The floor first: the same addresses into the same namespaces with one ip -batch each, no
    // SSH, `parallel` at once; then removed again (not timed), so that lvsctl starts from the
    // same empty kernel. (The kernel's cost grows with the addresses it holds in all namespaces,
    // so neither may run while the other's addresses are still there.)
    const auto adds = ip_batch(ips, {}, "lo");
    std::vector<InterfaceAddress> all_remove;
    for (const auto& ip : ips) {
        all_remove.push_back({ip, ip.host_prefix()});
    }
    const auto removes = ip_batch({}, all_remove, "lo");
    std::vector<char> floor_ok(all.size(), 0);
    const double floor = !o.floor ? 0.0 : timed([&] {
        fan_out(all.size(), o.cold_parallel,
                [&](std::size_t i) { floor_ok[i] = local_batch(all[i].netns, adds) ? 1 : 0; });
    });
    if (o.floor) {
        fmt::print("floor (ip -n NS -batch)  {:8.3f} s\n", floor);
        std::fflush(stdout);
    }
    const double cleanup = !o.floor ? 0.0 : timed([&] {
        fan_out(all.size(), o.cold_parallel, [&](std::size_t i) {
            if (floor_ok[i] == 0 || !local_batch(all[i].netns, removes)) {
                fmt::print(stderr, "propagation: the floor's ip -batch failed in {}\n",
                           all[i].netns);
                floor_ok[i] = 0;
            }
        });
    });
    if (o.floor) {
        fmt::print("  (its removal           {:8.3f} s, not counted)\n", cleanup);
        std::fflush(stdout);
        ok = std::all_of(floor_ok.begin(), floor_ok.end(), [](char c) { return c != 0; });
    }

    propagation::SshOptions ssh_options;
    ssh_options.identity = env("LVSCTL_TEST_SSH_IDENTITY");
    ssh_options.known_hosts = env("LVSCTL_TEST_SSH_KNOWN_HOSTS");
    ssh_options.timeout = std::chrono::seconds(120);
    propagation::SshConnector ssh(ssh_options);
    auto step = [&](const char* name, const std::vector<IpAddress>& want,
                    std::size_t expect_changing, std::size_t parallel) {
        std::vector<HostReport> reports;
        const double cpu = cpu_seconds();
        const double took =
            timed([&] { reports = deploy_web_servers(ssh, targets, 1, want, parallel); });
        std::size_t changing = 0;
        for (const auto& r : reports) {
            changing += r.changing_commands;
            for (const auto& e : r.errors) {
                fmt::print(stderr, "propagation: {}: {}\n", name, e);
                ok = false;
            }
        }
        fmt::print(
            "{:<24} {:8.3f} s  changing commands {} ({} expected)  lvsctl CPU {:.2f} s  "
            "peak RSS {:.1f} MiB\n",
            name, took, changing, expect_changing, cpu_seconds() - cpu, peak_rss_kib() / 1024.0);
        std::fflush(stdout);
        if (changing != expect_changing) {
            ok = false;
        }
        return took;
    };
    // What any SSH tool pays here, without lvsctl: on every host a session and `commands`, run
    // one after the other (each must exit 0).
    auto by_hand = [&](const char* name, const std::vector<std::vector<std::string>>& commands,
                       const char* what) {
        const double cpu = cpu_seconds();
        std::vector<char> done(all.size(), 0);
        const double took = timed([&] {
            fan_out(all.size(), o.parallel, [&](std::size_t i) {
                try {
                    auto host = ssh.connect(all[i].address, 22);
                    bool all_ok = true;
                    for (const auto& argv : commands) {
                        all_ok = all_ok && host->run(argv).status == 0;
                    }
                    done[i] = all_ok ? 1 : 0;
                } catch (const std::exception& e) {
                    fmt::print(stderr, "propagation: {}\n", e.what());
                }
            });
        });
        ok = ok && std::all_of(done.begin(), done.end(), [](char c) { return c != 0; });
        fmt::print("{:<24} {:8.3f} s  ({})  lvsctl CPU {:.2f} s\n", name, took, what,
                   cpu_seconds() - cpu);
        std::fflush(stdout);
        return took;
    };
    by_hand("ssh floor, empty lo", {{"true"}}, "a session and `true` on each host");
    const auto n = all.size();
    const double cold =
        step("lvsctl from empty", ips, 2 * n, o.cold_parallel);  // sysctl; record + ip -batch
    // sshd dumps every address of the host on each login (getaddrinfo), so with the addresses
    // in place a session costs more.
    by_hand("ssh floor", {{"true"}}, "a session and `true` on each host");

    // The incremental steps `rounds` times each; their medians meet the targets. Each round of
    // "one IP added" adds another address, then the same by hand: a session, `ip -br` of lo (what
    // any tool must read) and `ip addr add` (what it must change).
    std::vector<double> noops, ones, hands;
    for (int r = 0; r < o.rounds; ++r) {
        noops.push_back(step("lvsctl no-op", ips, 0, o.parallel));
    }
    auto want = ips;
    for (int r = 0; r < o.rounds; ++r) {
        want.push_back(*IpAddress::parse(fmt::format("10.99.0.{}", r + 1)));
        ones.push_back(step("lvsctl one IP added", want, n, o.parallel));  // record + ip -batch
        hands.push_back(
            by_hand("by hand: one IP added",
                    {{"ip", "-br", "addr", "show", "dev", "lo"},
                     {"ip", "addr", "add", fmt::format("10.98.0.{}/32", r + 1), "dev", "lo"}},
                    "ip -br addr show dev lo; ip addr add"));
    }
    const double noop = median(noops);
    const double one = median(ones);
    const double peak = peak_rss_kib() / 1024.0;

    auto verdict = [](bool pass) { return pass ? "PASS" : "MISS"; };
    fmt::print("\ntargets:\n");
    if (o.floor) {
        fmt::print("  from empty within 2x of the floor   {:6.2f}x  {}\n", cold / floor,
                   verdict(cold <= 2 * floor));
    } else {
        fmt::print("  from empty within 2x of the floor   (not measured: --no-floor)\n");
    }
    fmt::print("  no-op under 5 s                     {:6.2f} s  {}  (median of {})\n", noop,
               verdict(noop < 5), noops.size());
    fmt::print(
        "  one IP added under 3 s              {:6.2f} s  {}  (median of {}; by hand {:.2f} s)\n",
        one, verdict(one < 3), ones.size(), median(hands));
    fmt::print("  peak memory under 100 MB            {:6.1f} MiB  {}\n", peak,
               verdict(peak < 100));
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--no-floor") {
            o.floor = false;
            --i;  // a flag without a value
            continue;
        }
        const int value = i + 1 < argc ? std::atoi(argv[i + 1]) : -1;  // none: the usage
        if (flag == "--v4" && value >= 0) {
            o.v4 = value;
        } else if (flag == "--v6" && value >= 0) {
            o.v6 = value;
        } else if (flag == "--parallel" && value > 0) {
            o.parallel = static_cast<std::size_t>(value);
        } else if (flag == "--rounds" && value > 0) {
            o.rounds = value;
        } else if (flag == "--cold-parallel" && value > 0) {
            o.cold_parallel = static_cast<std::size_t>(value);
        } else {
            std::fprintf(stderr,
                         "usage: propagation [--v4 N] [--v6 N] [--parallel N] [--cold-parallel N] "
                         "[--rounds N] [--no-floor]\n");
            return 64;
        }
    }
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "propagation: %s\n", e.what());
        return 70;
    }
}
