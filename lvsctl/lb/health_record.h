// The monitor's verdicts applied to a desired state (docs/monitor.md, "One weight, two writers").
// The record itself is a protocol document (protocol/health_record.h).
#pragma once

#include "lvsctl/lb/health.h"
#include "lvsctl/protocol/desired_state.h"
#include "lvsctl/protocol/health_record.h"

namespace lvsctl {

// The desired state with the monitor's verdicts: each destination's weight through
// effective_weight(); a destination out of service leaves the document (the monitor has taken it
// out of the kernel already). A server the record does not know is new: not trusted until the
// monitor checked it. Without checks in `desired`, `desired` as it is.
LbDesiredState with_health(LbDesiredState desired, const HealthRecord& record);

}  // namespace lvsctl
