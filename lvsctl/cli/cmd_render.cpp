// `lvsctl render`: print a cluster's configuration as lvs.cf, keepalived.conf or the LB's
// desired state (docs/commands.md, docs/agent-protocol.md).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "lvsctl/api/import_hints.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/environment.h"
#include "lvsctl/error.h"
#include "lvsctl/lvscf.h"
#include "lvsctl/lvsctl.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/validate.h"

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

Cluster cluster_from_lvscf(const std::string& path, Context& ctx) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ExitCode::data, fmt::format("{}: cannot be read", path));
    }
    std::ostringstream text;
    text << in.rdbuf();
    // Rendering needs no SSH target: a server name that is not an address, and that no hint
    // names or resolves, is managed at its own address here (docs/migration.md).
    auto hints = engine::import_hints({});
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
    api::Rendered rendered;
    if (opts.from_lvscf_flag->count() == 0) {
        // The database's cluster: through the public API.
        rendered = api::Connection::open(api_options(ctx, nullptr))
                       .render(opts.cluster_id, opts.format, opts.role);
    } else {
        // lvs.cf has no cluster id: --cluster-id gives it one, else it is cluster 1.
        auto cluster = cluster_from_lvscf(opts.from_lvscf, ctx);
        cluster.id = opts.cluster_id_flag->count() > 0 ? opts.cluster_id : 1;
        rendered = {cluster.id, cluster.name, opts.format,
                    engine::render_cluster(runtime_of(ctx), cluster, opts.format, opts.role)};
    }
    const auto& content = rendered.content;
    if (ctx.settings.json && opts.format != "json") {
        ctx.out << rendered_document(rendered.cluster_id, rendered.cluster_name, opts.format,
                                     content);
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
