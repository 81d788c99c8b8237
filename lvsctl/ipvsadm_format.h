// An IPVS table laid out as `ipvsadm -L -n` prints it (and with --stats, --rate), for `status`;
// a cluster's table as `ipvsadm -S -n` prints it, for `render --format=ipvsadm`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lvsctl/ipvs_types.h"
#include "lvsctl/model.h"

namespace lvsctl {

enum class TableLayout { list, stats, rate };

// The column headers and one line per service and destination, in ipvsadm's widths; numbers in
// the stats and rate layouts as ipvsadm abbreviates them (K, M, G above 99,999,999).
std::string ipvsadm_table(const std::vector<ServiceInfo>& services, TableLayout layout);

// What `ipvsadm -S -n` prints on the cluster's LB once `agent apply` converged it: the IPv4
// fwmark service, and the IPv6 one when the cluster has IPv6 website IPs, each "-A -f MARK [-6]
// -s SCHED [-p SECONDS]" then one "-a -f MARK [-6] -r ADDR:0 -g|-m|-i -w WEIGHT" per server,
// sorted by address as ipvsadm sorts them (an inactive server is there with weight 0, as the
// agent keeps it). No comments: `ipvsadm -R` does not skip them. parse_ipvsadm_save reads it.
std::string ipvsadm_rules(const Cluster& cluster);

}  // namespace lvsctl
