// lvsctl._lvsctl: the public API (include/lvsctl/lvsctl.h, docs/library.md) for Python, under
// the package lvsctl (python/lvsctl/__init__.py), which turns what this module returns into
// dataclasses and its ApiError into lvsctl.Error. Only the public header is included: the module
// proves that the facade is enough for a binding.
//
// Threads (docs/library.md, "Python"): every call into lvsctl runs with the GIL released, so
// that other Python threads run meanwhile; the progress and import-warning callbacks are called
// from lvsctl's worker threads and take the GIL for the Python callable. A callable that raises
// is not called again during that call; its first exception is kept and raised once the call has
// returned (lvsctl never sees it: the API's callbacks must not throw).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <lvsctl/lvsctl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;
namespace api = lvsctl::api;

namespace {

// lvsctl._lvsctl.ApiError(exit_code, message): what every api::Error becomes here; the package
// raises it again as lvsctl.Error. Created once by the module's init, never freed.
PyObject* api_error_type = nullptr;

// Text from lvsctl as a Python str. Hosts' output may be anything: bytes that are not UTF-8
// become U+FFFD instead of failing the whole result.
py::object text(const std::string& s) {
    PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
    if (o == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(o);
}

py::list texts(const std::vector<std::string>& v) {
    py::list l;
    for (const auto& s : v) {
        l.append(text(s));
    }
    return l;
}

py::object optional_text(const std::optional<std::string>& s) {
    return s ? text(*s) : py::object(py::none());
}

// --- the results, as dicts with the C++ field names (the package makes dataclasses of them) ---

py::dict to_dict(const api::ClusterInfo& c) {
    py::dict d;
    d["id"] = c.id;
    d["name"] = text(c.name);
    return d;
}

py::dict to_dict(const api::HostResult& h) {
    py::dict d;
    d["host"] = text(h.host);
    d["role"] = text(h.role);
    d["changes"] = texts(h.changes);
    d["applied"] = h.applied;
    d["errors"] = texts(h.errors);
    d["error"] = optional_text(h.error);
    d["exit_code"] = h.exit_code;
    d["monitored"] = h.monitored;
    d["monitor"] = text(h.monitor);
    return d;
}

py::dict to_dict(const api::Result& r) {
    py::dict d;
    d["cluster_id"] = r.cluster_id;
    d["cluster_name"] = text(r.cluster_name);
    d["backend"] = text(r.backend);
    d["serial"] = r.serial;
    d["dry_run"] = r.dry_run;
    d["pending"] = r.pending;
    d["changed"] = r.changed;
    py::list hosts;
    for (const auto& h : r.hosts) {
        hosts.append(to_dict(h));
    }
    d["hosts"] = hosts;
    d["notes"] = texts(r.notes);
    d["errors"] = texts(r.errors);
    d["document"] = text(r.document);
    d["exit_code"] = r.exit_code;
    return d;
}

py::dict to_dict(const api::HookResult& h) {
    py::dict d;
    d["what"] = text(h.what);
    d["update"] = h.update ? py::object(to_dict(*h.update)) : py::object(py::none());
    d["document"] = text(h.document);
    d["notes"] = texts(h.notes);
    d["removed"] = optional_text(h.removed);
    d["cleanup"] = h.cleanup ? py::object(to_dict(*h.cleanup)) : py::object(py::none());
    d["exit_code"] = h.exit_code;
    return d;
}

py::dict to_dict(const api::ServerInfo& s) {
    py::dict d;
    d["node_id"] = s.node_id;
    d["address"] = text(s.address);
    d["address_v6"] = optional_text(s.address_v6);
    d["mgmt_address"] = text(s.mgmt_address);
    d["ssh_port"] = s.ssh_port;
    d["weight"] = s.weight;
    d["active"] = s.active;
    return d;
}

py::dict to_dict(const api::ClusterRun& r) {
    py::dict d;
    d["cluster_id"] = r.cluster_id;
    d["cluster_name"] = text(r.cluster_name);
    d["status"] = text(r.status);
    d["skipped"] = r.skipped;
    d["changed"] = r.changed;
    d["pending"] = r.pending;
    d["changes"] = r.changes;
    d["errors"] = texts(r.errors);
    d["summary"] = text(r.summary);
    d["document"] = text(r.document);
    d["exit_code"] = r.exit_code;
    return d;
}

py::dict to_dict(const api::AllResult& a) {
    py::dict d;
    py::list clusters;
    for (const auto& c : a.clusters) {
        clusters.append(to_dict(c));
    }
    d["clusters"] = clusters;
    d["summary"] = text(a.summary);
    d["document"] = text(a.document);
    d["exit_code"] = a.exit_code;
    return d;
}

py::dict to_dict(const api::Rendered& r) {
    py::dict d;
    d["cluster_id"] = r.cluster_id;
    d["cluster_name"] = text(r.cluster_name);
    d["format"] = text(r.format);
    d["content"] = text(r.content);
    return d;
}

py::dict to_dict(const api::StatusResult& s) {
    py::dict d;
    d["cluster_id"] = s.cluster_id;
    py::list hosts;
    for (const auto& h : s.hosts) {
        py::dict hd;
        hd["host"] = text(h.host);
        hd["error"] = optional_text(h.error);
        hd["text"] = text(h.text);
        hosts.append(hd);
    }
    d["hosts"] = hosts;
    d["document"] = text(s.document);
    d["exit_code"] = s.exit_code;
    return d;
}

template <typename T>
py::list to_list(const std::vector<T>& v) {
    py::list l;
    for (const auto& x : v) {
        l.append(to_dict(x));
    }
    return l;
}

// --- Options: to and from a dict of the C++ field names, all of them (the package's Options) ---

py::dict options_dict(const api::Options& o) {
    py::dict d;
    d["db"] = optional_text(o.db);
    d["ssh_user"] = text(o.ssh_user);
    d["ssh_identity"] = optional_text(o.ssh_identity);
    d["known_hosts"] = text(o.known_hosts);
    d["templates"] = optional_text(o.templates);
    d["agent"] = text(o.agent);
    d["timeout"] = o.timeout;
    d["parallel"] = o.parallel;
    d["lock_timeout"] = o.lock_timeout;
    d["vrrp_nopreempt"] = o.vrrp_nopreempt;
    d["vrrp_unicast"] = o.vrrp_unicast;
    return d;
}

api::Options options_from(const py::dict& d) {
    api::Options o;
    o.db = d["db"].cast<std::optional<std::string>>();
    o.ssh_user = d["ssh_user"].cast<std::string>();
    o.ssh_identity = d["ssh_identity"].cast<std::optional<std::string>>();
    o.known_hosts = d["known_hosts"].cast<std::string>();
    o.templates = d["templates"].cast<std::optional<std::string>>();
    o.agent = d["agent"].cast<std::string>();
    o.timeout = d["timeout"].cast<int>();
    o.parallel = d["parallel"].cast<int>();
    o.lock_timeout = d["lock_timeout"].cast<int>();
    o.vrrp_nopreempt = d["vrrp_nopreempt"].cast<bool>();
    o.vrrp_unicast = d["vrrp_unicast"].cast<bool>();
    return o;
}

// --- errors ------------------------------------------------------------------------------------

// Raises ApiError(exit_code, message) for `e`; `cause`, a callback's exception during the same
// call, becomes its __context__ (the package raises lvsctl.Error from it).
[[noreturn]] void raise_api_error(const api::Error& e,
                                  std::optional<py::error_already_set> cause = std::nullopt) {
    py::object instance =
        py::reinterpret_borrow<py::object>(api_error_type)(e.exit_code(), text(e.what()));
    if (cause) {
        PyException_SetContext(instance.ptr(), cause->value().inc_ref().ptr());  // steals
    }
    PyErr_SetObject(api_error_type, instance.ptr());
    throw py::error_already_set();
}

// A call that does not reach the hosts or run callbacks (load_options, open): api::Error as
// ApiError, with the GIL held.
template <typename Fn>
auto translated(Fn&& fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const api::Error& e) {
        raise_api_error(e);
    }
}

// The first exception of the Python callbacks during one call. Only touched with the GIL held,
// which serializes the worker threads' callbacks.
struct CallbackErrors {
    std::optional<py::error_already_set> first;
};

// A Python callable lvsctl calls from its threads. Holds its own reference; dropped with the GIL
// taken, whichever thread lets go of it last.
class PyCallback {
  public:
    PyCallback(py::object fn, std::shared_ptr<CallbackErrors> errors)
        : fn_(std::move(fn)), errors_(std::move(errors)) {}
    PyCallback(const PyCallback&) = delete;
    PyCallback& operator=(const PyCallback&) = delete;
    ~PyCallback() {
        const py::gil_scoped_acquire gil;
        fn_ = py::object();
    }

    // Calls fn(*args(...)) with the GIL taken; `args` builds the arguments under the GIL. Never
    // throws: an exception is kept in CallbackErrors, and fn is not called again this call.
    template <typename Args>
    void operator()(Args&& args) const noexcept {
        const py::gil_scoped_acquire gil;
        if (errors_->first) {
            return;
        }
        try {
            fn_(*args());
        } catch (py::error_already_set& e) {
            errors_->first.emplace(std::move(e));
        } catch (const std::exception& e) {
            PyErr_SetString(PyExc_RuntimeError, e.what());
            errors_->first.emplace();
        } catch (...) {
            PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception in an lvsctl callback");
            errors_->first.emplace();
        }
    }

  private:
    py::object fn_;
    std::shared_ptr<CallbackErrors> errors_;
};

const char* kind_name(api::ProgressEvent::Kind kind) {
    switch (kind) {
        case api::ProgressEvent::Kind::begin:
            return "begin";
        case api::ProgressEvent::Kind::done:
            return "done";
        case api::ProgressEvent::Kind::end:
            return "end";
    }
    return "unknown";
}

// _lvsctl.Connection: an api::Connection, its progress callable, and the lock that makes it one
// call at a time (lvsctl.h) even when Python threads share it.
class Session {
  public:
    // `options`: every field of the package's Options; `progress`: None or
    // progress(kind, phase, total, failed).
    Session(const py::dict& options, const py::object& progress)
        : errors_(std::make_shared<CallbackErrors>()) {
        auto o = options_from(options);
        if (!progress.is_none()) {
            auto callback = std::make_shared<PyCallback>(progress, errors_);
            o.progress = [callback](const api::ProgressEvent& e) {
                (*callback)([&e] {
                    return py::make_tuple(kind_name(e.kind), text(e.phase), e.total, e.failed);
                });
            };
        }
        connection_.emplace(translated([&] { return api::Connection::open(o); }));
    }

    // Runs fn(connection) with the GIL released, under the session's lock; then raises, with the
    // GIL held: ApiError for an api::Error, else a callback's first exception.
    template <typename Fn>
    auto run(Fn&& fn) -> decltype(fn(std::declval<api::Connection&>())) {
        std::optional<decltype(fn(std::declval<api::Connection&>()))> result;
        std::optional<api::Error> error;
        std::optional<py::error_already_set> callback_error;
        bool closed = false;
        {
            const py::gil_scoped_release release;
            const std::lock_guard lock(mutex_);
            if (!connection_) {
                closed = true;
            } else {
                try {
                    result.emplace(fn(*connection_));
                } catch (const api::Error& e) {
                    error.emplace(e);
                }
                // Still under the lock: this call's callback errors, not the next call's.
                const py::gil_scoped_acquire gil;
                if (errors_->first) {
                    callback_error.emplace(std::move(*errors_->first));
                    errors_->first.reset();
                }
            }
        }
        if (closed) {
            throw py::value_error("lvsctl: the connection is closed");
        }
        if (error) {
            raise_api_error(*error, std::move(callback_error));
        }
        if (callback_error) {
            throw std::move(*callback_error);
        }
        return std::move(*result);
    }

    // Ends the database session now rather than when Python frees the object.
    void close() {
        std::optional<api::Connection> gone;
        {
            const py::gil_scoped_release release;
            const std::lock_guard lock(mutex_);
            gone.swap(connection_);
            gone.reset();
        }
    }

    // An import's warning callable, for one call.
    api::ImportOptions import_options(const py::dict& d, const py::object& warning) {
        api::ImportOptions i;
        i.source = d["source"].cast<std::string>();
        i.format = d["format"].cast<std::string>();
        i.servers = d["servers"].cast<std::vector<std::string>>();
        i.backend = d["backend"].cast<std::string>();
        i.primary = d["primary"].cast<std::string>();
        i.backup = d["backup"].cast<std::string>();
        i.no_update = d["no_update"].cast<bool>();
        if (!warning.is_none()) {
            auto callback = std::make_shared<PyCallback>(warning, errors_);
            i.warning = [callback](const std::string& w) {
                (*callback)([&w] { return py::make_tuple(text(w)); });
            };
        }
        return i;
    }

    // update_all's options and its `done` callable (called with a ClusterRun's dict), for one
    // call.
    api::AllOptions all_options(bool dry_run, bool detailed_exitcode, int drain_timeout,
                                int clusters_parallel, const py::object& done) {
        api::AllOptions a;
        a.dry_run = dry_run;
        a.detailed_exitcode = detailed_exitcode;
        a.drain_timeout = drain_timeout;
        a.clusters_parallel = clusters_parallel;
        if (!done.is_none()) {
            auto callback = std::make_shared<PyCallback>(done, errors_);
            a.done = [callback](const api::ClusterRun& r) {
                (*callback)([&r] { return py::make_tuple(to_dict(r)); });
            };
        }
        return a;
    }

  private:
    std::shared_ptr<CallbackErrors> errors_;
    std::mutex mutex_;
    std::optional<api::Connection> connection_;
};

api::HookOptions hook(bool no_update) {
    api::HookOptions h;
    h.no_update = no_update;
    return h;
}

}  // namespace

PYBIND11_MODULE(_lvsctl, m) {
    m.doc() = "lvsctl's public C++ API (docs/library.md); use the package lvsctl, not this module";

    api_error_type = PyErr_NewException("lvsctl._lvsctl.ApiError", PyExc_Exception, nullptr);
    if (api_error_type == nullptr) {
        throw py::error_already_set();
    }
    m.add_object("ApiError", py::reinterpret_borrow<py::object>(api_error_type));

    py::dict codes;
    codes["ok"] = api::exit_code::ok;
    codes["changes_pending"] = api::exit_code::changes_pending;
    codes["partial"] = api::exit_code::partial;
    codes["usage"] = api::exit_code::usage;
    codes["data"] = api::exit_code::data;
    codes["unreachable"] = api::exit_code::unreachable;
    codes["db_unavailable"] = api::exit_code::db_unavailable;
    codes["internal"] = api::exit_code::internal;
    codes["kernel"] = api::exit_code::kernel;
    codes["lock_busy"] = api::exit_code::lock_busy;
    codes["permission"] = api::exit_code::permission;
    codes["config"] = api::exit_code::config;
    m.attr("exit_codes") = codes;

    m.def("version", [] { return text(api::version()); });
    m.def("default_options", [] { return options_dict(api::Options{}); });
    m.def(
        "load_options",
        [](const std::string& path, bool must_exist) {
            return options_dict(translated([&] { return api::load_options(path, must_exist); }));
        },
        py::arg("path"), py::arg("must_exist"));

    py::class_<Session>(m, "Connection")
        .def(py::init<const py::dict&, const py::object&>(), py::arg("options"),
             py::arg("progress"))
        .def("close", &Session::close)
        .def("clusters",
             [](Session& s) {
                 return to_list(s.run([](api::Connection& c) { return c.clusters(); }));
             })
        .def(
            "servers",
            [](Session& s, std::int64_t id) {
                return to_list(s.run([&](api::Connection& c) { return c.servers(id); }));
            },
            py::arg("cluster_id"))
        .def(
            "update_all",
            [](Session& s, bool dry_run, bool detailed_exitcode, int drain_timeout,
               int clusters_parallel, const py::object& done) {
                const auto o = s.all_options(dry_run, detailed_exitcode, drain_timeout,
                                             clusters_parallel, done);
                return to_dict(s.run([&](api::Connection& c) { return c.update_all(o); }));
            },
            py::arg("dry_run"), py::arg("detailed_exitcode"), py::arg("drain_timeout"),
            py::arg("clusters_parallel"), py::arg("done"))
        .def(
            "plan",
            [](Session& s, std::int64_t id, bool detailed_exitcode) {
                api::PlanOptions o;
                o.detailed_exitcode = detailed_exitcode;
                return to_dict(s.run([&](api::Connection& c) { return c.plan(id, o); }));
            },
            py::arg("cluster_id"), py::arg("detailed_exitcode"))
        .def(
            "update",
            [](Session& s, std::int64_t id, bool dry_run, bool detailed_exitcode,
               int drain_timeout) {
                api::UpdateOptions o;
                o.dry_run = dry_run;
                o.detailed_exitcode = detailed_exitcode;
                o.drain_timeout = drain_timeout;
                return to_dict(s.run([&](api::Connection& c) { return c.update(id, o); }));
            },
            py::arg("cluster_id"), py::arg("dry_run"), py::arg("detailed_exitcode"),
            py::arg("drain_timeout"))
        .def(
            "render",
            [](Session& s, std::int64_t id, const std::string& format, const std::string& role) {
                return to_dict(
                    s.run([&](api::Connection& c) { return c.render(id, format, role); }));
            },
            py::arg("cluster_id"), py::arg("format"), py::arg("role"))
        .def(
            "status",
            [](Session& s, std::int64_t id, const std::string& layout) {
                return to_dict(s.run([&](api::Connection& c) { return c.status(id, layout); }));
            },
            py::arg("cluster_id"), py::arg("layout"))
        .def(
            "add_server",
            [](Session& s, std::int64_t id, std::int64_t node_id, const std::string& address,
               const std::string& mgmt_address, const std::optional<std::string>& address_v6,
               int weight, bool no_update) {
                api::NewServer n;
                n.node_id = node_id;
                n.address = address;
                n.mgmt_address = mgmt_address;
                n.address_v6 = address_v6;
                n.weight = weight;
                return to_dict(s.run(
                    [&](api::Connection& c) { return c.add_server(id, n, hook(no_update)); }));
            },
            py::arg("cluster_id"), py::arg("node_id"), py::arg("address"), py::arg("mgmt_address"),
            py::arg("address_v6"), py::arg("weight"), py::arg("no_update"))
        .def(
            "set_server",
            [](Session& s, std::int64_t id, std::int64_t node_id, std::optional<int> weight,
               std::optional<bool> active, bool no_update) {
                return to_dict(s.run([&](api::Connection& c) {
                    return c.set_server(id, node_id, weight, active, hook(no_update));
                }));
            },
            py::arg("cluster_id"), py::arg("node_id"), py::arg("weight"), py::arg("active"),
            py::arg("no_update"))
        .def(
            "remove_server",
            [](Session& s, std::int64_t id, std::int64_t node_id, bool no_update,
               int drain_timeout) {
                api::RemoveServerOptions o;
                o.no_update = no_update;
                o.drain_timeout = drain_timeout;
                return to_dict(
                    s.run([&](api::Connection& c) { return c.remove_server(id, node_id, o); }));
            },
            py::arg("cluster_id"), py::arg("node_id"), py::arg("no_update"),
            py::arg("drain_timeout"))
        .def(
            "add_ips",
            [](Session& s, std::int64_t id, const std::vector<std::string>& ips, bool no_update) {
                return to_dict(
                    s.run([&](api::Connection& c) { return c.add_ips(id, ips, hook(no_update)); }));
            },
            py::arg("cluster_id"), py::arg("ips"), py::arg("no_update"))
        .def(
            "remove_ips",
            [](Session& s, std::int64_t id, const std::vector<std::string>& ips, bool no_update) {
                return to_dict(s.run(
                    [&](api::Connection& c) { return c.remove_ips(id, ips, hook(no_update)); }));
            },
            py::arg("cluster_id"), py::arg("ips"), py::arg("no_update"))
        .def(
            "import_config",
            [](Session& s, std::int64_t id, const std::string& text_, const py::dict& options,
               const py::object& warning) {
                const auto o = s.import_options(options, warning);
                return to_dict(
                    s.run([&](api::Connection& c) { return c.import_config(id, text_, o); }));
            },
            py::arg("cluster_id"), py::arg("text"), py::arg("options"), py::arg("warning"));
}
