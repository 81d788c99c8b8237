// `lvsctl render`: print a cluster's configuration as lvs.cf, keepalived.conf or the LB's
// desired state (docs/commands.md, docs/agent-protocol.md).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "db/database.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/environment.h"
#include "lvsctl/cli/import_hints.h"
#include "lvsctl/error.h"
#include "lvsctl/ipvsadm_format.h"
#include "lvsctl/lvscf.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/protocol/desired_state.h"
#include "lvsctl/validate.h"
#include "templates/render.h"

namespace lvsctl::cli {

namespace {

struct RenderOptions {
    std::int64_t cluster_id = 1;
    std::string from_lvscf;
    std::string format = "lvs.cf";
    std::string role = "primary";  // keepalived-vrrp: whose file
    CLI::Option* cluster_id_flag = nullptr;
    CLI::Option* from_lvscf_flag = nullptr;
};

// The drain timeout a rendered desired state carries when no command gave one.
constexpr std::uint32_t kDefaultDrainTimeout = 30;

Cluster cluster_from_lvscf(const std::string& path, Context& ctx) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ExitCode::data, fmt::format("{}: cannot be read", path));
    }
    std::ostringstream text;
    text << in.rdbuf();
    // Rendering needs no SSH target: a server name that is not an address, and that no hint
    // names or resolves, is managed at its own address here (docs/migration.md).
    auto hints = import_hints({});
    hints.address_as_management = true;
    auto parsed = parse_lvs_cf(text.str(), path, hints);
    if (ctx.settings.verbosity >= 0) {
        for (const auto& note : parsed.warnings) {
            fmt::print(ctx.err, "lvsctl: {} {}\n", path, note);
        }
    }
    validate_or_throw(parsed.cluster, path);
    return std::move(parsed.cluster);
}

int run_render(const RenderOptions& opts, Context& ctx) {
    if (opts.cluster_id_flag->count() == 0 && opts.from_lvscf_flag->count() == 0) {
        throw Error(ExitCode::usage, "render: give --cluster-id=N or --from-lvscf=FILE");
    }
    Cluster cluster;
    if (opts.from_lvscf_flag->count() == 0) {
        cluster = db::Database(ctx.settings.db).read_cluster(opts.cluster_id);
        validate_or_throw(cluster);
    } else {
        // lvs.cf has no cluster id: --cluster-id gives it one, else it is cluster 1.
        cluster = cluster_from_lvscf(opts.from_lvscf, ctx);
        cluster.id = opts.cluster_id_flag->count() > 0 ? opts.cluster_id : 1;
    }
    const auto directory = ctx.settings.templates ? std::filesystem::path(*ctx.settings.templates)
                                                  : templates::default_directory(ctx.program);
    const templates::Renderer renderer(directory);
    std::string content;
    if (opts.format == "lvs.cf") {
        content = renderer.lvs_cf(cluster);
    } else if (opts.format == "keepalived") {
        content = renderer.keepalived(cluster);
    } else if (opts.format == "ipvsadm") {
        content = ipvsadm_rules(cluster);  // what `ipvsadm -S -n` prints on the converged LB
    } else if (opts.format == "keepalived-vrrp") {
        if (!cluster.uses_vrrp()) {
            throw Error(ExitCode::data,
                        fmt::format("cluster {}: no VRRP: it needs the ipvs backend, a backup LB "
                                    "and ha = vrrp (docs/ha.md)",
                                    cluster.id));
        }
        const auto* lb = opts.role == "backup" ? cluster.backup() : cluster.primary();
        content = vrrp_keepalived_conf(ctx, cluster, *lb, cluster.website_ips);
    } else {
        content = to_json(desired_state(cluster, *cluster.primary(), kDefaultDrainTimeout));
    }
    if (ctx.settings.json && opts.format != "json") {
        ctx.out << rendered_document(cluster.id, cluster.name, opts.format, content);
    } else {
        ctx.out << content;
    }
    return 0;
}

}  // namespace

void setup_render(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<RenderOptions>();
    auto* cmd = parent.add_subcommand("render", "Print the rendered configuration of a cluster");
    opts->cluster_id_flag = add_cluster_id(*cmd, opts->cluster_id);
    opts->from_lvscf_flag =
        cmd->add_option("--from-lvscf", opts->from_lvscf, "Read the cluster from a piranha lvs.cf")
            ->check(CLI::ExistingFile);
    cmd->add_option("--format", opts->format,
                    "lvs.cf, keepalived, keepalived-vrrp, ipvsadm or json")
        ->check(CLI::IsMember({"lvs.cf", "keepalived", "keepalived-vrrp", "ipvsadm", "json"}))
        ->default_str("lvs.cf");
    cmd->add_option("--role", opts->role,
                    "keepalived-vrrp: the primary's or the backup's file (docs/ha.md)")
        ->check(CLI::IsMember({"primary", "backup"}))
        ->default_str("primary");
    registry.add(cmd, opts, run_render);
}

}  // namespace lvsctl::cli
