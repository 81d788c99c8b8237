#include <doctest/doctest.h>

#include "lvsctl/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using lvsctl::Family;
using lvsctl::IpAddress;

TEST_CASE("IPv4 and IPv6 addresses parse to their family and print canonically") {
    auto v4 = IpAddress::parse("10.39.84.131");
    REQUIRE(v4);
    CHECK(v4->family() == Family::inet);
    CHECK(v4->str() == "10.39.84.131");

    auto v6 = IpAddress::parse("2001:DB8:84:0:0:0:0:131");
    REQUIRE(v6);
    CHECK(v6->family() == Family::inet6);
    CHECK(v6->str() == "2001:db8:84::131");
}

TEST_CASE("anything but a plain address is refused") {
    for (const char* bad : {"", " 10.0.0.1", "10.0.0.1 ", "10.0.0.1/32", "10.0.0", "10.0.0.256",
                            "fe80::1%eth0", "2001:db8::1/128", "host.example", "10.0.0.1;rm -rf /",
                            "::ffff:10.0.0.1:80", "1.2.3.4.5"}) {
        CAPTURE(bad);
        CHECK_FALSE(IpAddress::parse(bad));
    }
    // inet_pton needs a terminator: a view into a longer buffer must not read past its end.
    const std::string longer = "10.0.0.1999";
    CHECK(IpAddress::parse(std::string_view(longer).substr(0, 8))->str() == "10.0.0.1");
}

TEST_CASE("IPv4 text is read exactly as inet_pton reads it") {
    for (const char* text : {"01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3.", ".1.2.3", "1..2.3",
                             "1.2.3.4.", "+1.2.3.4", "1.2.3.-4", "1.2.3.4e", "0.0.0.00", "1.2.3"}) {
        CAPTURE(text);
        CHECK_FALSE(IpAddress::parse(text));
    }
    // Every string of digits and dots up to 9 characters drawn at random, and the same with an
    // address in it: both readers agree on which are addresses and on their bytes.
    std::mt19937 random(11);
    const std::string alphabet = "0123456789..";
    for (int n = 0; n < 200000; ++n) {
        std::string text;
        const auto length = 1 + random() % 15;
        for (std::size_t i = 0; i < length; ++i) {
            text += alphabet[random() % alphabet.size()];
        }
        if (n % 2 == 0) {
            text = std::to_string(random() % 300) + "." + std::to_string(random() % 260) + "." +
                   std::to_string(random() % 260) + "." + text.substr(0, random() % 4);
        }
        unsigned char expected[4] = {};
        const bool valid = inet_pton(AF_INET, text.c_str(), expected) == 1;
        const auto parsed = IpAddress::parse(text);
        CAPTURE(text);
        REQUIRE(parsed.has_value() == valid);
        if (valid) {
            REQUIRE(std::equal(expected, expected + 4, parsed->bytes().begin()));
        }
    }
}

TEST_CASE("addresses order by family, then by bytes") {
    auto a = *IpAddress::parse("10.0.0.2");
    auto b = *IpAddress::parse("10.0.0.10");
    auto c = *IpAddress::parse("::1");
    CHECK(a < b);
    CHECK(b < c);
    CHECK(a == *IpAddress::parse("10.0.0.2"));
    // Bytes in network order, across both 64-bit halves.
    CHECK(*IpAddress::parse("9.255.255.255") < *IpAddress::parse("10.0.0.0"));
    CHECK(*IpAddress::parse("2001:db8::ffff") < *IpAddress::parse("2001:db8::1:0"));
    CHECK(*IpAddress::parse("2001:db8:0:0:ffff::") < *IpAddress::parse("2001:db8:0:1::"));
    CHECK(*IpAddress::parse("2001:db8::1") > *IpAddress::parse("255.255.255.255"));
    CHECK((*IpAddress::parse("2001:db8::1") <=> *IpAddress::parse("2001:db8::1")) == 0);
}

TEST_CASE("sorted_unique sorts, and drops repeats, whether or not the input was sorted") {
    auto ip = [](const char* text) { return *IpAddress::parse(text); };
    const std::vector<IpAddress> sorted{ip("10.0.0.1"), ip("10.0.0.2"), ip("::1")};
    CHECK(lvsctl::sorted_unique({ip("::1"), ip("10.0.0.2"), ip("10.0.0.1"), ip("10.0.0.2")}) ==
          sorted);
    CHECK(lvsctl::sorted_unique({ip("10.0.0.1"), ip("10.0.0.1"), ip("10.0.0.2"), ip("::1")}) ==
          sorted);
    CHECK(lvsctl::sorted_unique({}).empty());
}

TEST_CASE("sorted_unique: runs as the kernel lists them, and shuffled input, as std::sort does") {
    std::vector<IpAddress> kernel_order;  // IPv4 in the order added, IPv6 in reverse
    kernel_order.push_back(*IpAddress::parse("127.0.0.1"));
    for (int i = 1; i <= 300; ++i) {
        kernel_order.push_back(*IpAddress::parse("10.0." + std::to_string(i / 250) + "." +
                                                 std::to_string(i % 250 + 1)));
    }
    for (int i = 200; i >= 1; --i) {
        kernel_order.push_back(*IpAddress::parse("2001:db8::" + std::to_string(i)));
    }
    kernel_order.push_back(*IpAddress::parse("::1"));
    kernel_order.push_back(*IpAddress::parse("10.0.0.7"));  // a repeat, after the runs
    auto shuffled = kernel_order;
    std::mt19937 random(7);
    std::shuffle(shuffled.begin(), shuffled.end(), random);
    for (const auto* input : {&kernel_order, &shuffled}) {
        auto expected = *input;
        std::sort(expected.begin(), expected.end());
        expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
        const auto got = lvsctl::sorted_unique(*input);
        CHECK(got.size() == kernel_order.size() - 1);
        CHECK(got == expected);
    }
}

TEST_CASE("IPv4 addresses print as dotted quads, whatever their digits") {
    for (const char* text :
         {"0.0.0.0", "255.255.255.255", "10.0.0.1", "1.20.255.0", "100.9.99.199"}) {
        CHECK(IpAddress::parse(text)->str() == text);
    }
}

TEST_CASE("only unicast addresses can serve websites") {
    for (const char* good : {"10.39.84.131", "192.0.2.1", "2001:db8::1", "fd00::1"}) {
        CAPTURE(good);
        CHECK(IpAddress::parse(good)->is_global_unicast());
    }
    for (const char* bad : {"0.0.0.0", "127.0.0.1", "169.254.1.1", "224.0.0.1", "255.255.255.255",
                            "::", "::1", "fe80::1", "ff02::1", "::ffff:10.0.0.1"}) {
        CAPTURE(bad);
        CHECK_FALSE(IpAddress::parse(bad)->is_global_unicast());
    }
}
