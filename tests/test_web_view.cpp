// `lvsctl serve` (lvsctl/manage/web_view.h): the gather over a fake database and fake hosts, the
// pages and metrics rendered from it, and the routes.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "fake_environment.h"
#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/manage/web_view.h"

using namespace lvsctl;
using lvsctl::testing::FakeEnvironment;
using lvsctl::testing::ip;
using lvsctl::testing::show;

namespace {

using namespace std::chrono_literals;

const WallTime kNow = WallTime(std::chrono::seconds(1'800'000'000));

// The database as a gather reads it: the seed cluster 1, and cluster 2 whose rows do not fit.
class FakeSource : public ServeSource {
  public:
    Cluster seed = lvsctl::testing::seed_cluster();
    bool lost = false;  // the session is gone: every read fails as libpqxx's would
    std::vector<Named> clusters() override {
        check();
        return {{1, seed.name}, {2, "Broken"}};
    }
    Cluster read_cluster(std::int64_t id) override {
        check();
        if (id == 2) {
            throw Error(ExitCode::data, "apache_h2e_nodes node_id=7: address: not an IPv4 address");
        }
        return seed;
    }
    std::vector<RunSummary> recent_runs(std::int64_t id, int limit) override {
        check();
        std::vector<RunSummary> runs;
        for (int i = 0; i < limit && i < 3; ++i) {
            runs.push_back({id * 100 + 3 - i, 7 - i, kNow - std::chrono::minutes(10 * (i + 1)),
                            kNow - std::chrono::minutes(10 * (i + 1)) + 2s, false,
                            i == 0 ? "converged" : "partial"});
        }
        return runs;
    }
    std::vector<RunCount> run_counts() override {
        check();
        return {{1, "converged", 5, kNow - 600s}, {1, "partial", 2, kNow - 1200s}};
    }

  private:
    void check() const {
        if (lost) {
            throw Error(ExitCode::db_unavailable, "database: server closed the connection");
        }
    }
};

// The seed cluster's hosts: the LB with its website IP and both servers, web server 43 with
// everything, web server 44 without its website IP (drift).
void seed_hosts(FakeEnvironment& env) {
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    lb.agent_show = show({"10.39.84.131"});
    for (const char* web : {"10.39.94.43", "10.39.94.44"}) {
        auto& h = env.fakes.hosts[ip(web)];
        h.sysctls = {{"net.ipv4.conf.all.arp_ignore", 1}, {"net.ipv4.conf.all.arp_announce", 2}};
        h.files[web_record_path(1)] = "10.39.84.131\n";
    }
    env.fakes.hosts[ip("10.39.94.43")].lo = {{ip("10.39.84.131"), 32}};
}

ServeSnapshot gathered() {
    FakeSource source;
    FakeEnvironment env;
    seed_hosts(env);
    return gather_snapshot(source, env, {4, 2}, [] { return kNow; });
}

std::string metric(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) {
        return "(none)";
    }
    const auto value = at + name.size() + 2;
    return text.substr(value, text.find('\n', value) - value);
}

}  // namespace

TEST_CASE("web view: html_escape leaves no markup") {
    CHECK(html_escape("<b a=\"x\" c='y'>&amp;</b>") ==
          "&lt;b a=&quot;x&quot; c=&#39;y&#39;&gt;&amp;amp;&lt;/b&gt;");
    CHECK(html_escape("10.39.84.131") == "10.39.84.131");
}

TEST_CASE("web view: only IP literals, localhost and the allowed names reach it (DNS rebinding)") {
    const std::vector<std::string> allowed{"lvs.example.net"};
    for (const char* ok : {"", "127.0.0.1", "127.0.0.1:9633", "[::1]:9633", "[::1]", "localhost",
                           "localhost:9633", "LVS.Example.net:443", "lvs.example.net"}) {
        CAPTURE(ok);
        CHECK(host_allowed(ok, allowed));
    }
    for (const char* refused :
         {"evil.example", "evil.example:9633", "127.0.0.1.evil.example", "[::1", "[::1]x",
          "[10.0.0.1]", "localhost.evil.example", "lvs.example.net.evil"}) {
        CAPTURE(refused);
        CHECK_FALSE(host_allowed(refused, allowed));
    }
}

TEST_CASE("web view: a gather reads every cluster and every host, a bad cluster has its error") {
    const auto s = gathered();
    REQUIRE(s.clusters.size() == 2);
    const auto& one = s.clusters[0];
    CHECK(one.id == 1);
    REQUIRE(one.cluster);
    CHECK_FALSE(one.error);
    REQUIRE(one.hosts.size() == 3);
    REQUIRE(one.hosts[0].table);
    CHECK(one.hosts[0].real_servers.size() == 2);
    CHECK(one.hosts[2].missing == std::vector<IpAddress>{ip("10.39.84.131")});
    CHECK(one.runs.size() == 2);  // the limit
    CHECK(one.runs[0].result == "converged");
    const auto& two = s.clusters[1];
    CHECK_FALSE(two.cluster);
    CHECK(two.hosts.empty());
    CHECK(two.error == "apache_h2e_nodes node_id=7: address: not an IPv4 address");
    CHECK(two.runs.size() == 2);
    CHECK(s.run_counts.size() == 2);
    CHECK(s.gathered == kNow);
}

TEST_CASE("web view: a database lost during the gather fails the whole gather") {
    FakeSource source;
    source.lost = true;
    FakeEnvironment env;
    CHECK_THROWS_AS(gather_snapshot(source, env, {}, [] { return kNow; }), Error);
}

TEST_CASE("web view: a cluster's page shows its hosts, real servers, weights, drift and runs") {
    const auto s = gathered();
    const WebViewSettings settings{5s, {}};
    const auto page = render_cluster_page(s.clusters[0], settings, kNow + 3s);
    CHECK(page.find("<title>lvsctl: cluster 1 (Web-Cluster)</title>") != std::string::npos);
    CHECK(
        page.find("<main id=\"view\" data-fragment=\"/cluster/1/fragment\" data-refresh=\"5\">") !=
        std::string::npos);
    CHECK(page.find("<section class=\"host lb\" data-host=\"10.39.94.41\">") != std::string::npos);
    CHECK(page.find("<tr class=\"real-server state-unmonitored\" data-address=\"10.39.84.43\">"
                    "<td class=\"address\">10.39.84.43</td><td class=\"state\">unmonitored</td>"
                    "<td class=\"weight\">32</td><td class=\"configured\">32</td>") !=
          std::string::npos);
    CHECK(page.find("(3 s ago), every 5 s") != std::string::npos);
    // Web server 44 lacks the website IP: named missing, with what update would do.
    const auto web44 = page.find("data-host=\"10.39.94.44\"");
    REQUIRE(web44 != std::string::npos);
    CHECK(page.find("missing <span class=\"missing\">10.39.84.131</span>", web44) !=
          std::string::npos);
    CHECK(page.find("<ul class=\"drift\">", web44) != std::string::npos);
    CHECK(page.find("<p class=\"no-drift\">") < web44);  // the LB and 43 are in sync
    CHECK(page.find("<tr class=\"run result-converged\"><td class=\"run-id\">103</td>") !=
          std::string::npos);
    CHECK(page.find("<pre class=\"ipvs\">") != std::string::npos);
}

TEST_CASE("web view: what the database and the hosts say is escaped, never markup") {
    auto s = gathered();
    auto& c = s.clusters[0];
    c.name = "<script>alert(1)</script>";
    c.hosts[1].error = "web 10.39.94.43: ssh: \"<img src=x onerror=alert(1)>\"";
    c.runs[0].result = "\"><script>";
    const auto page = render_cluster_page(c, {}, kNow);
    CHECK(page.find("<script>") == std::string::npos);
    CHECK(page.find("<img") == std::string::npos);
    CHECK(page.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(render_index(s, {}, kNow).find("<script>") == std::string::npos);
}

TEST_CASE("web view: the metrics count runs by result, the last run's age, drift per cluster") {
    auto s = gathered();
    s.gathers = 4;
    s.failed_gathers = 1;
    s.clusters[0].name = "a \"quoted\" \\ name\n";
    const auto m = serve_metrics(s, kNow + 10s);
    CHECK(metric(m, "lvsctl_runs_total{cluster_id=\"1\",result=\"converged\"}") == "5");
    CHECK(metric(m, "lvsctl_runs_total{cluster_id=\"1\",result=\"partial\"}") == "2");
    CHECK(metric(m, "lvsctl_last_run_age_seconds{cluster_id=\"1\"}") == "610");
    CHECK(metric(m, "lvsctl_cluster_drift_hosts{cluster_id=\"1\"}") == "1");
    CHECK(metric(m, "lvsctl_cluster_missing_ips{cluster_id=\"1\"}") == "1");
    CHECK(metric(m, "lvsctl_cluster_hosts{cluster_id=\"1\"}") == "3");
    CHECK(metric(m, "lvsctl_cluster_hosts_unreadable{cluster_id=\"1\"}") == "0");
    CHECK(metric(m, "lvsctl_cluster_valid{cluster_id=\"2\"}") == "0");
    // A cluster that was not gathered has no drift figure rather than a false 0.
    CHECK(metric(m, "lvsctl_cluster_drift_hosts{cluster_id=\"2\"}") == "(none)");
    CHECK(
        metric(m, "lvsctl_cluster_info{cluster_id=\"1\",name=\"a \\\"quoted\\\" \\\\ name\\n\"}") ==
        "1");
    CHECK(metric(m, "lvsctl_serve_gathers_total") == "4");
    CHECK(metric(m, "lvsctl_serve_gather_failures_total") == "1");
    CHECK(metric(m, "lvsctl_serve_gather_age_seconds") == "10");
    CHECK(m.find("# TYPE lvsctl_runs_total counter\n") != std::string::npos);
}

TEST_CASE("web view: the routes") {
    WebView view({2s, {"lvs.example.net"}});
    // Before the first gather: the assets, and 503 for the rest.
    CHECK(view.answer("/view.js", "", kNow).status == 200);
    CHECK(view.answer("/view.js", "", kNow).content_type == "text/javascript; charset=utf-8");
    CHECK(view.answer("/metrics", "", kNow).status == 503);
    CHECK(view.answer("/cluster/1", "", kNow).status == 503);

    view.publish(std::make_shared<const ServeSnapshot>(gathered()));
    const auto index = view.answer("/", "127.0.0.1:9633", kNow);
    CHECK(index.status == 200);
    CHECK(index.content_type == "text/html; charset=utf-8");
    CHECK(index.body.find("<a class=\"cluster\" href=\"/cluster/2\">2</a>") != std::string::npos);
    const auto csp = std::find_if(index.headers.begin(), index.headers.end(), [](const auto& h) {
        return h.first == "Content-Security-Policy";
    });
    REQUIRE(csp != index.headers.end());
    CHECK(csp->second.find("script-src 'self'") != std::string::npos);

    const auto page = view.answer("/cluster/1", "lvs.example.net", kNow);
    CHECK(page.status == 200);
    const auto fragment = view.answer("/cluster/1/fragment", "", kNow);
    CHECK(fragment.status == 200);
    CHECK(fragment.body.starts_with("<h1>Cluster 1 "));
    CHECK(page.body.find(fragment.body) != std::string::npos);
    const auto json = view.answer("/cluster/1.json", "", kNow);
    CHECK(json.content_type == "application/json");
    CHECK(nlohmann::json::parse(json.body).at("hosts").size() == 3);
    CHECK(view.answer("/cluster/2.json", "", kNow).status == 404);  // not gathered
    CHECK(view.answer("/metrics", "", kNow).content_type ==
          "text/plain; version=0.0.4; charset=utf-8");
    for (const char* missing : {"/cluster/3", "/cluster/", "/cluster/1x", "/cluster/1/other",
                                "/cluster/-1", "/nothing", "/cluster/99999999999999999999"}) {
        CAPTURE(missing);
        CHECK(view.answer(missing, "", kNow).status == 404);
    }
    CHECK(view.answer("/cluster/1", "evil.example", kNow).status == 421);
    CHECK(view.answer("/metrics", "evil.example:9633", kNow).status == 421);
}
