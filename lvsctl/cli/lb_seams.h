// The real seams of what runs on the LB, shared by `agent` and `monitor`: the state directory's
// files and the steady clock.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lvsctl/lb/agent.h"
#include "lvsctl/lb/ipvs_plan.h"

namespace lvsctl::cli {

class SteadyClock : public Clock {
  public:
    std::chrono::steady_clock::time_point now() override;
    void sleep(std::chrono::milliseconds duration) override;
};

// The ownership records (and the monitor's files) in the state directory, each replaced
// atomically.
class DirectoryRecords : public RecordStore {
  public:
    explicit DirectoryRecords(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::vector<std::string> names() override;
    std::optional<std::string> read(const std::string& name) override;
    void write(const std::string& name, const std::string& text) override;
    void write_pieces(const std::string& name, const Pieces& text) override;
    void rename(const std::string& from, const std::string& to) override;
    std::string path(const std::string& name) const override { return (dir_ / name).string(); }

  private:
    std::filesystem::path dir_;
};

}  // namespace lvsctl::cli
