// `lvsctl status`: each LB's live IPVS table, where the website IPs are, drift from the database.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <memory>
#include <set>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/environment.h"
#include "lvsctl/cli/progress.h"
#include "lvsctl/lvsctl.h"

namespace lvsctl::cli {

namespace {

struct StatusOptions {
    std::int64_t cluster_id = 0;
    bool stats = false;
    bool rate = false;
};

// Through the public API (api::Connection::status), which reads every host and formats each.
int run_status(const StatusOptions& o, Context& ctx) {
    const auto progress = make_progress(ctx, fmt::format("cluster {}", o.cluster_id));
    auto connection = api::Connection::open(api_options(ctx, progress.get()));
    const auto status = connection.status(o.cluster_id, o.stats  ? "stats"
                                                        : o.rate ? "rate"
                                                                 : "list");
    const bool colour = colour_on(ctx);
    if (ctx.settings.json) {
        ctx.out << status.document;
    }
    for (const auto& h : status.hosts) {
        if (h.error) {
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
        ctx.out << h.text;
    }
    return status.exit_code;
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
