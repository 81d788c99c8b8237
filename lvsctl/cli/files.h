// Local files: read whole, and replace atomically (a reader sees the old or the new file, and a
// crash leaves one of the two).
#pragma once

#include <chrono>
#include <filesystem>
#include <istream>
#include <optional>
#include <string>

namespace lvsctl::cli {

std::string read_stream(std::istream& in);
// std::nullopt when the file does not exist; Error(ExitCode::data) when it cannot be read.
std::optional<std::string> read_file_if_exists(const std::filesystem::path& path);
// Writes a temporary file beside `path`, fsyncs it, renames it over `path`, fsyncs the folder.
// Throws Error(ExitCode::internal) naming the file (ExitCode::permission when it was EACCES or
// EPERM).
void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode = 0644);

// An exclusive flock(2) on `path` (created, mode 0600), held until destruction. Waits up to
// `timeout`, then throws Error(ExitCode::lock_busy) naming the file; EACCES or EPERM on opening it
// is Error(ExitCode::permission). The lock goes with the process, so one killed never leaves it
// taken.
class FileLock {
  public:
    FileLock(const std::filesystem::path& path, std::chrono::milliseconds timeout);
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    ~FileLock();

  private:
    int fd_ = -1;
};

}  // namespace lvsctl::cli
