// lvs.cf and keepalived.conf from the templates in a directory (docs/commands.md, "render"). A
// provider may edit the templates; the variables they can use are listed at the top of each file.
#pragma once

#include <filesystem>
#include <string>

#include "lvsctl/model.h"

namespace lvsctl::templates {

class Renderer {
  public:
    explicit Renderer(std::filesystem::path directory) : directory_(std::move(directory)) {}

    // The cluster must be valid (validate()); a missing or broken template throws
    // Error(ExitCode::config) naming the file.
    std::string lvs_cf(const Cluster& cluster) const;
    std::string keepalived(const Cluster& cluster) const;

  private:
    std::filesystem::path directory_;
};

// Where the templates are when --templates is not given: share/lvsctl/templates beside the
// program's prefix (installed, or the build tree, which has the same layout).
std::filesystem::path default_directory(const std::filesystem::path& program);

}  // namespace lvsctl::templates
