// `lvsctl ip add|remove`: the platform's hooks for website IPs.
#include <memory>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/validators.h"

namespace lvsctl::cli {

namespace {
struct IpOptions {
    std::int64_t cluster_id = 0;
    std::vector<std::string> addresses;
};
}  // namespace

void setup_ip(CLI::App& parent, Registry& registry) {
    auto* group = parent.add_subcommand("ip", "Hooks: add or remove website IPs");
    group->require_subcommand(1);
    for (const char* verb : {"add", "remove"}) {
        auto opts = std::make_shared<IpOptions>();
        auto* cmd = group->add_subcommand(verb, std::string(verb) + " website IPs, then update");
        add_cluster_id(*cmd, opts->cluster_id)->required();
        cmd->add_option("IP", opts->addresses, "Website IPs, IPv4 or IPv6")
            ->check(ip_address())
            ->required();
        const std::string name = std::string("ip ") + verb;
        registry.add(cmd, opts, [name](const IpOptions&, Context&) -> int {
            unavailable(name, "the database module");
        });
    }
}

}  // namespace lvsctl::cli
