// The monitor's metrics endpoint (`lvsctl monitor --metrics-listen`, docs/monitor.md): a small
// HTTP server on its own thread and Asio event loop, answering `GET /metrics` with the text the
// loop published last. Read-only: it serves a copy of a string and nothing else.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "lvsctl/lb/metrics.h"

namespace lvsctl::checks {

class MetricsServer : public MetricsSink {
  public:
    // Listens on `where` (port 0: one the kernel picks, see port()). Throws
    // Error(ExitCode::config) naming the address when it cannot listen. A client has `timeout` to
    // send its request and read the answer; at most 16 are served at once (more wait).
    explicit MetricsServer(const ListenAddress& where,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;
    ~MetricsServer() override;  // stops the thread; clients in flight are cut

    std::uint16_t port() const;
    // Thread-safe. Until the first call, /metrics answers 503 (no round done yet).
    void publish(std::string text) override;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lvsctl::checks
