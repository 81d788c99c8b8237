#include <doctest/doctest.h>

#include "lvsctl/address.h"

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

TEST_CASE("addresses order by family, then by bytes") {
    auto a = *IpAddress::parse("10.0.0.2");
    auto b = *IpAddress::parse("10.0.0.10");
    auto c = *IpAddress::parse("::1");
    CHECK(a < b);
    CHECK(b < c);
    CHECK(a == *IpAddress::parse("10.0.0.2"));
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
