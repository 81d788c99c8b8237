#include "lvsctl/api/engine.h"

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "lvsctl/error.h"

#include "lvsctl/cli/process.h"
#include "lvsctl/manage/backends.h"
#include "propagation/ssh.h"
#include "templates/render.h"

namespace lvsctl::engine {

namespace {

// The LB's keepalived runs `AGENT agent vrrp-notify` on every VRRP state change (--agent was
// checked: a program name or an absolute path).
templates::Renderer::VrrpOptions vrrp_options(const Settings& settings, std::int64_t cluster_id) {
    return {settings.vrrp_nopreempt, settings.vrrp_unicast,
            fmt::format("{} agent vrrp-notify --cluster-id={}", settings.agent, cluster_id)};
}

templates::Renderer renderer_of(const Runtime& runtime) {
    return templates::Renderer(runtime.templates);
}

std::string expand_home(const std::string& path) {
    const char* home = std::getenv("HOME");
    if (path.rfind("~/", 0) == 0 && home != nullptr) {
        return std::string(home) + path.substr(1);
    }
    return path;
}

class HostEnvironment : public UpdateEnvironment {
  public:
    HostEnvironment(const Runtime& runtime, std::string lvs_cf, std::string keepalived)
        : ssh_(ssh_options(runtime.settings)),
          runner_(std::chrono::seconds(runtime.settings.timeout),
                  cli::SpawnRunner::Environment::minimal),
          backends_{runner_, runtime.settings.agent, std::move(lvs_cf), std::move(keepalived),
                    [this](const Cluster& cluster, const LoadBalancer& lb,
                           const std::vector<IpAddress>& ips) {
                        return renderer_.keepalived_vrrp(cluster, lb, ips,
                                                         vrrp_options(settings_, cluster.id));
                    }},
          renderer_(renderer_of(runtime)),
          settings_(runtime.settings) {}

    Connector& connector() override { return ssh_; }
    bool needs_ssh(const Cluster& cluster) const override { return uses_ssh(kind(cluster)); }
    std::unique_ptr<LbBackend> backend(const Cluster& cluster, const LoadBalancer& lb,
                                       Transport* host, const std::string& name) override {
        return make_backend(cluster, lb, host, name, backends_);
    }

  private:
    static propagation::SshOptions ssh_options(const Settings& s) {
        propagation::SshOptions o;
        o.user = s.ssh_user;
        o.identity = s.ssh_identity ? expand_home(*s.ssh_identity) : "";
        o.known_hosts = expand_home(s.known_hosts);
        o.timeout = std::chrono::seconds(s.timeout);
        return o;
    }

    // The cluster was validated: its backend parses.
    static BackendSpec spec(const Cluster& cluster) {
        const auto parsed = parse_backend(cluster.backend);
        if (!parsed) {
            throw Error(ExitCode::data, fmt::format("h2e_clusters cluster_id={}: column backend: "
                                                    "unknown backend {:?}",
                                                    cluster.id, cluster.backend));
        }
        return *parsed;
    }
    static BackendKind kind(const Cluster& cluster) { return spec(cluster).kind; }

    propagation::SshConnector ssh_;
    // exec: programs: --timeout as for SSH commands, and none of our credentials.
    cli::SpawnRunner runner_;
    BackendContext backends_;
    templates::Renderer renderer_;
    Settings settings_;
};

}  // namespace

std::string vrrp_keepalived_conf(const Runtime& runtime, const Cluster& cluster,
                                 const LoadBalancer& lb,
                                 const std::vector<IpAddress>& website_ips) {
    return vrrp_header(website_ips) +
           renderer_of(runtime).keepalived_vrrp(cluster, lb, website_ips,
                                                vrrp_options(runtime.settings, cluster.id));
}

std::unique_ptr<UpdateEnvironment> environment(const Runtime& runtime, std::string lvs_cf,
                                               std::string keepalived) {
    return std::make_unique<HostEnvironment>(runtime, std::move(lvs_cf), std::move(keepalived));
}

}  // namespace lvsctl::engine
