// Local files: read whole, and replace atomically (a reader sees the old or the new file, and a
// crash leaves one of the two).
#pragma once

#include <filesystem>
#include <istream>
#include <optional>
#include <string>

namespace lvsctl::cli {

std::string read_stream(std::istream& in);
// std::nullopt when the file does not exist; Error(ExitCode::data) when it cannot be read.
std::optional<std::string> read_file_if_exists(const std::filesystem::path& path);
// Writes a temporary file beside `path`, fsyncs it, renames it over `path`, fsyncs the folder.
// Throws Error(ExitCode::internal) naming the file.
void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode = 0644);

}  // namespace lvsctl::cli
