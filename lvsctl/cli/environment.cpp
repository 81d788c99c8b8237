#include "lvsctl/cli/environment.h"

#include <utility>

#include "templates/render.h"

namespace lvsctl::cli {

engine::Runtime runtime_of(const Context& ctx) {
    return {ctx.settings, ctx.settings.templates ? std::filesystem::path(*ctx.settings.templates)
                                                 : templates::default_directory(ctx.program)};
}

api::Options api_options(const Context& ctx, Progress* progress) {
    auto options = engine::options_of(ctx.settings);
    options.templates = runtime_of(ctx).templates.string();
    if (progress != nullptr) {
        options.progress = [progress](const api::ProgressEvent& e) {
            switch (e.kind) {
                case api::ProgressEvent::Kind::begin:
                    progress->begin(e.phase, e.total);
                    break;
                case api::ProgressEvent::Kind::done:
                    progress->done(e.failed);
                    break;
                case api::ProgressEvent::Kind::end:
                    progress->end();
                    break;
            }
        };
    }
    return options;
}

std::string vrrp_keepalived_conf(const Context& ctx, const Cluster& cluster, const LoadBalancer& lb,
                                 const std::vector<IpAddress>& website_ips) {
    return engine::vrrp_keepalived_conf(runtime_of(ctx), cluster, lb, website_ips);
}

std::unique_ptr<UpdateEnvironment> cli_environment(const Context& ctx, std::string lvs_cf,
                                                   std::string keepalived) {
    return engine::environment(runtime_of(ctx), std::move(lvs_cf), std::move(keepalived));
}

}  // namespace lvsctl::cli
