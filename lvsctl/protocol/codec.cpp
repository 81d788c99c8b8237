#include "lvsctl/protocol/codec.h"

#include <stdexcept>

namespace lvsctl::codec {

nlohmann::ordered_json service_key(const ServiceKey& key) {
    if (key.fwmark != 0) {
        return {{"family", to_string(key.family)}, {"fwmark", key.fwmark}};
    }
    return {{"family", to_string(key.family)},
            {"protocol", key.protocol},
            {"address", key.address.str()},
            {"port", key.port}};
}

ServiceKey parse_service_key(const nlohmann::json& j) {
    const auto family_text = j.at("family").get<std::string>();
    const auto family = parse_family(family_text);
    if (!family) {
        throw std::invalid_argument("unknown family " + family_text);
    }
    if (j.contains("fwmark")) {
        const auto mark = integer<std::uint32_t>(j.at("fwmark"), "fwmark");
        if (mark == 0) {
            throw std::invalid_argument("a fwmark service with mark 0");
        }
        return ServiceKey::fwmark_service(*family, mark);
    }
    ServiceKey key;
    key.family = *family;
    key.protocol = integer<std::uint16_t>(j.at("protocol"), "protocol");
    const auto text = j.at("address").get<std::string>();
    const auto address = IpAddress::parse(text);
    if (!address || address->family() != *family) {
        throw std::invalid_argument("not an " + family_text + " address: " + text);
    }
    if (key.protocol == 0 || key.protocol > 255) {
        throw std::invalid_argument("protocol " + std::to_string(key.protocol) +
                                    " is outside 1..255");
    }
    key.address = *address;
    key.port = integer<std::uint16_t>(j.at("port"), "port");
    return key;
}

nlohmann::ordered_json stats(const IpvsStats& s) {
    return {{"conns", s.conns},     {"inpkts", s.inpkts},     {"outpkts", s.outpkts},
            {"inbytes", s.inbytes}, {"outbytes", s.outbytes}, {"cps", s.cps},
            {"inpps", s.inpps},     {"outpps", s.outpps},     {"inbps", s.inbps},
            {"outbps", s.outbps}};
}

nlohmann::ordered_json services(const std::vector<ServiceInfo>& list) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& svc : list) {
        auto j = service_key(svc.key);
        j["scheduler"] = svc.settings.scheduler;
        j["persistence"] = (svc.settings.flags & kSvcPersistent) != 0 ? svc.settings.timeout : 0;
        j["stats"] = stats(svc.stats);
        auto dests = nlohmann::ordered_json::array();
        for (const auto& d : svc.dests) {
            dests.push_back({{"address", d.key.address.str()},
                             {"port", d.key.port},
                             {"forwarding", json_name(d.settings.forward)},
                             {"weight", d.settings.weight},
                             {"active_conns", d.active_conns},
                             {"inactive_conns", d.inactive_conns},
                             {"stats", stats(d.stats)}});
        }
        j["destinations"] = std::move(dests);
        out.push_back(std::move(j));
    }
    return out;
}

IpvsStats parse_stats(const nlohmann::json& j) {
    IpvsStats s;
    s.conns = integer_or<std::uint64_t>(j, "conns", std::uint64_t{0});
    s.inpkts = integer_or<std::uint64_t>(j, "inpkts", std::uint64_t{0});
    s.outpkts = integer_or<std::uint64_t>(j, "outpkts", std::uint64_t{0});
    s.inbytes = integer_or<std::uint64_t>(j, "inbytes", std::uint64_t{0});
    s.outbytes = integer_or<std::uint64_t>(j, "outbytes", std::uint64_t{0});
    s.cps = integer_or<std::uint64_t>(j, "cps", std::uint64_t{0});
    s.inpps = integer_or<std::uint64_t>(j, "inpps", std::uint64_t{0});
    s.outpps = integer_or<std::uint64_t>(j, "outpps", std::uint64_t{0});
    s.inbps = integer_or<std::uint64_t>(j, "inbps", std::uint64_t{0});
    s.outbps = integer_or<std::uint64_t>(j, "outbps", std::uint64_t{0});
    return s;
}

IpvsForward parse_forward(std::string_view name) {
    for (const auto f : {IpvsForward::masq, IpvsForward::local, IpvsForward::tunnel,
                         IpvsForward::route, IpvsForward::bypass}) {
        if (json_name(f) == name) {
            return f;
        }
    }
    throw std::invalid_argument("unknown forwarding " + std::string(name));
}

std::string text(const nlohmann::ordered_json& doc) {
    auto out = doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    constexpr std::string_view kNul = "\\u0000";
    for (std::size_t i = out.find('\\'); i != std::string::npos; i = out.find('\\', i)) {
        // Outside strings there is no backslash; inside, each starts an escape of its own.
        if (out.compare(i, kNul.size(), kNul) == 0) {
            out.replace(i, kNul.size(), "\\ufffd");
        }
        i += 2;
    }
    return out + "\n";
}

}  // namespace lvsctl::codec
