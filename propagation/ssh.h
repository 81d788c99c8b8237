// The real Transport: SSH with libssh. Strict host-key checking against one known_hosts file
// (an unknown or changed key refuses the host), public-key authentication (a given identity,
// else the agent and ~/.ssh's defaults), connect and per-command timeouts, and one session per
// host reused for all of that host's commands. The only code that links libssh.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "lvsctl/manage/transport.h"

namespace lvsctl::propagation {

struct SshOptions {
    std::string user = "root";
    std::string identity;     // private key file; empty: the agent, then ~/.ssh's defaults
    std::string known_hosts;  // empty: ~/.ssh/known_hosts
    std::chrono::seconds timeout{30};
};

class SshConnector : public Connector {
  public:
    explicit SshConnector(SshOptions options);
    std::unique_ptr<Transport> connect(const IpAddress& address, std::uint16_t port) override;

  private:
    SshOptions options_;
};

}  // namespace lvsctl::propagation
