// `lvsctl agent apply|show`: runs on the LB and converges its kernel (SPEC.md section 6).
#include <memory>

#include "lvsctl/cli/app.h"

namespace lvsctl::cli {

namespace {
struct AgentOptions {
    std::string marks;  // "", "nft" or "iptables"
};
}  // namespace

void setup_agent(CLI::App& parent, Registry& registry) {
    auto* group = parent.add_subcommand("agent", "On the LB: converge or show the local kernel");
    group->require_subcommand(1);

    auto opts = std::make_shared<AgentOptions>();
    auto* apply =
        group->add_subcommand("apply", "Read the desired state (JSON) on stdin, converge");
    apply->add_option("--marks", opts->marks, "Firewall marks through nft or iptables")
        ->check(CLI::IsMember({"nft", "iptables"}));
    registry.add(apply, opts, [](const AgentOptions&, Context&) -> int {
        unavailable("agent apply", "the kernel module");
    });

    auto* show = group->add_subcommand("show", "Print the local state as JSON");
    registry.add(show, [](Context&) -> int { unavailable("agent show", "the kernel module"); });
}

}  // namespace lvsctl::cli
