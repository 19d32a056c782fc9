#!/usr/bin/python3
"""Mints one token per JWS algorithm with PyJWT, an independent implementation.

usage: /usr/bin/python3 pyjwt_mint.py OUT_DIR

For each algorithm ALG it writes OUT_DIR/ALG.jwt (kid "py-ALG", sub "pyjwt",
iat now, exp now + 1 h) and OUT_DIR/ALG.jwks.json (the public JWK with kid
and alg). Keys are generated fresh with python3-cryptography.
"""
import json
import os
import secrets
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm

CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}
HMAC_SIZES = {"HS256": 32, "HS384": 48, "HS512": 64}


def key_pair(alg):
    """(signing key, public JWK dict) for alg."""
    if alg in HMAC_SIZES:
        secret = secrets.token_bytes(HMAC_SIZES[alg])
        return secret, json.loads(HMACAlgorithm.to_jwk(secret))
    if alg[:2] in ("RS", "PS"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return private, json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    if alg in CURVES:
        private = ec.generate_private_key(CURVES[alg])
        return private, json.loads(ECAlgorithm.to_jwk(private.public_key()))
    private = ed25519.Ed25519PrivateKey.generate()
    return private, json.loads(OKPAlgorithm.to_jwk(private.public_key()))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    now = int(time.time())
    algs = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
            "ES256", "ES384", "ES512", "EdDSA"]
    for alg in algs:
        private, jwk = key_pair(alg)
        jwk.update({"kid": "py-" + alg, "alg": alg})
        claims = {"sub": "pyjwt", "iat": now, "exp": now + 3600, "roles": ["a", "b"]}
        token = jwt.encode(claims, private, algorithm=alg, headers={"kid": "py-" + alg})
        with open(os.path.join(out, alg + ".jwt"), "w") as f:
            f.write(token)
        with open(os.path.join(out, alg + ".jwks.json"), "w") as f:
            json.dump({"keys": [jwk]}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
