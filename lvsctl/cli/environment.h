// The real hosts for `update`, `plan`, `status` and the hooks: an UpdateEnvironment over SSH
// (propagation/) with the backends h2e_clusters.backend names.
#pragma once

#include <memory>
#include <string>

#include "lvsctl/cli/app.h"
#include "lvsctl/manage/update.h"

namespace lvsctl::cli {

// SSH with the global options' user, identity, known_hosts and timeout; the backends of
// h2e_clusters.backend (the file backends with these rendered files; the VRRP keepalived.conf
// rendered per LB from the templates --templates or the program's directory names).
// The VRRP keepalived.conf `update` writes on `lb` of `cluster` (docs/ha.md) for `website_ips`:
// lvsctl's header lines, then the template rendered with the global options' VRRP settings.
std::string vrrp_keepalived_conf(const Context& ctx, const Cluster& cluster, const LoadBalancer& lb,
                                 const std::vector<IpAddress>& website_ips);

std::unique_ptr<UpdateEnvironment> cli_environment(const Context& ctx, std::string lvs_cf,
                                                   std::string keepalived);

}  // namespace lvsctl::cli
