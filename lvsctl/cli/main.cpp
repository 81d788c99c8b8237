#include <iostream>

#include "lvsctl/cli/app.h"

int main(int argc, char** argv) {
    return lvsctl::cli::run(argc, argv, std::cout, std::cerr);
}
