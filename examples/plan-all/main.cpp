// plan-all: the pending plan of every cluster, through liblvsctl's public API (docs/library.md).
//
//   plan-all [CONFIG]
//
// Options come from the config file (default /etc/lvsctl/lvsctl.conf; lvsctl.conf(5)) and
// LVSCTL_DB, as the lvsctl program takes them. Exits with the worst exit code of the plans
// (0, 3, 68, 77, ...), or the error's (69: no database).
#include <lvsctl/lvsctl.h>

#include <algorithm>
#include <cstdint>
#include <iostream>

int main(int argc, char** argv) {
    try {
        const auto options =
            argc > 1 ? lvsctl::api::load_options(argv[1], true) : lvsctl::api::load_options();
        auto connection = lvsctl::api::Connection::open(options);
        int worst = 0;
        for (const auto& cluster : connection.clusters()) {
            const auto plan = connection.plan(cluster.id);
            std::cout << "cluster " << plan.cluster_id << " (" << plan.cluster_name << "), serial "
                      << plan.serial << ": " << (plan.pending ? "changes pending" : "converged")
                      << "\n";
            for (const auto& host : plan.hosts) {
                if (host.error) {
                    std::cout << "  " << host.host << ": FAILED: " << *host.error << "\n";
                    continue;
                }
                for (const auto& change : host.changes) {
                    std::cout << "  " << host.host << ": + " << change << "\n";
                }
            }
            worst = std::max(worst, plan.exit_code);
        }
        std::cout << "liblvsctl " << lvsctl::api::version() << "\n";
        return worst;
    } catch (const lvsctl::api::Error& e) {
        std::cerr << "plan-all: " << e.what() << "\n";
        return e.exit_code();
    }
}
