#!/usr/bin/env python3
"""Build the JA4 reference for every ClientHello tshark decodes in the corpus.

tshark 4.0 predates its own JA4 field, so this script computes JA4 from the
fields tshark dissects (cipher suites, extension types, signature algorithms,
supported versions, ALPN), following the FoxIO JA4 specification. It is an
independent oracle for the Go implementation: different parser, different
language. Run from the repository root:

    python3 sensor/tlsparse/testdata/ja4_tshark.py ../shared/corpus > sensor/tlsparse/testdata/ja4_tshark.jsonl
"""
import glob, hashlib, json, os, subprocess, sys


def grease(v):
    return v & 0x0F0F == 0x0A0A and (v >> 8) == (v & 0xFF)


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def hellos(node):
    """Yield every dict that is a ClientHello handshake."""
    if isinstance(node, dict):
        if node.get("tls.handshake.type") == "1" and "tls.handshake.ciphersuites" in node:
            yield node
        for v in node.values():
            yield from hellos(v)
    elif isinstance(node, list):
        for v in node:
            yield from hellos(v)


VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
            0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}


def h12(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000"


def ja4(h, transport):
    ciphers = [int(c, 16) for c in as_list(h["tls.handshake.ciphersuites"].get("tls.handshake.ciphersuite"))]
    exts, sigs, versions, alpn, sni = [], [], [], None, None
    for k, e in h.items():
        if not k.startswith("Extension: ") :
            continue
        for e in as_list(e):
            t = int(e["tls.handshake.extension.type"])
            exts.append(t)
            if t == 13:
                sigs = [int(s, 16) for s in as_list(e.get("tls.handshake.sig_hash_algs", {}).get("tls.handshake.sig_hash_alg"))]
            elif t == 43:
                versions = [int(v, 16) for v in as_list(e.get("tls.handshake.extensions.supported_version"))]
            elif t == 16:
                l = as_list(e.get("tls.handshake.extensions_alpn_list", {}).get("tls.handshake.extensions_alpn_str"))
                alpn = l[0] if l else ""
            elif t == 0:
                sni = e.get("Server Name Indication extension", {}).get("tls.handshake.extensions_server_name")
    ciphers = [c for c in ciphers if not grease(c)]
    exts = [e for e in exts if not grease(e)]
    sigs = [s for s in sigs if not grease(s)]
    versions = [v for v in versions if not grease(v)]
    ver = max(versions) if versions else int(h["tls.handshake.version"], 16)
    a = transport + VERSIONS.get(ver, "00") + ("d" if 0 in exts else "i")
    a += "%02d%02d" % (min(len(ciphers), 99), min(len(exts), 99))
    if not alpn:
        a += "00"
    elif alpn[0].isascii() and alpn[0].isalnum() and alpn[-1].isascii() and alpn[-1].isalnum():
        a += alpn[0] + alpn[-1]
    else:
        x = alpn.encode().hex()
        a += x[0] + x[-1]
    b = h12(",".join("%04x" % c for c in sorted(ciphers)))
    named = sorted(e for e in exts if e not in (0, 16))
    c = ",".join("%04x" % e for e in named)
    if c and sigs:
        c += "_" + ",".join("%04x" % s for s in sigs)
    return a + "_" + b + "_" + h12(c), sni


def main(corpus):
    for path in sorted(glob.glob(os.path.join(corpus, "*.pcap*"))):
        out = subprocess.run(
            ["tshark", "-n", "-r", path, "-Y", "tls.handshake.type == 1", "-T", "json",
             "--no-duplicate-keys", "-J", "frame tls quic"],
            capture_output=True, text=True).stdout
        if not out.strip():
            continue
        for pkt in json.loads(out):
            layers = pkt["_source"]["layers"]
            frame = int(layers["frame"]["frame.number"])
            transport = "q" if "quic" in layers else "t"
            for h in hellos(layers):
                fp, sni = ja4(h, transport)
                print(json.dumps({"file": os.path.basename(path), "frame": frame,
                                  "transport": transport, "sni": sni, "ja4": fp}))


if __name__ == "__main__":
    main(sys.argv[1])
