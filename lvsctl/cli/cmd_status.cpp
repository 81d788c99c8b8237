// `lvsctl status`: each LB's live IPVS table, where the website IPs are, drift from the database.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <memory>
#include <set>

#include "db/database.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/environment.h"
#include "lvsctl/cli/progress.h"
#include "lvsctl/fanout.h"
#include "lvsctl/ipvsadm_format.h"
#include "lvsctl/manage/backends.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/manage/status.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/manage/web_step.h"
#include "lvsctl/protocol/agent_documents.h"
#include "lvsctl/validate.h"

namespace lvsctl::cli {

namespace {

struct StatusOptions {
    std::int64_t cluster_id = 0;
    bool stats = false;
    bool rate = false;
};

void print_ips(std::ostream& out, const HostStatus& h) {
    auto list = [](const std::vector<IpAddress>& ips) {
        std::string text;
        for (const auto& ip : ips) {
            text += (text.empty() ? "" : " ") + ip.str();
        }
        return text.empty() ? std::string("none") : text;
    };
    fmt::print(out, "  website IPs on {}: present {}; missing {}\n", h.interface, list(h.present),
               list(h.missing));
    if (h.drift.empty()) {
        fmt::print(out, "  drift from the database: none\n");
        return;
    }
    fmt::print(out, "  drift from the database (update would):\n");
    for (const auto& d : h.drift) {
        fmt::print(out, "    {}\n", d);
    }
}

// The monitor's line, then one line per real server: its state, the kernel's and the
// database's weight, its last check.
void print_monitor(std::ostream& out, const HostStatus& h) {
    fmt::print(out, "  monitor: {}\n", monitor_summary(h.monitor));
    if (h.real_servers.empty()) {
        return;
    }
    fmt::print(out, "  {:<40} {:<12} {:>6} {:>10}  {}\n", "real server", "state", "weight",
               "configured", "last check");
    auto number = [](const std::optional<std::uint32_t>& n) {
        return n ? std::to_string(*n) : std::string("-");
    };
    for (const auto& r : h.real_servers) {
        std::string check = "-";
        if (r.health && r.checked_ago) {
            check = r.health->last_ok
                        ? fmt::format("{} s ago: ok in {} ms", *r.checked_ago, r.health->latency_ms)
                        : fmt::format("{} s ago: {}", *r.checked_ago, r.health->why);
        }
        fmt::print(out, "  {:<40} {:<12} {:>6} {:>10}  {}\n", r.address.str(), r.state,
                   number(r.weight), number(r.configured), check);
    }
}

int run_status(const StatusOptions& o, Context& ctx) {
    db::Database database(ctx.settings.db);
    auto cluster = database.read_cluster(o.cluster_id);
    validate_or_throw(cluster);
    auto env = cli_environment(ctx, "", "");
    const auto layout = o.stats  ? TableLayout::stats
                        : o.rate ? TableLayout::rate
                                 : TableLayout::list;

    const auto progress = make_progress(ctx, fmt::format("cluster {}", cluster.id));
    const auto hosts = gather_status(cluster, *env, static_cast<std::size_t>(ctx.settings.parallel),
                                     progress.get());

    bool failed = false;
    const bool colour = colour_on(ctx);
    if (ctx.settings.json) {
        ctx.out << status_document(cluster, hosts);
    }
    for (const auto& h : hosts) {
        if (h.error) {
            failed = true;
            fmt::print(ctx.err, "lvsctl: {}\n", *h.error);
        }
        if (ctx.settings.json) {
            continue;
        }
        if (h.error) {
            fmt::print(ctx.out, "{}: {}\n", h.host, paint("not read", Colour::red, colour));
            continue;
        }
        fmt::print(ctx.out, "{}:\n", h.host);
        if (h.table) {
            ctx.out << ipvsadm_table(*h.table, layout);
        }
        if (h.ha) {
            fmt::print(ctx.out, "  vrrp: {}\n", ha_summary(*h.ha));
        }
        if (h.monitored) {
            print_monitor(ctx.out, h);
        }
        print_ips(ctx.out, h);
    }
    return static_cast<int>(failed ? ExitCode::partial : ExitCode::ok);
}

}  // namespace

void setup_status(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<StatusOptions>();
    auto* cmd = parent.add_subcommand("status", "Show the live IPVS tables and deployed VIPs");
    add_cluster_id(*cmd, opts->cluster_id)->required();
    auto* stats = cmd->add_flag("--stats", opts->stats, "Counters, as ipvsadm -L -n --stats");
    auto* rate = cmd->add_flag("--rate", opts->rate, "Rates, as ipvsadm -L -n --rate");
    stats->excludes(rate);
    registry.add(cmd, opts, run_status);
}

}  // namespace lvsctl::cli
