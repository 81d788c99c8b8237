// The JSON documents the program prints with --json (one document on stdout).
#pragma once

#include <string>
#include <string_view>

#include "lvsctl/error.h"

namespace lvsctl {

// {"changed": false, "errors": [message], "exit_code": N}
std::string error_document(std::string_view message, ExitCode code);

// {"cluster": {"id": N, "name": ...}, "format": "lvs.cf", "content": "..."}
std::string rendered_document(std::int64_t cluster_id, std::string_view cluster_name,
                              std::string_view format, std::string_view content);

}  // namespace lvsctl
