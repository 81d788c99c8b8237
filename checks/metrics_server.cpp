#include "checks/metrics_server.h"

#include <fmt/format.h>

#include <array>
#include <asio.hpp>
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

std::string reply(std::string_view status, std::string_view content_type, std::string_view body) {
    return fmt::format(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        status, content_type, body.size(), body);
}

}  // namespace

struct MetricsServer::Impl {
    // Declared before `io`: destroying `io` destroys the clients still pending, and they look
    // at these.
    bool stopping = false;
    std::size_t clients = 0;  // on the io thread only
    bool accepting = false;
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::chrono::milliseconds timeout{};
    std::mutex mutex;
    std::optional<std::string> text;  // under `mutex`
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
                                                             "text/plain", "request too large\n"));
                                       } else {
                                           self->read();
                                       }
                                   });
        }
        void respond() {
            const std::string_view line(request.data(), request.find_first_of("\r\n"));
            const auto sp1 = line.find(' ');
            const auto sp2 = line.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
            if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
                write(reply("400 Bad Request", "text/plain", "bad request\n"));
                return;
            }
            const auto method = line.substr(0, sp1);
            auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
            target = target.substr(0, target.find('?'));
            if (method != "GET") {
                write(reply("405 Method Not Allowed", "text/plain", "only GET\n"));
            } else if (target != "/metrics") {
                write(reply("404 Not Found", "text/plain", "the metrics are at /metrics\n"));
            } else if (auto t = owner.current()) {
                write(reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", *t));
            } else {
                write(reply("503 Service Unavailable", "text/plain", "no round done yet\n"));
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

    std::optional<std::string> current() {
        const std::lock_guard lock(mutex);
        return text;
    }

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

MetricsServer::MetricsServer(const ListenAddress& where, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    impl_->timeout = timeout;
    try {
        const tcp::endpoint endpoint(asio::ip::make_address(where.address.str()), where.port);
        impl_->acceptor.open(endpoint.protocol());
        impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
        impl_->acceptor.bind(endpoint);
        impl_->acceptor.listen();
    } catch (const std::system_error& e) {
        throw Error(ExitCode::config, fmt::format("metrics: cannot listen on {}: {}", where.str(),
                                                  e.code().message()));
    }
    impl_->accept();
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

MetricsServer::~MetricsServer() {
    impl_->io.stop();
    impl_->thread.join();
    impl_->stopping = true;
}

std::uint16_t MetricsServer::port() const {
    return impl_->acceptor.local_endpoint().port();
}

void MetricsServer::publish(std::string text) {
    const std::lock_guard lock(impl_->mutex);
    impl_->text = std::move(text);
}

}  // namespace lvsctl::checks
