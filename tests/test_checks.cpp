// The real CheckRunner (checks/asio_checks.h) against real TCP servers on loopback (127.0.0.1
// and ::1), each a poll() loop in a thread of the test: what passes, what fails and why, the
// timeout, the limit on checks in flight and the spread of their starts. Then the metrics
// endpoint (checks/http_server.h) with real HTTP clients.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "checks/asio_checks.h"
#include "checks/http_server.h"
#include "lvsctl/error.h"

using namespace lvsctl;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

// A file descriptor, closed with it.
class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

  private:
    int fd_;
};

// A socket bound to the loopback address of `family` on a port the kernel picks, listening
// unless told not to; an invalid Fd when the family has no loopback here (no IPv6).
Fd bound(Family family, bool listening = true) {
    const bool v4 = family == Family::inet;
    Fd fd(::socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return fd;
    }
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (v4) {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        length = sizeof *in;
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        length = sizeof *in6;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
        (listening && ::listen(fd.get(), 256) != 0)) {
        return Fd();
    }
    return fd;
}

std::uint16_t port_of(const Fd& fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&storage), &length) == 0);
    return ntohs(storage.ss_family == AF_INET
                     ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                     : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
}

// What a test server does with each connection.
struct Behaviour {
    std::string reply;  // written once the connection is `delay` old; "": none
    std::chrono::milliseconds delay{0};
    bool close_after_reply = true;  // else held (what comes in dropped) until the peer closes
};

// A TCP server on loopback in a thread of its own. Counts the connections it accepted and the
// most it held open at once (a connection stops counting when the peer's close is seen, which
// for a close made before the next connect is always before that connection is accepted).
class TestServer {
  public:
    explicit TestServer(Behaviour behaviour, Family family = Family::inet)
        : behaviour_(std::move(behaviour)), listener_(bound(family)) {
        int pipe_fds[2];
        REQUIRE(::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0);
        wake_read_ = Fd(pipe_fds[0]);
        wake_write_ = Fd(pipe_fds[1]);
        if (listener_) {
            port_ = port_of(listener_);
            thread_ = std::thread([this] { loop(); });
        }
    }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;
    ~TestServer() {
        if (thread_.joinable()) {
            const char stop = 's';
            [[maybe_unused]] const auto written = ::write(wake_write_.get(), &stop, 1);
            thread_.join();
        }
    }

    bool listening() const { return static_cast<bool>(listener_); }
    std::uint16_t port() const { return port_; }
    std::size_t accepted() const { return accepted_; }
    std::size_t most_at_once() const { return most_at_once_; }

  private:
    struct Connection {
        Fd fd;
        SteadyClock::time_point accepted;
        bool replied = false;
    };

    // Drops the connections whose peer has closed; reads and drops what the others sent.
    void drop_closed() {
        std::erase_if(connections_, [](const Connection& c) {
            char sink[512];
            while (true) {
                const auto n = ::recv(c.fd.get(), sink, sizeof sink, MSG_DONTWAIT);
                if (n > 0) {
                    continue;
                }
                return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            }
        });
    }

    void loop() {
        std::vector<pollfd> fds;
        while (true) {
            fds.clear();
            fds.push_back({wake_read_.get(), POLLIN, 0});
            fds.push_back({listener_.get(), POLLIN, 0});
            int timeout = -1;
            const auto now = SteadyClock::now();
            for (const auto& c : connections_) {
                fds.push_back({c.fd.get(), POLLIN, 0});
                if (!c.replied && !behaviour_.reply.empty()) {
                    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
                        c.accepted + behaviour_.delay - now);
                    const int ms = static_cast<int>(std::max<std::int64_t>(wait.count(), 0));
                    timeout = timeout < 0 ? ms : std::min(timeout, ms);
                }
            }
            ::poll(fds.data(), fds.size(), timeout);
            if ((fds[0].revents & POLLIN) != 0) {
                return;
            }
            drop_closed();
            while (true) {
                Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
                if (!fd) {
                    break;
                }
                // A peer's close before this connect has been delivered by now: count it first.
                drop_closed();
                connections_.push_back({std::move(fd), SteadyClock::now()});
                ++accepted_;
                most_at_once_ = std::max<std::size_t>(most_at_once_, connections_.size());
            }
            const auto then = SteadyClock::now();
            std::erase_if(connections_, [&](Connection& c) {
                if (c.replied || behaviour_.reply.empty() || then < c.accepted + behaviour_.delay) {
                    return false;
                }
                [[maybe_unused]] const auto n = ::send(c.fd.get(), behaviour_.reply.data(),
                                                       behaviour_.reply.size(), MSG_NOSIGNAL);
                c.replied = true;
                return behaviour_.close_after_reply;
            });
        }
    }

    Behaviour behaviour_;
    Fd listener_;
    Fd wake_read_, wake_write_;
    std::uint16_t port_ = 0;
    std::vector<Connection> connections_;  // the server thread's
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::size_t> most_at_once_{0};
    std::thread thread_;
};

const char* const http_ok = "HTTP/1.0 200 OK\r\n\r\n";

CheckTarget target(const char* address, std::uint16_t port) {
    const auto ip = *IpAddress::parse(address);
    return {ip, port, ip};
}

MonitorChecks make_checks(std::string expect, std::string send = "GET / HTTP/1.0\r\n\r\n",
                          std::uint32_t timeout = 2) {
    MonitorChecks c;
    c.timeout = timeout;
    c.send = std::move(send);
    c.expect = std::move(expect);
    return c;
}

// One target, one check, no spread.
CheckResult check_one(const CheckTarget& t, const MonitorChecks& c) {
    checks::AsioCheckRunner runner;
    const auto results = runner.run({t}, c, 0ms, 16);
    REQUIRE(results.size() == 1);
    CHECK(results[0].address == t.address);
    return results[0];
}

}  // namespace

TEST_CASE("asio checks: an HTTP server's reply passes with expect \"HTTP\"") {
    TestServer server({http_ok});
    const auto r = check_one(target("127.0.0.1", server.port()), make_checks("HTTP"));
    CHECK(r.ok);
    CHECK(r.why == "");
    CHECK(r.latency < 1000ms);
    CHECK(server.accepted() == 1);
}

TEST_CASE("asio checks: a reply that does not start with the expect fails, naming both") {
    TestServer server({"SSH-2.0-OpenSSH_9.2\r\n"});
    const auto r = check_one(target("127.0.0.1", server.port()), make_checks("HTTP"));
    CHECK_FALSE(r.ok);
    CHECK(r.why == R"(reply "SSH-2.0-OpenSSH_9.2\r\n" does not start with "HTTP")");

    // A long or binary reply: 40 bytes of it, escaped.
    TestServer binary({std::string("\x01\x02HTTP/1.0 ", 11) + std::string(60, 'a')});
    const auto b = check_one(target("127.0.0.1", binary.port()), make_checks("HTTP"));
    CHECK_FALSE(b.ok);
    CHECK(b.why == R"(reply "\x01\x02HTTP/1.0 )" + std::string(29, 'a') +
                       R"(..." does not start with "HTTP")");
}

TEST_CASE("asio checks: with nothing to send, a server that speaks first is read") {
    TestServer server({"SSH-2.0-OpenSSH_9.2\r\n"});
    CHECK(check_one(target("127.0.0.1", server.port()), make_checks("SSH-2.0-", "")).ok);
    const auto r = check_one(target("127.0.0.1", server.port()), make_checks("220 ", ""));
    CHECK_FALSE(r.ok);
    CHECK(r.why == R"(reply "SSH-2.0-OpenSSH_9.2\r\n" does not start with "220 ")");
}

TEST_CASE("asio checks: a closed port fails at connect, with the error's message") {
    const auto port = port_of(bound(Family::inet, false));  // bound, then closed: nobody there
    const auto r = check_one(target("127.0.0.1", port), make_checks("HTTP"));
    CHECK_FALSE(r.ok);
    CHECK(r.why.starts_with("connect: "));
    CHECK(r.why == "connect: Connection refused");
}

TEST_CASE("asio checks: a silent server, one that stops short, or no connect: the timeout") {
    TestServer silent({"", 0ms, false});
    TestServer short_reply({"HTTP/1", 0ms, false});  // then nothing, the connection held
    // A listener whose accept queue is full (backlog 0, never accepted): a new SYN is dropped,
    // the connect hangs.
    Fd full(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(full.get(), reinterpret_cast<sockaddr*>(&in), sizeof in) == 0);
    REQUIRE(::listen(full.get(), 0) == 0);
    in.sin_port = htons(port_of(full));
    std::vector<Fd> queued;
    for (int i = 0; i < 3; ++i) {
        queued.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        ::connect(queued.back().get(), reinterpret_cast<sockaddr*>(&in), sizeof in);
    }

    checks::AsioCheckRunner runner;
    const auto begun = SteadyClock::now();
    const auto results =
        runner.run({target("127.0.0.1", silent.port()), target("127.0.0.1", short_reply.port()),
                    target("127.0.0.1", port_of(full))},
                   make_checks("HTTP/1.1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1), 0ms, 16);
    const auto took = SteadyClock::now() - begun;
    REQUIRE(results.size() == 3);
    CHECK_FALSE(results[0].ok);
    CHECK(results[0].why == "no reply within 1 s");
    CHECK(results[0].latency >= 950ms);
    CHECK(results[0].latency < 1500ms);
    CHECK_FALSE(results[1].ok);
    CHECK(results[1].why ==
          R"(reply "HTTP/1" does not start with "HTTP/1.1" (nothing more within 1 s))");
    CHECK_FALSE(results[2].ok);
    CHECK(results[2].why == "connect: timed out after 1 s");
    CHECK(took >= 950ms);
    CHECK(took < 2s);
}

TEST_CASE("asio checks: a regex matches anywhere in the reply") {
    TestServer ok({"HTTP/1.1 200 OK\r\n\r\n"});
    TestServer error({"HTTP/1.1 500 Internal Server Error\r\n\r\n"});
    auto c = make_checks("HTTP/1[.][01] 200");
    c.use_regex = true;
    checks::AsioCheckRunner runner;
    const auto results =
        runner.run({target("127.0.0.1", ok.port()), target("127.0.0.1", error.port())}, c, 0ms, 16);
    REQUIRE(results.size() == 2);
    CHECK(results[0].ok);
    CHECK_FALSE(results[1].ok);
    CHECK(
        results[1].why ==
        R"(reply "HTTP/1.1 500 Internal Server Error\r\n\r\n" does not match "HTTP/1[.][01] 200")");

    // A server that keeps the connection open: a match needs no more bytes (no `$`), so the
    // check passes without waiting for the timeout; with a `$`, the reply is judged at the
    // timeout, as it is.
    TestServer keep_alive({"HTTP/1.1 200 OK\r\n", 0ms, false});
    const auto held = check_one(target("127.0.0.1", keep_alive.port()), c);
    CHECK(held.ok);
    CHECK(held.latency < 900ms);
    auto anchored = make_checks("200 OK\r\n$", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1);
    anchored.use_regex = true;
    const auto at_timeout = check_one(target("127.0.0.1", keep_alive.port()), anchored);
    CHECK(at_timeout.ok);
    CHECK(at_timeout.latency >= 950ms);
}

TEST_CASE("asio checks: IPv6") {
    TestServer server({http_ok}, Family::inet6);
    if (!server.listening()) {
        MESSAGE("skipped: ::1 cannot be bound here");
        return;
    }
    const auto r = check_one(target("::1", server.port()), make_checks("HTTP"));
    CHECK(r.ok);
    CHECK(r.why == "");
    CHECK(server.accepted() == 1);
    const auto closed = port_of(bound(Family::inet6, false));
    CHECK(check_one(target("::1", closed), make_checks("HTTP")).why ==
          "connect: Connection refused");
}

TEST_CASE("asio checks: results in the targets' order, one per target") {
    TestServer server({http_ok});
    checks::AsioCheckRunner runner;
    // 127.0.0.2 is loopback too, but nothing listens there: refused.
    const std::vector<CheckTarget> targets{target("127.0.0.1", server.port()),
                                           target("127.0.0.2", server.port()),
                                           target("127.0.0.1", server.port())};
    const auto results = runner.run(targets, make_checks("HTTP"), 0ms, 2);
    REQUIRE(results.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(results[i].address == targets[i].address);
    }
    CHECK(results[0].ok);
    CHECK_FALSE(results[1].ok);
    CHECK(results[1].why == "connect: Connection refused");
    CHECK(results[2].ok);
    CHECK(runner.run({}, make_checks("HTTP"), 100ms, 2).empty());
}

TEST_CASE("asio checks: at most `concurrency` checks in flight, round after round") {
    // The server answers 5 ms after the connect and holds each connection until the checker
    // closes it: the checks pile up to the limit.
    TestServer server({http_ok, 5ms, false});
    const std::vector<CheckTarget> targets(200, target("127.0.0.1", server.port()));
    checks::AsioCheckRunner runner;
    for (int round = 1; round <= 2; ++round) {
        const auto results = runner.run(targets, make_checks("HTTP"), 0ms, 16);
        REQUIRE(results.size() == 200);
        CHECK(
            std::all_of(results.begin(), results.end(), [](const CheckResult& r) { return r.ok; }));
        CHECK(server.accepted() == 200U * static_cast<unsigned>(round));
    }
    CHECK(server.most_at_once() <= 16);
    CHECK(server.most_at_once() > 1);  // and they did run side by side
}

TEST_CASE("asio checks: starts are spread") {
    TestServer server({http_ok});
    const std::vector<CheckTarget> targets(10, target("127.0.0.1", server.port()));
    checks::AsioCheckRunner runner;
    const auto begun = SteadyClock::now();
    const auto results = runner.run(targets, make_checks("HTTP"), 500ms, 16);
    const auto took = SteadyClock::now() - begun;
    CHECK(std::all_of(results.begin(), results.end(), [](const CheckResult& r) { return r.ok; }));
    CHECK(took >= 450ms);  // the last starts at 9 x 500 / 10 ms
    CHECK(took < 1500ms);
}

TEST_CASE("asio checks: expect \"*\" with nothing to send passes at the connect") {
    TestServer silent({"", 0ms, false});
    const auto r = check_one(target("127.0.0.1", silent.port()), make_checks("*", "", 2));
    CHECK(r.ok);
    CHECK(r.latency < 500ms);
    CHECK(check_one(target("127.0.0.1", silent.port()), make_checks("", "", 2)).ok);
    // With something to send, the send is enough too.
    CHECK(check_one(target("127.0.0.1", silent.port()), make_checks("*", "PING\r\n", 2)).latency <
          500ms);
}

// --- the metrics endpoint (checks/http_server.h) ----------------------------------------------

namespace {

// A blocking HTTP exchange with 127.0.0.1:port: `request` sent, everything read until the server
// closes (or 5 s pass).
std::string http(std::uint16_t port, const std::string& request) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in.sin_port = htons(port);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in) == 0);
    const timeval five{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
    REQUIRE(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    std::string out;
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd.get(), buffer, sizeof buffer, 0)) > 0;) {
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

ListenAddress loopback_any_port() {
    return {*IpAddress::parse("127.0.0.1"), 0};
}

}  // namespace

TEST_CASE("metrics server: 503 until the first round, then the text with its length") {
    checks::MetricsServer server(loopback_any_port());
    const auto get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(http(server.port(), get).starts_with("HTTP/1.1 503 "));
    server.publish("lvsctl_monitor_rounds_total 1\n");
    CHECK(http(server.port(), get) ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
          "Content-Length: 30\r\nConnection: close\r\n\r\nlvsctl_monitor_rounds_total 1\n");
    server.publish("lvsctl_monitor_rounds_total 2\n");
    CHECK(http(server.port(), "GET /metrics?x=1 HTTP/1.0\n\n").ends_with("total 2\n"));
}

TEST_CASE("metrics server: other paths, methods and garbage get an error, never the text") {
    checks::MetricsServer server(loopback_any_port());
    server.publish("secret\n");
    CHECK(http(server.port(), "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
    CHECK(http(server.port(), "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 "));
    CHECK(http(server.port(), "hello\r\n\r\n").starts_with("HTTP/1.1 400 "));
    CHECK(
        http(server.port(), "GET /metrics" + std::string(9000, 'x')).starts_with("HTTP/1.1 431 "));
}

TEST_CASE("metrics server: a client that sends nothing is cut at the timeout and blocks no one") {
    checks::MetricsServer server(loopback_any_port(), 300ms);
    server.publish("up 1\n");
    std::vector<Fd> idle;
    for (int i = 0; i < 20; ++i) {  // more than it serves at once
        idle.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in.sin_port = htons(server.port());
        REQUIRE(::connect(idle.back().get(), reinterpret_cast<sockaddr*>(&in), sizeof in) == 0);
    }
    const auto start = SteadyClock::now();
    CHECK(http(server.port(), "GET /metrics HTTP/1.1\r\n\r\n").ends_with("\r\n\r\nup 1\n"));
    CHECK(SteadyClock::now() - start < 3s);  // served once the idle ones timed out
    char byte = 0;
    CHECK(::recv(idle.front().get(), &byte, 1, 0) == 0);  // closed by the server
}

TEST_CASE("metrics server: an address it cannot listen on is a config error naming it") {
    const Fd taken = bound(Family::inet);
    REQUIRE(taken);
    try {
        checks::MetricsServer server({*IpAddress::parse("127.0.0.1"), port_of(taken)});
        FAIL("listening");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::config);
        CHECK(std::string(e.what()) ==
              fmt::format("metrics: cannot listen on 127.0.0.1:{}: Address already in use",
                          port_of(taken)));
    }
}

TEST_CASE("http server: a request head is METHOD /TARGET HTTP/x, or refused") {
    const auto r = checks::parse_http_request("GET /a/b?c=d HTTP/1.1\r\nX: y\r\nHOST: h:1\r\n\r\n");
    REQUIRE(r);
    CHECK(r->method == "GET");
    CHECK(r->request.path == "/a/b");
    CHECK(r->request.host == "h:1");
    CHECK(checks::parse_http_request("DELETE / HTTP/1.0\n\n")->method == "DELETE");
    for (const char* bad :
         {"", "GET\r\n\r\n", "GET /\r\n\r\n", " / HTTP/1.1\r\n\r\n", "GET / FTP/1\r\n\r\n",
          "GET http://evil.example/ HTTP/1.1\r\n\r\n", "OPTIONS * HTTP/1.1\r\n\r\n"}) {
        CAPTURE(bad);
        CHECK_FALSE(checks::parse_http_request(bad));
    }
}

TEST_CASE("http server: the handler gets the path without its query and the Host header") {
    std::vector<std::pair<std::string, std::string>> seen;
    checks::HttpServer server("serve", loopback_any_port(), [&](const checks::HttpRequest& r) {
        seen.emplace_back(r.path, r.host);
        if (r.path == "/boom") {
            throw std::runtime_error("no snapshot");
        }
        return checks::HttpAnswer{
            "200 OK", "text/html; charset=utf-8", "<p>hi</p>", {{"Cache-Control", "no-store"}}};
    });
    CHECK(http(server.port(), "GET /cluster/1?x=1 HTTP/1.1\r\nhOsT:  127.0.0.1:9633 \r\n\r\n") ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 9\r\n"
          "Cache-Control: no-store\r\nConnection: close\r\n\r\n<p>hi</p>");
    CHECK(http(server.port(), "GET / HTTP/1.0\n\n").ends_with("<p>hi</p>"));
    CHECK(http(server.port(), "GET /boom HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 500 "));
    // Read-only: any other method is refused before the handler sees it.
    const auto post = http(server.port(), "POST /cluster/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    CHECK(post.find("\r\nAllow: GET\r\n") != std::string::npos);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0] == std::pair<std::string, std::string>{"/cluster/1", "127.0.0.1:9633"});
    CHECK(seen[1] == std::pair<std::string, std::string>{"/", ""});
}

TEST_CASE("asio checks: a failure is handed over at once, while a silent server's check goes on") {
    TestServer silent({"", 0ms, false});
    const Fd closed = bound(Family::inet, false);  // bound, not listening: refused
    REQUIRE(closed);
    MonitorChecks c = make_checks("HTTP");
    c.timeout = 1;
    checks::AsioCheckRunner runner;
    const auto start = SteadyClock::now();
    std::vector<std::pair<std::string, SteadyClock::duration>> handed;
    const auto results =
        runner.run({target("127.0.0.1", silent.port()), target("127.0.0.1", port_of(closed))}, c,
                   0ms, 16, [&](const std::vector<CheckResult>& failed) {
                       for (const auto& r : failed) {
                           handed.emplace_back(r.why, SteadyClock::now() - start);
                       }
                   });
    const auto took = SteadyClock::now() - start;
    REQUIRE(handed.size() == 2);
    CHECK(handed[0].first == "connect: Connection refused");
    CHECK(handed[0].second < 500ms);  // not held back by the silent one
    CHECK(handed[1].first == "no reply within 1 s");
    CHECK(took >= 1s);
    REQUIRE(results.size() == 2);
    CHECK_FALSE(results[0].ok);
    CHECK_FALSE(results[1].ok);
}
