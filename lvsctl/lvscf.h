// piranha's lvs.cf, read into the model (for `import`, and to render from a file).
//
// Syntax as piranha's own parser takes it: one `key = value` per line with `=` a separate
// token; values are words or double-quoted strings without escapes (nanny expands \r \n \t
// later, so those three are turned into the characters here); `#` comments on lines of their
// own; `virtual NAME {` and `server NAME {` open blocks that a lone `}` closes. A key piranha
// does not know makes the whole file invalid.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/model.h"

namespace lvsctl {

struct LvsCf {
    Cluster cluster;
    // piranha settings the file has and lvsctl has no use for (heartbeat, nat_router, ...),
    // one "line N: key" each, so `import` can say what it leaves behind.
    std::vector<std::string> ignored;
};

// `source` names the file in error messages. Throws Error(ExitCode::data) naming the line.
// The cluster it returns is not validated: call validate() before using it.
// lvs.cf has no node ids: servers are numbered 1, 2, ... in the order they first appear.
LvsCf parse_lvs_cf(std::string_view text, std::string_view source = "lvs.cf");

// The inverse of the \r \n \t expansion above, for writing send/expect strings.
std::string escape_check_string(std::string_view text);

}  // namespace lvsctl
