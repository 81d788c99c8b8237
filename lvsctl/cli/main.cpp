#include <iostream>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/process.h"

int main(int argc, char** argv) {
    lvsctl::cli::ignore_sigpipe();
    return lvsctl::cli::run(argc, argv, std::cout, std::cerr);
}
