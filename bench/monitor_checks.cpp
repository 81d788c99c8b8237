// monitor_checks: the monitor's checks (checks/asio_checks.h) against 1,000 real servers, every
// 2 s, as the monitor runs them: each round checks every server once, starts spread over 1.5 s,
// at most 256 in flight, nanny's HTTP check ("GET / HTTP/1.0", expect "HTTP"). The servers are
// 1,000 listening sockets on 127.0.0.1 (one port each) served by one responder thread (epoll:
// accept, write "HTTP/1.0 200 OK\r\n\r\n", close). Prints each round's CPU time of the checking
// thread (getrusage(RUSAGE_THREAD): the responder is not counted) as a share of one core over the
// interval, failures, and the checks' latencies; then PASS/MISS against issue 13's target, under
// 5% of one core.
//
//   build/gcc/bench/monitor_checks [--rounds 10] [--servers 1000] [--interval-ms 2000]
//                                  [--spread-ms 1500] [--concurrency 256]
//
// A benchmark, not a test: it exits non-zero only when it cannot run (descriptors, sockets) or a
// check failed.
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "checks/asio_checks.h"

using namespace lvsctl;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct Options {
    int rounds = 10;
    std::size_t servers = 1000;
    milliseconds interval{2000};
    milliseconds spread{1500};
    std::size_t concurrency = 256;
    bool floor = true;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (flag == "--no-floor") {
            o.floor = false;
            continue;
        }
        if (i + 1 >= argc) {
            throw std::runtime_error(fmt::format("{}: needs a value", flag));
        }
        const long value = std::strtol(argv[++i], nullptr, 10);
        if (value <= 0) {
            throw std::runtime_error(fmt::format("{}: a positive number", flag));
        }
        if (flag == "--rounds") {
            o.rounds = static_cast<int>(value);
        } else if (flag == "--servers") {
            o.servers = static_cast<std::size_t>(value);
        } else if (flag == "--interval-ms") {
            o.interval = milliseconds(value);
        } else if (flag == "--spread-ms") {
            o.spread = milliseconds(value);
        } else if (flag == "--concurrency") {
            o.concurrency = static_cast<std::size_t>(value);
        } else {
            throw std::runtime_error(fmt::format("unknown option {}", flag));
        }
    }
    return o;
}

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(fmt::format("{}: {}", what, std::strerror(errno)));
}

// Soft RLIMIT_NOFILE up to the hard one; fails when that is fewer than `needed`.
void raise_nofile(rlim_t needed) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        fail("getrlimit");
    }
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        fail("setrlimit");
    }
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
        throw std::runtime_error(fmt::format(
            "RLIMIT_NOFILE: {} descriptors needed, the hard limit is {}", needed, limit.rlim_cur));
    }
}

double cpu_seconds(int who) {
    rusage usage{};
    ::getrusage(who, &usage);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// `count` HTTP servers on 127.0.0.1, one thread: accept, reply, close.
class Responder {
  public:
    explicit Responder(std::size_t count) {
        epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
        stop_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (epoll_ < 0 || stop_ < 0) {
            fail("epoll/eventfd");
        }
        add(stop_);
        for (std::size_t i = 0; i < count; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                fail("socket");
            }
            listeners_.push_back(fd);
            sockaddr_in in{};
            in.sin_family = AF_INET;
            in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            socklen_t length = sizeof in;
            if (::bind(fd, reinterpret_cast<sockaddr*>(&in), length) != 0 ||
                ::listen(fd, 128) != 0 ||
                ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &length) != 0) {
                fail("bind/listen");
            }
            ports_.push_back(ntohs(in.sin_port));
            add(fd);
        }
        thread_ = std::thread([this] { loop(); });
    }
    Responder(const Responder&) = delete;
    Responder& operator=(const Responder&) = delete;
    ~Responder() {
        stop();
        for (const int fd : listeners_) {
            ::close(fd);
        }
        ::close(stop_);
        ::close(epoll_);
    }

    const std::vector<std::uint16_t>& ports() const { return ports_; }
    double cpu() const { return cpu_; }  // the responder thread's CPU time, once stopped
    std::uint64_t answered() const { return answered_; }

    void stop() {
        if (thread_.joinable()) {
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto n = ::write(stop_, &one, sizeof one);
            thread_.join();
        }
    }

  private:
    void add(int fd) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = fd;
        if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
            fail("epoll_ctl");
        }
    }

    void loop() {
        static constexpr std::string_view reply = "HTTP/1.0 200 OK\r\n\r\n";
        std::vector<epoll_event> events(256);
        while (true) {
            const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
            for (int i = 0; i < n; ++i) {
                const int fd = events[static_cast<std::size_t>(i)].data.fd;
                if (fd == stop_) {
                    cpu_ = cpu_seconds(RUSAGE_THREAD);
                    return;
                }
                while (true) {
                    const int conn = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
                    if (conn < 0) {
                        break;
                    }
                    [[maybe_unused]] const auto sent =
                        ::send(conn, reply.data(), reply.size(), MSG_NOSIGNAL);
                    ::close(conn);
                    ++answered_;
                }
            }
        }
    }

    int epoll_ = -1;
    int stop_ = -1;
    std::vector<int> listeners_;
    std::vector<std::uint16_t> ports_;
    std::atomic<double> cpu_{0};
    std::atomic<std::uint64_t> answered_{0};
    std::thread thread_;
};

// The floor: the same exchanges with plain blocking calls, one after another, no event loop
// (socket, connect, send, one recv, close). Returns this thread's CPU time, in which loopback
// runs both ends' TCP: the server's side of the handshake, of the request and of the close too.
double floor_cpu(const std::vector<std::uint16_t>& ports, std::string_view send) {
    const double before = cpu_seconds(RUSAGE_THREAD);
    for (const auto port : ports) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in.sin_port = htons(port);
        char reply[255];
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0 ||
            ::send(fd, send.data(), send.size(), MSG_NOSIGNAL) < 0 ||
            ::recv(fd, reply, sizeof reply, 0) <= 0) {
            fail("floor");
        }
        ::close(fd);
    }
    return cpu_seconds(RUSAGE_THREAD) - before;
}

milliseconds percentile(const std::vector<milliseconds>& sorted, double p) {
    if (sorted.empty()) {
        return milliseconds(0);
    }
    const auto at = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[at];
}

std::string ms(milliseconds value) {
    return value.count() == 0 ? std::string("<1 ms") : fmt::format("{} ms", value.count());
}

}  // namespace

int main(int argc, char** argv) try {
    const auto o = parse(argc, argv);
    // The listeners, a socket per check in flight, the responder's accepted one, and some room.
    raise_nofile(static_cast<rlim_t>(o.servers + o.concurrency + 64));

    Responder responder(o.servers);
    const auto loopback = *IpAddress::parse("127.0.0.1");
    std::vector<CheckTarget> targets;
    for (const auto port : responder.ports()) {
        targets.push_back({loopback, port, loopback});
    }
    MonitorChecks checks;
    checks.timeout = 10;
    checks.send = "GET / HTTP/1.0\r\n\r\n";
    checks.expect = "HTTP";

    fmt::print(
        "monitor_checks: {} servers on 127.0.0.1, a round every {} ms, {} rounds, spread "
        "{} ms, at most {} in flight\n",
        o.servers, o.interval.count(), o.rounds, o.spread.count(), o.concurrency);
    double floor = 0;
    if (o.floor) {
        floor = floor_cpu(responder.ports(), checks.send);
        fmt::print(
            "floor: the same {} exchanges with blocking calls, back to back: {:.1f} ms of "
            "CPU ({:.1f} us each)\n",
            o.servers, floor * 1000, 1e6 * floor / static_cast<double>(o.servers));
    }
    fmt::print("{:>5} {:>8} {:>8} {:>10} {:>12} {:>10}\n", "round", "checks", "failed", "wall",
               "checker CPU", "of a core");

    lvsctl::checks::AsioCheckRunner runner;
    std::vector<milliseconds> latencies;
    latencies.reserve(o.servers * static_cast<std::size_t>(o.rounds));
    std::size_t failures = 0;
    double cpu_total = 0, cpu_max = 0;
    const double process_before = cpu_seconds(RUSAGE_SELF);
    const auto begun = SteadyClock::now();
    std::string first_failure;
    for (int round = 0; round < o.rounds; ++round) {
        std::this_thread::sleep_until(begun + o.interval * round);
        const double cpu_before = cpu_seconds(RUSAGE_THREAD);
        const auto started = SteadyClock::now();
        const auto results = runner.run(targets, checks, o.spread, o.concurrency);
        const auto wall = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started);
        const double cpu = cpu_seconds(RUSAGE_THREAD) - cpu_before;
        std::size_t failed = 0;
        for (const auto& r : results) {
            latencies.push_back(r.latency);
            if (!r.ok) {
                ++failed;
                if (first_failure.empty()) {
                    first_failure = r.why;
                }
            }
        }
        failures += failed;
        cpu_total += cpu;
        cpu_max = std::max(cpu_max, cpu);
        const double share = 100 * cpu / std::chrono::duration<double>(o.interval).count();
        fmt::print("{:>5} {:>8} {:>8} {:>7} ms {:>9.1f} ms {:>9.2f}%\n", round + 1, results.size(),
                   failed, wall.count(), cpu * 1000, share);
        std::fflush(stdout);
    }
    std::this_thread::sleep_until(begun + o.interval * o.rounds);
    const double process = cpu_seconds(RUSAGE_SELF) - process_before;
    responder.stop();

    const double interval = std::chrono::duration<double>(o.interval).count();
    const double mean = cpu_total / o.rounds;
    std::sort(latencies.begin(), latencies.end());
    fmt::print("\nrounds: {}; checks per round: {}; failures: {}{}\n", o.rounds, o.servers,
               failures, first_failure.empty() ? "" : fmt::format(" (first: {})", first_failure));
    fmt::print(
        "checker CPU per round: mean {:.1f} ms, max {:.1f} ms = {:.2f}% / {:.2f}% of one "
        "core over {:.0f} s ({:.1f} us per check)\n",
        mean * 1000, cpu_max * 1000, 100 * mean / interval, 100 * cpu_max / interval, interval,
        1e6 * mean / static_cast<double>(o.servers));
    if (o.floor) {
        fmt::print("checker CPU per round / the floor: {:.2f}x\n", mean / floor);
    }
    fmt::print(
        "responder (not counted above): {:.1f} ms of CPU per 1,000 answers; the whole process "
        "during the rounds: {:.2f}% of one core\n",
        1e6 * responder.cpu() /
            static_cast<double>(std::max<std::uint64_t>(responder.answered(), 1)),
        100 * process / (interval * o.rounds));
    fmt::print("check latency: p50 {}, p99 {}, max {}\n", ms(percentile(latencies, 0.50)),
               ms(percentile(latencies, 0.99)),
               ms(latencies.empty() ? milliseconds(0) : latencies.back()));
    const bool pass = 100 * cpu_max / interval < 5;
    fmt::print("{} checker under 5% of one core (worst round: {:.2f}%)\n", pass ? "PASS" : "MISS",
               100 * cpu_max / interval);
    return failures == 0 ? 0 : 1;
} catch (const std::exception& e) {
    fmt::print(stderr, "monitor_checks: {}\n", e.what());
    return 1;
}
