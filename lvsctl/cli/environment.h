// The engine (lvsctl/api/engine.h) and the public API (include/lvsctl/lvsctl.h) as the CLI runs
// them: with the global options, the templates from --templates or beside the program.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lvsctl/api/engine.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/lvsctl.h"
#include "lvsctl/manage/update.h"

namespace lvsctl::cli {

// The global options and the templates' directory: --templates, else share/lvsctl/templates
// beside the program's prefix.
engine::Runtime runtime_of(const Context& ctx);

// The API's options for this command: the global options, the templates as runtime_of(), and
// the run's progress told to `progress` (when not nullptr).
api::Options api_options(const Context& ctx, Progress* progress);

// The VRRP keepalived.conf `update` writes on `lb` of `cluster` (engine::vrrp_keepalived_conf).
std::string vrrp_keepalived_conf(const Context& ctx, const Cluster& cluster, const LoadBalancer& lb,
                                 const std::vector<IpAddress>& website_ips);

// The real hosts (engine::environment).
std::unique_ptr<UpdateEnvironment> cli_environment(const Context& ctx, std::string lvs_cf,
                                                   std::string keepalived);

}  // namespace lvsctl::cli
