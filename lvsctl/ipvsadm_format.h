// An IPVS table laid out as `ipvsadm -L -n` prints it (and with --stats, --rate), for `status`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lvsctl/ipvs_types.h"

namespace lvsctl {

enum class TableLayout { list, stats, rate };

// The column headers and one line per service and destination, in ipvsadm's widths; numbers in
// the stats and rate layouts as ipvsadm abbreviates them (K, M, G above 99,999,999).
std::string ipvsadm_table(const std::vector<ServiceInfo>& services, TableLayout layout);

}  // namespace lvsctl
