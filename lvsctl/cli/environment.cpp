#include "lvsctl/cli/environment.h"

#include <chrono>
#include <cstdlib>

#include "lvsctl/cli/process.h"
#include "lvsctl/manage/backends.h"
#include "propagation/ssh.h"

namespace lvsctl::cli {

namespace {

std::string expand_home(const std::string& path) {
    const char* home = std::getenv("HOME");
    if (path.rfind("~/", 0) == 0 && home != nullptr) {
        return std::string(home) + path.substr(1);
    }
    return path;
}

class CliEnvironment : public UpdateEnvironment {
  public:
    CliEnvironment(const Settings& settings, std::string lvs_cf, std::string keepalived)
        : settings_(settings),
          ssh_(ssh_options(settings)),
          runner_(std::chrono::seconds(settings.timeout), SpawnRunner::Environment::minimal),
          lvs_cf_(std::move(lvs_cf)),
          keepalived_(std::move(keepalived)) {}

    Connector& connector() override { return ssh_; }
    bool needs_ssh(const Cluster& cluster) const override {
        return cluster.backend.rfind("exec:", 0) != 0;
    }
    std::unique_ptr<LbBackend> backend(const Cluster& cluster, const LoadBalancer&, Transport* host,
                                       const std::string& name) override {
        if (cluster.backend == "ipvs") {
            return std::make_unique<AgentBackend>(*host, name, settings_.agent);
        }
        if (cluster.backend == "piranha") {
            return std::make_unique<FileBackend>(*host, name, kPiranhaConfig, lvs_cf_,
                                                 piranha_reload());
        }
        if (cluster.backend == "keepalived") {
            return std::make_unique<FileBackend>(*host, name, kKeepalivedConfig, keepalived_,
                                                 keepalived_reload());
        }
        return std::make_unique<ExecBackend>(runner_, name, cluster.backend.substr(5));
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

    const Settings& settings_;
    propagation::SshConnector ssh_;
    // exec: programs: --timeout as for SSH commands, and none of our credentials.
    SpawnRunner runner_;
    std::string lvs_cf_, keepalived_;
};

}  // namespace

std::unique_ptr<UpdateEnvironment> cli_environment(const Settings& settings, std::string lvs_cf,
                                                   std::string keepalived) {
    return std::make_unique<CliEnvironment>(settings, std::move(lvs_cf), std::move(keepalived));
}

}  // namespace lvsctl::cli
