// `lvsctl agent apply|show`: runs on the LB and converges its kernel (SPEC.md section 6).
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <net/if.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

#include "ipvs/kernel.h"
#include "lvsctl/agent_state.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/files.h"
#include "lvsctl/desired_state.h"
#include "lvsctl/error.h"
#include "lvsctl/ipvs_plan.h"
#include "lvsctl/json_output.h"

namespace lvsctl::cli {

namespace {

struct AgentOptions {
    std::string marks;  // "", "nft" or "iptables"
    std::string state_dir = "/var/lib/lvsctl";
};

class SteadyClock : public Clock {
  public:
    std::chrono::steady_clock::time_point now() override {
        return std::chrono::steady_clock::now();
    }
    void sleep(std::chrono::milliseconds duration) override {
        std::this_thread::sleep_for(duration);
    }
};

std::filesystem::path state_file(const AgentOptions& opts) {
    return std::filesystem::path(opts.state_dir) / "agent-state.json";
}

AgentState load_state(const std::filesystem::path& path) {
    const auto text = read_file_if_exists(path);
    return text ? parse_agent_state(*text, path.string()) : AgentState{};
}

int run_apply(const AgentOptions& opts, Context& ctx) {
    const auto desired_state = parse_desired_state(read_stream(std::cin));
    if (::if_nametoindex(desired_state.interface.c_str()) == 0) {
        throw Error(ExitCode::data,
                    fmt::format("desired state: interface {} does not exist on this host",
                                desired_state.interface));
    }
    const auto desired = ipvs_services(desired_state);
    const auto path = state_file(opts);
    const auto previous = load_state(path);

    std::set<ServiceKey> wanted;
    for (const auto& svc : desired) {
        wanted.insert(svc.key);
    }
    std::vector<ServiceKey> retired;
    for (const auto& key : previous.services) {
        if (!wanted.contains(key)) {
            retired.push_back(key);
        }
    }
    // Ownership is recorded before anything is created, so that a run that dies half-way still
    // knows what it may have put there.
    AgentState owned;
    owned.services.assign(wanted.begin(), wanted.end());
    owned.services.insert(owned.services.end(), retired.begin(), retired.end());
    write_file_atomic(path, to_json(owned), 0600);

    ipvs::NetlinkKernel kernel;
    SteadyClock clock;
    IpvsReconciler reconciler(kernel, clock);
    const auto report =
        reconciler.reconcile(desired, retired, std::chrono::seconds(desired_state.drain_timeout));

    const auto still_there = reconciler.observe(retired);
    owned.services.assign(wanted.begin(), wanted.end());
    for (const auto& [key, info] : still_there) {
        owned.services.push_back(key);
    }
    write_file_atomic(path, to_json(owned), 0600);

    ctx.out << agent_report_document(report, report.errors);
    for (const auto& error : report.errors) {
        fmt::print(ctx.err, "lvsctl agent: {}\n", error);
    }
    return report.errors.empty() ? 0 : static_cast<int>(ExitCode::kernel);
}

int run_show(Context& ctx) {
    ipvs::NetlinkKernel kernel;
    ctx.out << kernel_table_document(kernel.table());
    return 0;
}

}  // namespace

void setup_agent(CLI::App& parent, Registry& registry) {
    auto* group = parent.add_subcommand("agent", "On the LB: converge or show the local kernel");
    group->require_subcommand(1);

    auto opts = std::make_shared<AgentOptions>();
    auto* apply =
        group->add_subcommand("apply", "Read the desired state (JSON) on stdin, converge");
    apply->add_option("--marks", opts->marks, "Firewall marks through nft or iptables")
        ->check(CLI::IsMember({"nft", "iptables"}));
    apply->add_option("--state-dir", opts->state_dir, "Where the agent records what it owns")
        ->default_str(opts->state_dir);
    registry.add(apply, opts, run_apply);

    auto* show = group->add_subcommand("show", "Print the local IPVS table as JSON");
    registry.add(show, run_show);
}

}  // namespace lvsctl::cli
