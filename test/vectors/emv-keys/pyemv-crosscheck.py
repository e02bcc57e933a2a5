# Generates pyemv-crosscheck.json: run from a checkout of github.com/knovichikhin/pyemv (commit cf6b82d7)
# with the 'cryptography' package installed: python3 pyemv-crosscheck.py > out.json (then add $comment/imk).
import sys, json
sys.path.insert(0,'.')
from pyemv import kd, cvn
imk = bytes.fromhex('0123456789ABCDEFFEDCBA9876543210')
out = {"optionB": [], "cvn18": []}
for pan, psn in [('4123456789012345677','00'), ('6212345678010000026','01'), ('62123456780100000','07'), ('9999999999999999999','99')]:
    out["optionB"].append({"pan": pan, "psn": psn, "mk": kd.derive_icc_mk_b(imk, pan, psn).hex().upper(), "mkA": kd.derive_icc_mk_a(imk, pan, psn).hex().upper()})
tags = dict(tag_9f02=bytes.fromhex('000000012345'), tag_9f03=bytes.fromhex('000000000000'), tag_9f1a=bytes.fromhex('0156'), tag_95=bytes.fromhex('0000000000'), tag_5f2a=bytes.fromhex('0156'), tag_9a=bytes.fromhex('261205'), tag_9c=bytes.fromhex('00'), tag_9f37=bytes.fromhex('0A1B2C3D'), tag_82=bytes.fromhex('7C00'))
for pan, psn, atc in [('4123456789012345677','00','0001'), ('412345678901234567','01','1234')]:
    c = cvn.VisaCVN18(iss_mk_ac=imk, iss_mk_smi=imk, iss_mk_smc=imk, pan=pan, psn=psn)
    iad = bytes.fromhex('06011203A00000')
    arqc = c.generate_ac(tag_9f36=bytes.fromhex(atc), tag_9f10=iad, **tags)
    arpc = c.generate_arpc(tag_9f26=arqc, tag_9f36=bytes.fromhex(atc), csu=bytes.fromhex('00800000'))
    out["cvn18"].append({"pan": pan, "psn": psn, "imk": imk.hex().upper(), "tags": {**{k[4:].upper(): v.hex().upper() for k, v in tags.items()}, "9F36": atc, "9F10": iad.hex().upper()}, "arqc": arqc.hex().upper(), "csu": "00800000", "arpc": arpc.hex().upper()})
print(json.dumps(out, indent=2))
