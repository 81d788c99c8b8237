// lvs.cf and keepalived.conf from the templates in a directory (docs/commands.md, "render"). A
// provider may edit the templates; the variables they can use are listed at the top of each file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lvsctl/model.h"

namespace lvsctl::templates {

class Renderer {
  public:
    explicit Renderer(std::filesystem::path directory) : directory_(std::move(directory)) {}

    // The cluster must be valid (validate()); a missing or broken template throws
    // Error(ExitCode::config) naming the file.
    std::string lvs_cf(const Cluster& cluster) const;
    std::string keepalived(const Cluster& cluster) const;

    // keepalived-vrrp.conf.tpl for `lb` of a cluster with ha = vrrp (docs/ha.md), naming
    // `website_ips` (what update lets this LB serve now). `notify`: the command keepalived runs
    // on a state change, validated by the caller.
    struct VrrpOptions {
        bool nopreempt = false;
        bool unicast = false;
        std::string notify;
    };
    std::string keepalived_vrrp(const Cluster& cluster, const LoadBalancer& lb,
                                const std::vector<IpAddress>& website_ips,
                                const VrrpOptions& options) const;

  private:
    std::filesystem::path directory_;
};

// Where the templates are when --templates is not given: share/lvsctl/templates beside the
// program's prefix (installed, or the build tree, which has the same layout).
std::filesystem::path default_directory(const std::filesystem::path& program);

}  // namespace lvsctl::templates
