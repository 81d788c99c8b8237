// `lvsctl serve` (docs/web-view.md): a read-only web view of every cluster and Prometheus metrics
// of the management side. A gatherer reads the database and every host each interval into a
// snapshot; the pages are rendered from the last snapshot only, so a request never reaches the
// database or a host, and nothing a client sends changes anything. Pure but for the gather.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lvsctl/manage/run_log.h"
#include "lvsctl/manage/status.h"
#include "lvsctl/model.h"

namespace lvsctl {

using WallTime = std::chrono::system_clock::time_point;

// One cluster as the last gather found it.
struct ClusterSnapshot {
    std::int64_t id = 0;
    std::string name;
    std::optional<Cluster> cluster;    // when it was read and is valid
    std::vector<HostStatus> hosts;     // gather_status's, LBs first
    std::vector<RunSummary> runs;      // its last runs, newest first
    std::optional<std::string> error;  // it could not be read, or is not valid: why
    WallTime gathered{};
};

struct ServeSnapshot {
    std::vector<ClusterSnapshot> clusters;  // by id
    std::vector<RunCount> run_counts;
    WallTime gathered{};        // when this gather ended
    double gather_seconds = 0;  // how long it took
    std::uint64_t gathers = 0;  // gathers done since the start, this one included
    // The database could not be read at all: the clusters are the previous gather's.
    std::optional<std::string> error;
    std::uint64_t failed_gathers = 0;
};

// What a gather reads the database through (db::Database behind it in `lvsctl serve`).
class ServeSource {
  public:
    virtual ~ServeSource() = default;
    struct Named {
        std::int64_t id = 0;
        std::string name;
    };
    virtual std::vector<Named> clusters() = 0;
    virtual Cluster read_cluster(std::int64_t id) = 0;
    virtual std::vector<RunSummary> recent_runs(std::int64_t id, int limit) = 0;
    virtual std::vector<RunCount> run_counts() = 0;
};

struct GatherSettings {
    std::size_t parallel = 32;  // hosts of a cluster read at once
    int runs = 10;              // runs listed per cluster
};

// Every cluster of `source`, read and gathered as `status` does, one cluster after the other. A
// cluster that cannot be read or is not valid gets its error and is not gathered; an error of the
// source as a whole (the database is unreachable) is thrown. `gathers` and `failed_gathers` are
// the caller's to set.
ServeSnapshot gather_snapshot(ServeSource& source, UpdateEnvironment& env,
                              const GatherSettings& settings, const std::function<WallTime()>& now);

// --- the pages
// ------------------------------------------------------------------------------------

struct WebViewSettings {
    std::chrono::seconds refresh{30};  // how often a page refreshes itself (the gather interval)
    // Host header names accepted besides IP literals and "localhost" (`--allow-host`): a name
    // the server does not know is refused (421), so that a web page on another site cannot read
    // the view through a DNS name rebound to this address.
    std::vector<std::string> allowed_hosts;
};

struct WebAnswer {
    int status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // security and cache headers
};

// `&` `<` `>` `"` `'` as HTML entities.
std::string html_escape(std::string_view text);

// Whether a Host header value (with or without its port) may reach the view: empty, an IP
// literal ("10.0.0.1", "[::1]"), "localhost", or one of `allowed`.
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed);

std::string render_index(const ServeSnapshot& snapshot, const WebViewSettings& settings,
                         WallTime now);
// The part of a cluster's page that refreshes in place (`/cluster/N/fragment`).
std::string render_cluster_fragment(const ClusterSnapshot& cluster, const WebViewSettings& settings,
                                    WallTime now);
std::string render_cluster_page(const ClusterSnapshot& cluster, const WebViewSettings& settings,
                                WallTime now);
// Prometheus' text format (0.0.4): runs by result, last run age, drift, unreadable hosts and
// missing website IPs per cluster, and the gatherer's own health (docs/web-view.md lists them).
std::string serve_metrics(const ServeSnapshot& snapshot, WallTime now);

// The routes: `/`, `/cluster/N`, `/cluster/N/fragment`, `/cluster/N.json`, `/metrics`,
// `/view.js`, `/view.css`. Thread-safe: publish() from the gatherer, answer() from the server.
class WebView {
  public:
    explicit WebView(WebViewSettings settings);
    void publish(std::shared_ptr<const ServeSnapshot> snapshot);
    WebAnswer answer(std::string_view path, std::string_view host, WallTime now) const;

  private:
    std::shared_ptr<const ServeSnapshot> current() const;
    WebViewSettings settings_;
    mutable std::mutex mutex_;
    std::shared_ptr<const ServeSnapshot> snapshot_;  // under mutex_; null before the first gather
};

}  // namespace lvsctl
