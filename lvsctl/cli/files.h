// Local files: read whole, and replace atomically (a reader sees the old or the new file, and a
// crash leaves one of the two).
#pragma once

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <istream>
#include <optional>
#include <streambuf>
#include <string>
#include <string_view>

namespace lvsctl::cli {

std::string read_stream(std::istream& in);

// A file descriptor read through a 64 KiB buffer, as a std::streambuf: for an input parsed as it
// comes rather than held whole (the agent's desired state, docs/agent-protocol.md). A read error
// ends the input; error() then says which (0 when none).
class FdInput : public std::streambuf {
  public:
    explicit FdInput(int fd) : fd_(fd) {}
    int error() const { return error_; }

  protected:
    int_type underflow() override;

  private:
    int fd_;
    int error_ = 0;
    std::array<char, 65536> buffer_{};
};
// std::nullopt when the file does not exist; Error(ExitCode::data) when it cannot be read.
std::optional<std::string> read_file_if_exists(const std::filesystem::path& path);
// Writes a temporary file beside `path`, fsyncs it, renames it over `path`, fsyncs the folder.
// Throws Error(ExitCode::internal) naming the file (ExitCode::permission when it was EACCES or
// EPERM).
void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode = 0644);
// The same for content made piece by piece (`produce` calls its argument with each piece): a
// large file is never held whole. A piece that fails to write, or `produce` throwing, leaves the
// old file as it was.
using TextSink = std::function<void(std::string_view)>;
void write_file_atomic(const std::filesystem::path& path, unsigned mode,
                       const std::function<void(const TextSink&)>& produce);

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
