#!/usr/bin/env python3
"""ansible-inventory.py: an Ansible dynamic inventory of the services that
lanfind finds on the local network, one group per service type.

    ansible-inventory.py --list          the whole inventory (what Ansible calls)
    ansible-inventory.py --host NAME     the variables of one host

Use it as an inventory source, e.g.

    ansible -i examples/ansible-inventory.py node_exporter -m ping
    ansible-playbook -i examples/ansible-inventory.py site.yml

Each service name is an inventory host, at the address lanfind reached it
(ansible_host); a name announced at several addresses becomes one host per
address, NAME@ADDR. The services of a host are in lanfind_services (name,
type, port, meta, instance, verified); a service of type ssh also sets
ansible_port. Groups are named after the type with every character other
than ASCII letters, digits and "_" turned into "_" (node-exporter becomes
node_exporter, and a type "all" becomes "_all"); services without a type
are in "ungrouped".

Names come from the network: a name that Ansible cannot take as a host
name (anything but letters of any script, digits, "_", "." and inner "-",
so no spaces, quotes or "#") is skipped with a warning on stderr. The JSON
is read from "lanfind list --json", which carries names exactly.

Environment: LANFIND_INVENTORY_TIMEOUT (default 3s) and
LANFIND_INVENTORY_TYPE (only services of that type) are passed to lanfind
list; LANFIND_SECRET_FILE is read by lanfind itself. Exit status: 0, also
for an empty inventory; 1 when lanfind fails; 2 for a usage error. Needs
python3 and lanfind on PATH.
"""

import json
import os
import re
import subprocess
import sys

PROG = os.path.basename(sys.argv[0])

# Letters and digits of any script, "_", then also "." and "-".
HOST_NAME = re.compile(r"\w[\w.-]*")
GROUP_BAD = re.compile(r"[^A-Za-z0-9_]")


def usage():
    print(f"usage: {PROG} --list | --host NAME", file=sys.stderr)
    print("  prints an Ansible inventory of the services lanfind finds, grouped by type",
          file=sys.stderr)
    sys.exit(2)


def warn(msg):
    print(f"{PROG}: {msg}", file=sys.stderr)


def group_of(typ):
    """Returns the Ansible group of a service type."""
    if not typ:
        return "ungrouped"
    g = GROUP_BAD.sub("_", typ)
    if g[0].isdigit() or g in ("all", "_meta"):
        g = "_" + g  # a group name starts with a letter or "_", and never replaces these two
    return g


def services():
    """Returns the services of "lanfind list --json", [] when none answered."""
    args = ["lanfind", "list", "--json",
            "--timeout", os.environ.get("LANFIND_INVENTORY_TIMEOUT", "3s")]
    if os.environ.get("LANFIND_INVENTORY_TYPE"):
        args += ["--type", os.environ["LANFIND_INVENTORY_TYPE"]]
    try:
        # lanfind's own errors go straight to our stderr.
        p = subprocess.run(args, stdout=subprocess.PIPE, check=False)
    except OSError as e:
        warn(f"cannot run lanfind: {e}")
        sys.exit(1)
    if p.returncode == 1:  # nothing found: an empty inventory
        return []
    if p.returncode != 0:
        warn(f"lanfind failed (exit {p.returncode})")
        sys.exit(1)
    return json.loads(p.stdout)


def inventory(found):
    """Returns the --list inventory of the services in found."""
    usable = []
    for s in found:
        if HOST_NAME.fullmatch(s["name"]):
            usable.append(s)
        else:
            warn(f"skipping {json.dumps(s['name'], ensure_ascii=False)} at {s['addr']}: "
                 "not an Ansible host name")
    addrs = {}
    for s in usable:
        addrs.setdefault(s["name"], set()).add(s["addr"])
    hostvars, groups = {}, {}
    for s in usable:
        host = s["name"] if len(addrs[s["name"]]) == 1 else f"{s['name']}@{s['addr']}"
        hv = hostvars.setdefault(host, {
            "ansible_host": s["addr"],
            "lanfind_host": s["host"],
            "lanfind_services": [],
        })
        hv["lanfind_services"].append({k: s[k] for k in
                                       ("name", "type", "port", "meta", "instance", "verified")})
        if s["type"] == "ssh":
            hv["ansible_port"] = s["port"]
        members = groups.setdefault(group_of(s["type"]), [])
        if host not in members:
            members.append(host)
    inv = {g: {"hosts": sorted(h)} for g, h in groups.items()}
    inv["all"] = {"children": sorted(groups)}
    inv["_meta"] = {"hostvars": hostvars}
    return inv


def main(argv):
    if argv == ["--list"]:
        out = inventory(services())
    elif len(argv) == 2 and argv[0] == "--host":
        out = inventory(services())["_meta"]["hostvars"].get(argv[1], {})
    else:
        usage()
    json.dump(out, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
