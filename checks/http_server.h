// A small read-only HTTP/1.1 server on its own thread and Asio event loop: the monitor's metrics
// endpoint (docs/monitor.md) and `lvsctl serve`'s web view (docs/web-view.md). It answers GET
// only (any other method: 405), one request per connection; the handler only chooses the answer,
// so nothing a client sends can change anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lvsctl/lb/metrics.h"

namespace lvsctl::checks {

struct HttpRequest {
    std::string path;  // the target without its query: "/metrics"
    std::string host;  // the Host header, "" when there is none
};

struct HttpAnswer {
    std::string status = "200 OK";
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // more headers, in this order
};

// A request's head (its lines up to the blank one) read: "METHOD /TARGET HTTP/x" and the Host
// header. std::nullopt when the request line is not of that form (400).
struct ParsedHttpRequest {
    std::string method;
    HttpRequest request;
};
std::optional<ParsedHttpRequest> parse_http_request(std::string_view head);

// Called on the server's thread, one request at a time; must not block for long.
using HttpHandler = std::function<HttpAnswer(const HttpRequest&)>;

class HttpServer {
  public:
    // Listens on `where` (port 0: one the kernel picks, see port()). Throws
    // Error(ExitCode::config) "NAME: cannot listen on ADDRESS: reason" when it cannot. A client has
    // `timeout` to send its request and read the answer; at most 16 are served at once (more
    // wait). A request over 8 KiB is refused (431).
    HttpServer(std::string_view name, const ListenAddress& where, HttpHandler handler,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    ~HttpServer();  // stops the thread; clients in flight are cut

    std::uint16_t port() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The monitor's metrics endpoint: `GET /metrics` answers the text published last (503 before the
// first round); every other path is 404.
class MetricsServer : public MetricsSink {
  public:
    explicit MetricsServer(const ListenAddress& where,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~MetricsServer() override;

    std::uint16_t port() const;
    // Thread-safe.
    void publish(std::string text) override;

  private:
    struct State;
    std::shared_ptr<State> state_;
    HttpServer server_;
};

}  // namespace lvsctl::checks
