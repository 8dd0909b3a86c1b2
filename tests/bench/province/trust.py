"""trust.py — province.py --trust PROFILE: the simulated province's certificate tree, enrolled
as tests/integration/test_trust.sh and relay.py enrol three offices. The province makes its
self-signed anchor and every other office its request, offline; then, level by level, each
office's certificate is issued by its parent's running node (`xfctl cert issue`) just before
the office starts. With [trust] every envelope is signed where it is made and verified where
it is applied, and a node learns its peers' CURVE keys from their certificates, so no
public_key is configured."""
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor


class TrustFail(Exception):
    pass


def _xfctl(xfctl, *args):
    r = subprocess.run([xfctl, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise TrustFail(f"xfctl {' '.join(args)}: {r.stderr.strip()}")


def requests(nodes, xfctl, profile, workers):
    """The root's anchor and every other office's signing key and request (node.csr)."""
    root = next(n for n in nodes if not n.parent)
    _xfctl(xfctl, "cert", "root", root.dir, "--code", root.code, "--name", root.name,
           "--profile", profile)

    def one(n):
        _xfctl(xfctl, "cert", "request", n.dir, "--code", n.code, "--name", n.name,
               "--profile", profile)
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, [n for n in nodes if n.parent]))
    return root


def conf_lines(node, root, profile):
    """The [trust] section of node's config."""
    return ["[trust]", f"anchor = {root.dir}/node.crt", f"certificate = {node.dir}/node.crt",
            f"signing_key = {node.dir}/sign.key", f"profile = {profile}", ""]


def issue(level, xfctl, workers):
    """Each office of one level gets its certificate from its parent's node, which admits it by
    that certificate from then on (no restart)."""
    def one(n):
        _xfctl(xfctl, "-s", n.parent.sock, "cert", "issue", os.path.join(n.dir, "node.csr"),
               "--out", os.path.join(n.dir, "node.crt"))
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, level))


def summary(nodes, profile):
    """Every node's status.trust summed up; refuses a run in which a node is not under [trust]
    with the profile, the province verified no signer, or any node saw a forged envelope."""
    st = {n.code: n.ask("status")["trust"] for n in nodes}
    off = [c for c, t in st.items() if not t.get("enabled") or t.get("profile") != profile]
    if off:
        raise TrustFail(f"{len(off)} offices not under [trust] {profile}, e.g. {off[0]}: "
                        f"{st[off[0]]}")
    forged = {c: t["forged"] for c, t in st.items() if t.get("forged")}
    if forged:
        raise TrustFail(f"forged envelopes seen: {forged}")
    root = next(n for n in nodes if not n.parent)
    signers = st[root.code].get("verified_signers", 0)
    if signers < 1:
        raise TrustFail(f"the province verified no signer: {st[root.code]}")
    return {"profile": profile, "offices": len(st), "forged": 0,
            "province_verified_signers": signers,
            "verified_signers_all_nodes": sum(t.get("verified_signers", 0) for t in st.values())}
