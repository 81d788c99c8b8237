#include "lvsctl/manage/web_view.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <map>
#include <set>

#include "lvsctl/error.h"
#include "lvsctl/ipvsadm_format.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/validate.h"

namespace lvsctl {

// --- the gather
// -----------------------------------------------------------------------------------

ServeSnapshot gather_snapshot(ServeSource& source, UpdateEnvironment& env,
                              const GatherSettings& settings,
                              const std::function<WallTime()>& now) {
    const auto begun = now();
    ServeSnapshot snapshot;
    snapshot.run_counts = source.run_counts();
    for (const auto& named : source.clusters()) {
        ClusterSnapshot c;
        c.id = named.id;
        c.name = named.name;
        try {
            auto cluster = source.read_cluster(named.id);
            validate_or_throw(cluster);
            c.cluster = std::move(cluster);
        } catch (const Error& e) {
            if (e.code() != ExitCode::data) {
                throw;  // the database itself failed: the whole gather did
            }
            c.error = e.what();
        }
        c.runs = source.recent_runs(named.id, settings.runs);
        if (c.cluster) {
            c.hosts = gather_status(*c.cluster, env, settings.parallel);
        }
        c.gathered = now();
        snapshot.clusters.push_back(std::move(c));
    }
    snapshot.gathered = now();
    snapshot.gather_seconds = std::chrono::duration<double>(snapshot.gathered - begun).count();
    return snapshot;
}

// --- helpers
// --------------------------------------------------------------------------------------

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

bool host_allowed(std::string_view host, const std::vector<std::string>& allowed) {
    if (host.empty()) {
        return true;  // HTTP/1.0: no browser sends a request without one
    }
    std::string_view name = host;
    if (host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        const auto rest = host.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            return false;
        }
        const auto inside = host.substr(1, close - 1);
        const auto ip = IpAddress::parse(inside);
        return ip && ip->family() == Family::inet6;
    }
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
    }
    if (IpAddress::parse(name) || name == "localhost") {
        return true;
    }
    // Host names compare without regard to case (RFC 4343).
    return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) {
        return std::equal(a.begin(), a.end(), name.begin(), name.end(), [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) ==
                   std::tolower(static_cast<unsigned char>(y));
        });
    });
}

namespace {

std::string utc(WallTime t) {
    return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                       fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

std::int64_t unix_seconds(WallTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::int64_t seconds_between(WallTime from, WallTime to) {
    return std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::seconds>(to - from).count());
}

std::string ago(WallTime t, WallTime now) {
    return fmt::format("{} s ago", seconds_between(t, now));
}

// A Prometheus label value: backslash, double quote and newline escaped.
std::string prometheus_label(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string number(const std::optional<std::uint32_t>& n) {
    return n ? std::to_string(*n) : std::string("-");
}

std::string address_list(const std::vector<IpAddress>& ips) {
    std::string text;
    for (const auto& ip : ips) {
        text += (text.empty() ? "" : " ") + ip.str();
    }
    return text.empty() ? std::string("none") : text;
}

// The page around a body: the stylesheet, and the script when the body refreshes itself.
std::string page(std::string_view title, std::string_view body) {
    return fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>{}</title>\n<link rel=\"stylesheet\" href=\"/view.css\">\n"
        "<script src=\"/view.js\" defer></script>\n</head>\n<body>\n"
        "<header><a href=\"/\">lvsctl</a> <span class=\"read-only\">read-only view</span>"
        " <span id=\"refresh-error\" hidden></span></header>\n{}</body>\n</html>\n",
        html_escape(title), body);
}

// The real servers of an LB: the database's weight, the kernel's, the monitor's state, and the
// kernel's counters summed over the services that have it.
std::string real_server_table(const HostStatus& h) {
    struct Counters {
        std::uint64_t active = 0, inactive = 0, conns = 0, inpkts = 0, outpkts = 0;
    };
    std::map<IpAddress, Counters> counters;
    for (const auto& svc : *h.table) {
        for (const auto& d : svc.dests) {
            auto& c = counters[d.key.address];
            c.active += d.active_conns;
            c.inactive += d.inactive_conns;
            c.conns += d.stats.conns;
            c.inpkts += d.stats.inpkts;
            c.outpkts += d.stats.outpkts;
        }
    }
    std::string rows;
    for (const auto& r : h.real_servers) {
        const auto c = counters.count(r.address) ? counters[r.address] : Counters{};
        std::string check = "-";
        if (r.health && r.checked_ago) {
            check = r.health->last_ok
                        ? fmt::format("{} s ago: ok in {} ms", *r.checked_ago, r.health->latency_ms)
                        : fmt::format("{} s ago: {}", *r.checked_ago, r.health->why);
        }
        rows += fmt::format(
            "<tr class=\"real-server state-{0}\" data-address=\"{1}\"><td "
            "class=\"address\">{1}</td>"
            "<td class=\"state\">{0}</td><td class=\"weight\">{2}</td>"
            "<td class=\"configured\">{3}</td><td class=\"activeconns\">{4}</td>"
            "<td class=\"inactconns\">{5}</td><td class=\"conns\">{6}</td><td "
            "class=\"inpkts\">{7}</td><td class=\"outpkts\">{8}</td><td "
            "class=\"check\">{9}</td></tr>\n",
            html_escape(r.state), html_escape(r.address.str()), number(r.weight),
            number(r.configured), c.active, c.inactive, c.conns, c.inpkts, c.outpkts,
            html_escape(check));
    }
    return fmt::format(
        "<table class=\"real-servers\">\n<thead><tr><th>real server</th><th>state</th>"
        "<th>weight</th><th>configured</th><th>active</th><th>inactive</th><th>conns</th>"
        "<th>in pkts</th><th>out pkts</th><th>last check</th></tr></thead>\n<tbody>\n{}</tbody>\n"
        "</table>\n",
        rows);
}

std::string host_section(const HostStatus& h) {
    const bool lb = h.host.starts_with("lb ");
    const auto address = h.host.substr(h.host.find(' ') + 1);
    const std::string badge = h.error            ? "<span class=\"badge error\">not read</span>"
                              : !h.drift.empty() ? "<span class=\"badge drift\">drift</span>"
                                                 : "<span class=\"badge ok\">in sync</span>";
    std::string out =
        fmt::format("<section class=\"host {}\" data-host=\"{}\">\n<h2>{} {}</h2>\n",
                    lb ? "lb" : "web", html_escape(address), html_escape(h.host), badge);
    if (h.error) {
        return out + fmt::format("<p class=\"error\">{}</p>\n</section>\n", html_escape(*h.error));
    }
    if (h.table) {
        out += real_server_table(h);
        out += fmt::format(
            "<details><summary>IPVS table (ipvsadm -L -n --stats)</summary>"
            "<pre class=\"ipvs\">{}</pre></details>\n",
            html_escape(ipvsadm_table(*h.table, TableLayout::stats)));
    }
    if (h.ha) {
        out += fmt::format("<p class=\"vrrp\">vrrp: {}</p>\n", html_escape(ha_summary(*h.ha)));
    }
    if (h.monitored) {
        out += fmt::format("<p class=\"monitor\">monitor: {}</p>\n",
                           html_escape(monitor_summary(h.monitor)));
    }
    out += fmt::format(
        "<p class=\"ips\">website IPs on {}: present <span class=\"present\">{}</span>; missing "
        "<span class=\"missing\">{}</span></p>\n",
        html_escape(h.interface), html_escape(address_list(h.present)),
        html_escape(address_list(h.missing)));
    if (h.drift.empty()) {
        out += "<p class=\"no-drift\">drift from the database: none</p>\n";
    } else {
        out += "<p>drift from the database (update would):</p>\n<ul class=\"drift\">\n";
        for (const auto& d : h.drift) {
            out += fmt::format("<li>{}</li>\n", html_escape(d));
        }
        out += "</ul>\n";
    }
    return out + "</section>\n";
}

std::string runs_table(const std::vector<RunSummary>& runs) {
    if (runs.empty()) {
        return "<section class=\"runs\"><h2>Last runs</h2><p>none yet</p></section>\n";
    }
    std::string rows;
    for (const auto& r : runs) {
        rows += fmt::format(
            "<tr class=\"run result-{0}\"><td class=\"run-id\">{1}</td><td "
            "class=\"serial\">{2}</td>"
            "<td class=\"started\">{3}</td><td class=\"took\">{4:.1f} s</td>"
            "<td class=\"dry-run\">{5}</td><td class=\"result\">{0}</td></tr>\n",
            html_escape(r.result), r.run_id, r.serial, utc(r.started),
            std::chrono::duration<double>(r.finished - r.started).count(),
            r.dry_run ? "yes" : "no");
    }
    return fmt::format(
        "<section class=\"runs\"><h2>Last runs</h2>\n<table "
        "class=\"runs\">\n<thead><tr><th>run</th>"
        "<th>serial</th><th>started</th><th>took</th><th>dry run</th><th>result</th></tr></thead>\n"
        "<tbody>\n{}</tbody>\n</table>\n</section>\n",
        rows);
}

std::string cluster_title(const ClusterSnapshot& c) {
    return fmt::format("lvsctl: cluster {} ({})", c.id, c.name);
}

std::string_view kViewJs =
    R"JS(// lvsctl serve: refreshes <main id="view"> in place from its fragment (docs/web-view.md).
"use strict";
(function () {
  const view = document.getElementById("view");
  if (!view || !view.dataset.fragment) return;
  const every = Math.max(1, Number(view.dataset.refresh) || 30) * 1000;
  const problem = document.getElementById("refresh-error");
  let refreshed = 0;
  async function refresh() {
    try {
      const r = await fetch(view.dataset.fragment, { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      view.innerHTML = await r.text();
      refreshed += 1;
      document.body.dataset.refreshed = String(refreshed);
      problem.hidden = true;
    } catch (e) {
      problem.textContent = "not refreshed: " + e.message;
      problem.hidden = false;
    }
    setTimeout(refresh, every);
  }
  setTimeout(refresh, every);
})();
)JS";

std::string_view kViewCss = R"CSS(body { font-family: sans-serif; margin: 1em 2em; color: #222; }
header { margin-bottom: 1em; }
header a { font-weight: bold; text-decoration: none; }
.read-only { color: #666; font-size: 0.9em; }
#refresh-error, .error { color: #b00; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
td.weight, td.configured, td.activeconns, td.inactconns, td.conns, td.inpkts, td.outpkts,
td.run-id, td.serial, td.count { text-align: right; font-variant-numeric: tabular-nums; }
.badge { font-size: 0.7em; padding: 0.1em 0.5em; border-radius: 0.5em; vertical-align: middle; }
.badge.ok { background: #dfd; } .badge.drift { background: #ffd; } .badge.error { background: #fdd; }
tr.state-down td.state, tr.result-failed td.result, tr.result-partial td.result,
tr.result-invalid td.result { color: #b00; font-weight: bold; }
pre.ipvs { background: #f6f6f6; padding: 0.5em; }
)CSS";

std::vector<std::pair<std::string, std::string>> security_headers() {
    return {{"Cache-Control", "no-store"},
            {"X-Content-Type-Options", "nosniff"},
            {"Referrer-Policy", "no-referrer"},
            {"Content-Security-Policy",
             "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
             "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"}};
}

WebAnswer text(int status, std::string body) {
    return {status, "text/plain; charset=utf-8", std::move(body), security_headers()};
}

WebAnswer html(std::string body) {
    return {200, "text/html; charset=utf-8", std::move(body), security_headers()};
}

// "/cluster/12/fragment" → 12 and "/fragment"; std::nullopt when the id is not a number.
std::optional<std::pair<std::int64_t, std::string_view>> cluster_path(std::string_view rest) {
    const auto end = std::min(rest.find('/'), rest.find('.'));
    const auto digits = rest.substr(0, end);
    std::int64_t id = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return std::pair{id, end == std::string_view::npos ? std::string_view() : rest.substr(end)};
}

}  // namespace

// --- the pages
// ------------------------------------------------------------------------------------

std::string render_index(const ServeSnapshot& snapshot, const WebViewSettings& settings,
                         WallTime now) {
    std::string rows;
    for (const auto& c : snapshot.clusters) {
        const auto unreadable =
            std::count_if(c.hosts.begin(), c.hosts.end(),
                          [](const HostStatus& h) { return h.error.has_value(); });
        const auto drifting = std::count_if(c.hosts.begin(), c.hosts.end(),
                                            [](const HostStatus& h) { return !h.drift.empty(); });
        const std::string last = c.runs.empty() ? std::string("-")
                                                : fmt::format("{} ({})", c.runs.front().result,
                                                              ago(c.runs.front().finished, now));
        rows += fmt::format(
            "<tr class=\"cluster\" data-cluster=\"{0}\"><td><a class=\"cluster\" "
            "href=\"/cluster/{0}\">{0}</a></td><td class=\"name\">{1}</td><td "
            "class=\"hosts\">{2}</td>"
            "<td class=\"drift\">{3}</td><td class=\"unreadable\">{4}</td><td "
            "class=\"last-run\">{5}</td>"
            "<td class=\"error\">{6}</td></tr>\n",
            c.id, html_escape(c.name), c.hosts.size(), drifting, unreadable, html_escape(last),
            html_escape(c.error.value_or("")));
    }
    std::string body = fmt::format(
        "<main>\n<h1>Clusters</h1>\n<p class=\"gathered\" data-unix=\"{}\">read {} ({}), every {} "
        "s</p>\n",
        unix_seconds(snapshot.gathered), utc(snapshot.gathered), ago(snapshot.gathered, now),
        settings.refresh.count());
    if (snapshot.error) {
        body += fmt::format("<p class=\"error\">the last gather failed: {}</p>\n",
                            html_escape(*snapshot.error));
    }
    body += fmt::format(
        "<table class=\"clusters\">\n<thead><tr><th>cluster</th><th>name</th><th>hosts</th>"
        "<th>hosts with drift</th><th>hosts not read</th><th>last "
        "run</th><th>error</th></tr></thead>\n"
        "<tbody>\n{}</tbody>\n</table>\n</main>\n",
        rows);
    return page("lvsctl: clusters", body);
}

std::string render_cluster_fragment(const ClusterSnapshot& c, const WebViewSettings& settings,
                                    WallTime now) {
    std::string out = fmt::format(
        "<h1>Cluster {} <span class=\"name\">{}</span></h1>\n"
        "<p class=\"gathered\" data-unix=\"{}\">read {} ({}), every {} s</p>\n",
        c.id, html_escape(c.name), unix_seconds(c.gathered), utc(c.gathered), ago(c.gathered, now),
        settings.refresh.count());
    if (c.cluster) {
        std::string ports;
        for (const auto p : c.cluster->ports) {
            ports += (ports.empty() ? "" : ",") + std::to_string(p);
        }
        out += fmt::format(
            "<p class=\"settings\">backend {}, scheduler {}, {} ports {}, {} website IPs, {} "
            "servers</p>\n",
            html_escape(c.cluster->backend), html_escape(c.cluster->scheduler),
            html_escape(c.cluster->protocol), ports, c.cluster->website_ips.size(),
            c.cluster->servers.size());
    }
    if (c.error) {
        out += fmt::format("<p class=\"error\">{}</p>\n", html_escape(*c.error));
    }
    for (const auto& h : c.hosts) {
        out += host_section(h);
    }
    return out + runs_table(c.runs);
}

std::string render_cluster_page(const ClusterSnapshot& c, const WebViewSettings& settings,
                                WallTime now) {
    return page(
        cluster_title(c),
        fmt::format("<main id=\"view\" data-fragment=\"/cluster/{}/fragment\" "
                    "data-refresh=\"{}\">\n{}</main>\n",
                    c.id, settings.refresh.count(), render_cluster_fragment(c, settings, now)));
}

std::string serve_metrics(const ServeSnapshot& snapshot, WallTime now) {
    std::string out;
    auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    family("lvsctl_runs_total", "counter",
           "Runs in the run log (lvsctl_runs), by cluster and result.");
    std::map<std::int64_t, WallTime> last;
    for (const auto& r : snapshot.run_counts) {
        out += fmt::format("lvsctl_runs_total{{cluster_id=\"{}\",result=\"{}\"}} {}\n",
                           r.cluster_id, prometheus_label(r.result), r.count);
        auto& l = last[r.cluster_id];
        l = std::max(l, r.last_finished);
    }
    family("lvsctl_last_run_age_seconds", "gauge",
           "Seconds since the cluster's last run finished, whatever its result.");
    for (const auto& [id, when] : last) {
        out += fmt::format("lvsctl_last_run_age_seconds{{cluster_id=\"{}\"}} {}\n", id,
                           seconds_between(when, now));
    }
    family("lvsctl_cluster_info", "gauge", "Every cluster of the database, with its name.");
    for (const auto& c : snapshot.clusters) {
        out += fmt::format("lvsctl_cluster_info{{cluster_id=\"{}\",name=\"{}\"}} 1\n", c.id,
                           prometheus_label(c.name));
    }
    family("lvsctl_cluster_valid", "gauge",
           "1 when the cluster's rows were read and are valid, 0 when update would refuse them.");
    for (const auto& c : snapshot.clusters) {
        out += fmt::format("lvsctl_cluster_valid{{cluster_id=\"{}\"}} {}\n", c.id, c.error ? 0 : 1);
    }
    using Count = std::size_t (*)(const HostStatus&);
    const std::vector<std::tuple<std::string_view, std::string_view, Count>> per_host{
        {"lvsctl_cluster_hosts", "Hosts of the cluster (LBs and web servers).",
         [](const HostStatus&) -> std::size_t { return 1; }},
        {"lvsctl_cluster_drift_hosts", "Hosts where update would change something.",
         [](const HostStatus& h) -> std::size_t { return h.drift.empty() ? 0 : 1; }},
        {"lvsctl_cluster_drift_changes", "Changes update would make, over all hosts.",
         [](const HostStatus& h) { return h.drift.size(); }},
        {"lvsctl_cluster_hosts_unreadable", "Hosts that could not be read.",
         [](const HostStatus& h) -> std::size_t { return h.error ? 1 : 0; }},
        {"lvsctl_cluster_missing_ips", "Website IPs missing from a host, over all hosts.",
         [](const HostStatus& h) { return h.missing.size(); }},
    };
    for (const auto& [name, help, count] : per_host) {
        family(name, "gauge", help);
        for (const auto& c : snapshot.clusters) {
            if (!c.cluster) {
                continue;  // not gathered: no figure rather than a false 0
            }
            std::size_t n = 0;
            for (const auto& h : c.hosts) {
                n += count(h);
            }
            out += fmt::format("{}{{cluster_id=\"{}\"}} {}\n", name, c.id, n);
        }
    }
    family("lvsctl_serve_gathers_total", "counter", "Gathers of the database and the hosts done.");
    out += fmt::format("lvsctl_serve_gathers_total {}\n", snapshot.gathers);
    family("lvsctl_serve_gather_failures_total", "counter",
           "Gathers that could not read the database at all.");
    out += fmt::format("lvsctl_serve_gather_failures_total {}\n", snapshot.failed_gathers);
    family("lvsctl_serve_gather_age_seconds", "gauge", "Seconds since the last gather ended.");
    out += fmt::format("lvsctl_serve_gather_age_seconds {}\n",
                       seconds_between(snapshot.gathered, now));
    family("lvsctl_serve_gather_duration_seconds", "gauge", "How long the last gather took.");
    out += fmt::format("lvsctl_serve_gather_duration_seconds {:.3f}\n", snapshot.gather_seconds);
    return out;
}

// --- the routes
// -----------------------------------------------------------------------------------

WebView::WebView(WebViewSettings settings) : settings_(std::move(settings)) {}

void WebView::publish(std::shared_ptr<const ServeSnapshot> snapshot) {
    const std::lock_guard lock(mutex_);
    snapshot_ = std::move(snapshot);
}

std::shared_ptr<const ServeSnapshot> WebView::current() const {
    const std::lock_guard lock(mutex_);
    return snapshot_;
}

WebAnswer WebView::answer(std::string_view path, std::string_view host, WallTime now) const {
    if (!host_allowed(host, settings_.allowed_hosts)) {
        return text(421,
                    "this view does not answer to that host name: see --allow-host in "
                    "docs/web-view.md\n");
    }
    if (path == "/view.js") {
        auto a = text(200, std::string(kViewJs));
        a.content_type = "text/javascript; charset=utf-8";
        return a;
    }
    if (path == "/view.css") {
        auto a = text(200, std::string(kViewCss));
        a.content_type = "text/css; charset=utf-8";
        return a;
    }
    const auto snapshot = current();
    if (!snapshot) {
        auto a = text(503, "the first gather is under way: try again in a moment\n");
        a.headers.emplace_back("Retry-After", "5");
        return a;
    }
    if (path == "/") {
        return html(render_index(*snapshot, settings_, now));
    }
    if (path == "/metrics") {
        auto a = text(200, serve_metrics(*snapshot, now));
        a.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return a;
    }
    constexpr std::string_view prefix = "/cluster/";
    if (path.starts_with(prefix)) {
        if (const auto parsed = cluster_path(path.substr(prefix.size()))) {
            const auto [id, rest] = *parsed;
            const auto it =
                std::find_if(snapshot->clusters.begin(), snapshot->clusters.end(),
                             [id = id](const ClusterSnapshot& c) { return c.id == id; });
            if (it == snapshot->clusters.end()) {
                return text(404, fmt::format("no cluster {} in the database\n", id));
            }
            if (rest.empty()) {
                return html(render_cluster_page(*it, settings_, now));
            }
            if (rest == "/fragment") {
                return html(render_cluster_fragment(*it, settings_, now));
            }
            if (rest == ".json" && it->cluster) {
                auto a = text(200, status_document(*it->cluster, it->hosts));
                a.content_type = "application/json";
                return a;
            }
            if (rest == ".json") {
                return text(404, fmt::format("cluster {} was not gathered: {}\n", id,
                                             it->error.value_or("")));
            }
        }
    }
    return text(404, "not found: the view has /, /cluster/N, /cluster/N.json and /metrics\n");
}

}  // namespace lvsctl
