#include "checks/http_server.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <cctype>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "lvsctl/error.h"

namespace lvsctl::checks {

namespace {

using asio::ip::tcp;

constexpr std::size_t kMaxClients = 16;
constexpr std::size_t kMaxRequest = 8192;

std::string reply(const HttpAnswer& a) {
    std::string head = fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
                                   a.status, a.content_type, a.body.size());
    for (const auto& [name, value] : a.headers) {
        head += fmt::format("{}: {}\r\n", name, value);
    }
    return head + "Connection: close\r\n\r\n" + a.body;
}

std::string reply(std::string_view status, std::string_view body) {
    return reply(
        HttpAnswer{std::string(status), "text/plain; charset=utf-8", std::string(body), {}});
}

// The value of header `name` (lower case) in `head`, the request's lines after the first.
std::string header(std::string_view head, std::string_view name) {
    while (!head.empty()) {
        const auto end = head.find('\n');
        auto line = head.substr(0, end);
        head = end == std::string_view::npos ? std::string_view() : head.substr(end + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon != name.size() ||
            !std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
                return a == std::tolower(static_cast<unsigned char>(b));
            })) {
            continue;
        }
        auto value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
            value.remove_suffix(1);
        }
        return std::string(value);
    }
    return {};
}

}  // namespace

std::optional<ParsedHttpRequest> parse_http_request(std::string_view head) {
    const auto first = head.find_first_of("\r\n");
    const auto line = head.substr(0, first);
    const auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) {
        return std::nullopt;
    }
    const auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/")) {
        return std::nullopt;
    }
    auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (!target.starts_with('/')) {
        return std::nullopt;  // absolute-form and asterisk-form: no proxy or OPTIONS here
    }
    target = target.substr(0, target.find('?'));
    const auto rest = first == std::string_view::npos ? std::string_view() : head.substr(first);
    return ParsedHttpRequest{std::string(line.substr(0, sp1)),
                             {std::string(target), header(rest, "host")}};
}

struct HttpServer::Impl {
    // Declared before `io`: destroying `io` destroys the clients still pending, and they look
    // at these.
    bool stopping = false;
    std::size_t clients = 0;  // on the io thread only
    bool accepting = false;
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::chrono::milliseconds timeout{};
    HttpHandler handler;
    std::thread thread;

    // One client: its request read (up to the blank line), one answer written, closed.
    struct Client : std::enable_shared_from_this<Client> {
        Client(Impl& impl, tcp::socket s) : owner(impl), socket(std::move(s)), timer(impl.io) {}
        ~Client() { owner.done(); }
        Impl& owner;
        tcp::socket socket;
        asio::steady_timer timer;
        std::array<char, 1024> buffer{};
        std::string request;
        std::string answer;

        void start() {
            timer.expires_after(owner.timeout);
            timer.async_wait([self = shared_from_this()](std::error_code ec) {
                if (!ec) {
                    std::error_code ignored;
                    self->socket.close(ignored);
                }
            });
            read();
        }
        void read() {
            socket.async_read_some(asio::buffer(buffer),
                                   [self = shared_from_this()](std::error_code ec, std::size_t n) {
                                       if (ec) {
                                           return;
                                       }
                                       self->request.append(self->buffer.data(), n);
                                       if (self->request.find("\r\n\r\n") != std::string::npos ||
                                           self->request.find("\n\n") != std::string::npos) {
                                           self->respond();
                                       } else if (self->request.size() > kMaxRequest) {
                                           self->write(reply("431 Request Header Fields Too Large",
                                                             "request too large\n"));
                                       } else {
                                           self->read();
                                       }
                                   });
        }
        void respond() {
            const auto parsed = parse_http_request(request);
            if (!parsed) {
                write(reply("400 Bad Request", "bad request\n"));
                return;
            }
            if (parsed->method != "GET") {
                auto a = HttpAnswer{"405 Method Not Allowed",
                                    "text/plain; charset=utf-8",
                                    "read-only: only GET\n",
                                    {{"Allow", "GET"}}};
                write(reply(a));
                return;
            }
            try {
                write(reply(owner.handler(parsed->request)));
            } catch (const std::exception& e) {
                write(reply("500 Internal Server Error", std::string(e.what()) + "\n"));
            }
        }
        void write(std::string response) {
            answer = std::move(response);
            asio::async_write(socket, asio::buffer(answer),
                              [self = shared_from_this()](std::error_code ec, std::size_t) {
                                  if (ec) {
                                      return;
                                  }
                                  // A lingering close: what the client still sends is read and
                                  // dropped, so that closing does not reset the connection
                                  // before the client has read the answer.
                                  std::error_code ignored;
                                  self->socket.shutdown(tcp::socket::shutdown_send, ignored);
                                  self->drain();
                              });
        }
        void drain() {
            socket.async_read_some(asio::buffer(buffer),
                                   [self = shared_from_this()](std::error_code ec, std::size_t) {
                                       if (!ec) {
                                           self->drain();
                                           return;
                                       }
                                       std::error_code ignored;
                                       self->socket.close(ignored);
                                       self->timer.cancel();
                                   });
        }
    };

    void accept() {
        accepting = true;
        acceptor.async_accept([this](std::error_code ec, tcp::socket socket) {
            accepting = false;
            if (ec == asio::error::operation_aborted) {
                return;
            }
            if (!ec) {
                ++clients;
                std::make_shared<Client>(*this, std::move(socket))->start();
            }
            if (clients < kMaxClients) {
                accept();
            }
        });
    }
    void done() {
        --clients;
        if (!stopping && !accepting) {
            accept();
        }
    }
};

HttpServer::HttpServer(std::string_view name, const ListenAddress& where, HttpHandler handler,
                       std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    impl_->timeout = timeout;
    impl_->handler = std::move(handler);
    try {
        const tcp::endpoint endpoint(asio::ip::make_address(where.address.str()), where.port);
        impl_->acceptor.open(endpoint.protocol());
        impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
        impl_->acceptor.bind(endpoint);
        impl_->acceptor.listen();
    } catch (const std::system_error& e) {
        throw Error(ExitCode::config, fmt::format("{}: cannot listen on {}: {}", name, where.str(),
                                                  e.code().message()));
    }
    impl_->accept();
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

HttpServer::~HttpServer() {
    impl_->io.stop();
    impl_->thread.join();
    impl_->stopping = true;
}

std::uint16_t HttpServer::port() const {
    return impl_->acceptor.local_endpoint().port();
}

// --- the monitor's metrics endpoint
// ---------------------------------------------------------------

struct MetricsServer::State {
    std::mutex mutex;
    std::optional<std::string> text;  // under `mutex`

    HttpAnswer answer(const HttpRequest& r) {
        if (r.path != "/metrics") {
            return {
                "404 Not Found", "text/plain; charset=utf-8", "the metrics are at /metrics\n", {}};
        }
        const std::lock_guard lock(mutex);
        if (!text) {
            return {
                "503 Service Unavailable", "text/plain; charset=utf-8", "no round done yet\n", {}};
        }
        return {"200 OK", "text/plain; version=0.0.4; charset=utf-8", *text, {}};
    }
};

MetricsServer::MetricsServer(const ListenAddress& where, std::chrono::milliseconds timeout)
    : state_(std::make_shared<State>()),
      server_(
          "metrics", where, [state = state_](const HttpRequest& r) { return state->answer(r); },
          timeout) {}

MetricsServer::~MetricsServer() = default;

std::uint16_t MetricsServer::port() const {
    return server_.port();
}

void MetricsServer::publish(std::string text) {
    const std::lock_guard lock(state_->mutex);
    state_->text = std::move(text);
}

}  // namespace lvsctl::checks
