#include <malloc.h>

#include <iostream>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/process.h"

int main(int argc, char** argv) {
    // A run reads and changes its hosts from up to --parallel threads, and glibc would give each
    // thread a malloc arena of its own whose high-water mark stays resident. Two arenas keep a
    // cold `update` of 64 web servers x 10,000 website IPs at 59 MiB, not 70 (bench/README.md,
    // "update_weight"); the threads wait on the network, not on malloc.
    mallopt(M_ARENA_MAX, 2);
    lvsctl::cli::ignore_sigpipe();
    return lvsctl::cli::run(argc, argv, std::cout, std::cerr);
}
