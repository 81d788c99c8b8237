#include "lvsctl/json_output.h"

#include <nlohmann/json.hpp>

namespace lvsctl {

std::string error_document(std::string_view message, ExitCode code) {
    const nlohmann::ordered_json doc = {
        {"changed", false},
        {"errors", {std::string(message)}},
        {"exit_code", static_cast<int>(code)},
    };
    return doc.dump(2) + "\n";
}

std::string rendered_document(std::int64_t cluster_id, std::string_view cluster_name,
                              std::string_view format, std::string_view content) {
    const nlohmann::ordered_json doc = {
        {"cluster", {{"id", cluster_id}, {"name", std::string(cluster_name)}}},
        {"format", std::string(format)},
        {"content", std::string(content)},
    };
    return doc.dump(2) + "\n";
}

}  // namespace lvsctl
