#!/usr/bin/env python3
"""The SBOM of one akl binary (CycloneDX 1.5, JSON), and the check that it says what the
binary itself says.

    scripts/sbom.py BINARY TARGET > akl-TARGET.cdx.json

Components are the crates compiled into the binary for TARGET (normal dependencies, as
`cargo metadata` resolves them for that platform), with their licence, their crates.io
checksum from Cargo.lock and the dependency graph. Nothing in it depends on the time or the
machine (the timestamp is SOURCE_DATE_EPOCH, the serial number derives from the binary's
hash), so two releases of one commit give the same SBOM.

Before printing, the list is compared with the one `cargo auditable` embedded in the binary
(its `.dep-v0` section): a crate in one and not in the other fails the run.
"""

import datetime
import hashlib
import json
import os
import struct
import subprocess
import sys
import tomllib
import uuid
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def elf_section(path, wanted):
    """The bytes of section `wanted` of a 64-bit little-endian ELF file, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"sbom: {path} is not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(i):
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        return name, offset, size

    _, str_off, _ = header(shstrndx)
    for i in range(shnum):
        name, offset, size = header(i)
        end = data.index(b"\0", str_off + name)
        if data[str_off + name:end].decode() == wanted:
            return data[offset:offset + size]
    return None


def embedded_crates(binary):
    """(name, version) of every runtime crate in the binary's `cargo auditable` data."""
    section = elf_section(binary, ".dep-v0")
    if section is None:
        sys.exit(f"sbom: {binary} has no .dep-v0 section: it was not built with `cargo auditable`")
    info = json.loads(zlib.decompress(section))
    return {(p["name"], p["version"]) for p in info["packages"] if p.get("kind", "runtime") == "runtime"}


def main():
    binary, target = sys.argv[1], sys.argv[2]
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--offline", "--filter-platform", target],
        cwd=ROOT, check=True, capture_output=True).stdout)
    with open(os.path.join(ROOT, "Cargo.lock"), "rb") as f:
        lock = tomllib.load(f)
    checksums = {(p["name"], p["version"]): p.get("checksum") for p in lock["package"]}
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(p["id"] for p in meta["packages"] if p["name"] == "akl" and p["source"] is None)

    # Normal dependencies only: build scripts, proc macros (they run in the compiler) and
    # dev-dependencies are not in the binary.
    def proc_macro(node_id):
        return any("proc-macro" in t["kind"] for t in packages[node_id]["targets"])

    def normal_deps(node_id, with_macros=False):
        return sorted(d["pkg"] for d in nodes[node_id]["deps"]
                      if any(k["kind"] is None for k in d["dep_kinds"])
                      and (with_macros or not proc_macro(d["pkg"])))

    def reachable(with_macros):
        seen, stack = set(), [root]
        while stack:
            node_id = stack.pop()
            if node_id not in seen:
                seen.add(node_id)
                stack.extend(normal_deps(node_id, with_macros))
        return seen

    seen = reachable(False)

    def ref(node_id):
        p = packages[node_id]
        return f"pkg:cargo/{p['name']}@{p['version']}"

    components = []
    for node_id in sorted(seen - {root}, key=ref):
        p = packages[node_id]
        component = {"type": "library", "bom-ref": ref(node_id), "name": p["name"], "version": p["version"],
                     "purl": ref(node_id)}
        if p.get("license"):
            component["licenses"] = [{"expression": p["license"]}]
        if checksums.get((p["name"], p["version"])):
            component["hashes"] = [{"alg": "SHA-256", "content": checksums[(p["name"], p["version"])]}]
        if p.get("repository"):
            component["externalReferences"] = [{"type": "vcs", "url": p["repository"]}]
        components.append(component)

    # `cargo auditable` counts some proc macros (and what only they use) as runtime crates:
    # the binary's list must hold every crate of the SBOM, and nothing but those and macros.
    def names(ids):
        return {(packages[i]["name"], packages[i]["version"]) for i in ids}

    in_sbom, in_binary, with_macros = names(seen), embedded_crates(binary), names(reachable(True))
    if not in_sbom <= in_binary <= with_macros:
        sys.exit("sbom: the SBOM and the binary's embedded list differ:\n"
                 f"  missing from the binary: {sorted(in_sbom - in_binary)}\n"
                 f"  unknown to the SBOM: {sorted(in_binary - with_macros)}")

    with open(binary, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    akl = packages[root]
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    commit = os.environ.get("AKL_COMMIT", "unknown")
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'sha256:' + digest)}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "scripts/sbom.py (ci_base-rs)"}]},
            "component": {
                "type": "application",
                "bom-ref": ref(root),
                "name": "akl",
                "version": akl["version"],
                "purl": ref(root),
                "hashes": [{"alg": "SHA-256", "content": digest}],
                "properties": [{"name": "target", "value": target}, {"name": "commit", "value": commit}],
            },
        },
        "components": components,
        "dependencies": [{"ref": ref(i), "dependsOn": [ref(d) for d in normal_deps(i)]}
                         for i in sorted(seen, key=ref)],
    }
    json.dump(bom, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
