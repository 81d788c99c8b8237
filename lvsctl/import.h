// What `import` reads besides piranha's lvs.cf: keepalived.conf and `ipvsadm -S` output, into
// the cluster model (docs/migration.md). Shared by the three readers: the hints an operator gives
// on the command line and the result with its warnings.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/model.h"

namespace lvsctl {

struct ImportHints {
    // `--server NAME=MGMT_IP`: the management address (SSH target) of the server a file names
    // NAME: an lvs.cf server name, or a real-server address as keepalived.conf and ipvsadm write
    // it. A name without a hint is resolved (as piranha did), or refused by name.
    std::map<std::string, IpAddress, std::less<>> servers;
    // A host name to an address (getaddrinfo in the CLI); empty: no name resolves.
    std::function<std::optional<IpAddress>(std::string_view)> resolve;
    // render --from-lvscf: a server no hint names is managed at its own address instead of
    // being refused (rendering needs no SSH target).
    bool address_as_management = false;
};

struct Imported {
    Cluster cluster;  // not validated: call validate() before using it
    // What the file says and lvsctl keeps but does not act on, or drops, one line each
    // ("line 12: heartbeat = 1: kept for the piranha backend, not acted on"); a repeated key.
    std::vector<std::string> warnings;
};

// The management address of a server `name` (a server name or a real-server address): the hint,
// the name itself when it is an address, or the name resolved; std::nullopt when none applies.
std::optional<IpAddress> management_address(const ImportHints& hints, std::string_view name);

// keepalived.conf (`virtual_server fwmark N`, `virtual_server IP PORT`, `virtual_server_group`,
// real servers and their checks). Throws Error(ExitCode::data) naming `source`, the line and the
// reason for what does not fit one cluster.
Imported parse_keepalived_conf(std::string_view text, std::string_view source,
                               const ImportHints& hints);

// `ipvsadm -S` / `ipvsadm-save` output. Throws as parse_keepalived_conf.
Imported parse_ipvsadm_save(std::string_view text, std::string_view source,
                            const ImportHints& hints);

}  // namespace lvsctl
