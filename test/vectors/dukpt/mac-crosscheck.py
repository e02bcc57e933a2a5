#!/usr/bin/env python3
"""Independent cross-check for test/vectors/dukpt/mac-keys.json (section "crossCheck").

An X9.24-3:2017 AES DUKPT derivation and X9.24-1:2009 TDES DUKPT MAC variants written directly from
the standards' descriptions with Python `cryptography` (48.0.0 was used), independent of
src/crypto. It first re-derives every published value in mac-keys.json (initial keys, transaction
keys, MAC generation keys, SP 800-38B CMACs) and stops if one differs; then prints the values that
have no published source (MAC verification / both-ways keys, other key types, CMACs of the sample
message), which are stored as "our own cross-check" values. Run from the repository root:

    python3 test/vectors/dukpt/mac-crosscheck.py
"""
import json
import sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # older cryptography
    TripleDES = algorithms.TripleDES

V = json.load(open("test/vectors/dukpt/mac-keys.json"))
TYPES = {"tdes2": (0x0000, 128), "tdes3": (0x0001, 192), "aes128": (0x0002, 128), "aes192": (0x0003, 192), "aes256": (0x0004, 256)}


def ecb(key, block):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def derive(key, usage, ktype, ikid, counter=None):
    alg, bits = TYPES[ktype]
    out = b""
    for i in range(1, bits // 128 + (1 if bits % 128 else 0) + 1):
        tail = ikid if usage == 0x8001 else ikid[4:] + counter.to_bytes(4, "big")
        data = bytes([1, i]) + usage.to_bytes(2, "big") + alg.to_bytes(2, "big") + bits.to_bytes(2, "big") + tail
        out += ecb(key, data)
    return out[: bits // 8]


def ktype_of(key):
    return {16: "aes128", 24: "aes192", 32: "aes256"}[len(key)]


def ik_of(bdk, ikid):
    return derive(bdk, 0x8001, ktype_of(bdk), ikid)


def tk_of(ik, ksn):
    ikid, counter = ksn[:8], int.from_bytes(ksn[8:], "big")
    key, working = ik, 0
    for b in range(31, -1, -1):
        bit = 1 << b
        if counter & bit:
            working |= bit
            key = derive(key, 0x8000, ktype_of(ik), ikid, working)
    return key


def cmac(key, data, tdes=False):
    c = CMAC(TripleDES(key) if tdes else algorithms.AES(key))
    c.update(data)
    return c.finalize()


H = lambda b: b.hex().upper()
x = bytes.fromhex
fail = []


def check(label, got, want):
    if H(got) != want:
        fail.append(f"{label}: {H(got)} != {want}")


for name in ("aes128Bdk", "aes256Bdk"):
    s = V[name]
    bdk, ikid = x(s["bdkHex"]), x(s["initialKeyIdHex"])
    ik = ik_of(bdk, ikid)
    check(f"{name} IK", ik, s["initialKeyHex"])
    for v in s["vectors"] + s.get("transactionKeyVectors", []):
        ksn = x(v["ksnHex"])
        tk = tk_of(ik, ksn)
        check(f"{name} TK {v['ksnHex']}", tk, v["transactionKeyHex"])
        c = int.from_bytes(ksn[8:], "big")
        for field, usage, kt in (
            ("macGenerationKeyHex", 0x2000, "aes128"),
            ("macGenerationKeyAes128Hex", 0x2000, "aes128"),
            ("macGenerationKeyAes256Hex", 0x2000, "aes256"),
            ("pinKeyAes128Hex", 0x1000, "aes128"),
            ("pinKeyAes256Hex", 0x1000, "aes256"),
            ("dataEncryptKeyAes128Hex", 0x3000, "aes128"),
            ("dataEncryptKeyAes256Hex", 0x3000, "aes256"),
        ):
            if field in v:
                check(f"{name} {field} {v['ksnHex']}", derive(tk, usage, kt, ksn[:8], c), v[field])

for kt, s in V["cmac"]["vectors"].items():
    for t in s["tests"]:
        check(f"cmac {kt} len {t['length']}", cmac(x(s["keyHex"]), x(t["messageHex"]), kt.startswith("tdes")), t["macHex"])

if fail:
    print("\n".join(fail))
    sys.exit(1)

# Values without a published source.
cc = V["crossCheck"]
msg = cc["messageAscii"].encode("latin1")
out = {"aes": []}
for row in cc["aes"]:
    s = V[row["bdk"]]
    bdk = x(s["bdkHex"])
    ksn = x(row["ksnHex"])
    tk = tk_of(ik_of(bdk, ksn[:8]), ksn)
    c = int.from_bytes(ksn[8:], "big")
    r = {"bdk": row["bdk"], "ksnHex": row["ksnHex"]}
    for key_name, usage, kt in (
        ("requestKeyAes128Hex", 0x2000, "aes128"),
        ("responseKeyAes128Hex", 0x2001, "aes128"),
        ("bothKeyAes128Hex", 0x2002, "aes128"),
        ("requestKeyTdes2Hex", 0x2000, "tdes2"),
        ("requestKeyTdes3Hex", 0x2000, "tdes3"),
    ):
        r[key_name] = H(derive(tk, usage, kt, ksn[:8], c))
    r["requestCmacAes128Hex"] = H(cmac(x(r["requestKeyAes128Hex"]), msg))
    r["responseCmacAes128Hex"] = H(cmac(x(r["responseKeyAes128Hex"]), msg))
    r["requestCmacTdes2Hex"] = H(cmac(x(r["requestKeyTdes2Hex"]), msg, True))
    if len(bdk) == 32:
        r["requestKeyAes192Hex"] = H(derive(tk, 0x2000, "aes192", ksn[:8], c))
        r["requestKeyAes256Hex"] = H(derive(tk, 0x2000, "aes256", ksn[:8], c))
        r["requestCmacAes256Hex"] = H(cmac(x(r["requestKeyAes256Hex"]), msg))
    out["aes"].append(r)
print(json.dumps(out, indent=2))
