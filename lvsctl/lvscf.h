// piranha's lvs.cf, read into the model (for `import`, and to render from a file). The syntax
// and meaning are piranha's own parser's (lvsconfig.c), described in docs/migration.md:
// - one `key = value` per line, `=` a word of its own; a value is one word, or a string quoted
//   with `"` or `'` (no escapes inside); `address` and `nat_router` take two words, `dirs` a
//   list `[ a b ]`;
// - a line is a comment only when its first non-blank character is `#`: a `#` after a value is
//   refused, as piranha refuses it;
// - lines end in `\n`, `\r\n` or `\r`; blank lines and any indentation anywhere;
// - `virtual NAME {` and `failover NAME {` at the top, `server NAME {` in a virtual; `}` alone
//   on its line closes a block;
// - a key given twice keeps the last value (a warning says so);
// - piranha's defaults for what a file leaves out: network nat, scheduler wlc, port 80,
//   timeout 10, reentry 180, weight 1, and a virtual, a server or a backup LB is inactive unless
//   it says `active = 1` (backup_active = 1).
// Settings lvsctl does not act on are kept in Cluster::lvscf and Server::lvscf_settings and
// rendered back, so that a file read and rendered is the same configuration to piranha.
#pragma once

#include <string>
#include <string_view>

#include "lvsctl/import.h"
#include "lvsctl/model.h"

namespace lvsctl {

// `source` names the file in error messages. Throws Error(ExitCode::data) naming the line and
// the reason. The cluster it returns is not validated: call validate() before using it.
// lvs.cf has no node ids: servers are numbered 1, 2, ... in the order they first appear. A server
// is managed (SSH) at the address its name gives (docs/migration.md): hints.servers, the name
// itself when it is an address, the name resolved, or, with hints.address_as_management, the
// server's address.
Imported parse_lvs_cf(std::string_view text, std::string_view source = "lvs.cf",
                      const ImportHints& hints = {});

// nanny expands \r \n \t in send and expect: the model holds the characters, this writes them
// back as lvs.cf does.
std::string escape_check_string(std::string_view text);

// Whether a setting kept from an imported lvs.cf (Cluster::lvscf, Server::lvscf_settings) can be
// written back: a key lvsctl keeps in that scope, with a value piranha reads as one line of the
// right kind. "" when it can, else the reason (validate() checks what the database holds).
enum class LvsCfScope { global, virtual_service, server };
std::string lvscf_setting_problem(LvsCfScope scope, const LvsCfSetting& setting);

// A name or device lvs.cf can hold as one word: no blank, quote, brace or control character.
bool is_lvscf_word(std::string_view text);

// A port as lvs.cf takes it: a number as strtol reads it, or a service name from the well-known
// ones (http, https, ...; docs/migration.md). std::nullopt for anything else.
std::optional<std::int64_t> service_port(std::string_view text);
// A well-known service name's port (http 80, https 443, ...), the same on every machine: lvs.cf,
// keepalived.conf and ipvsadm output read through this one table.
std::optional<std::int64_t> well_known_port(std::string_view name);

}  // namespace lvsctl
