#!/usr/bin/python3
"""Verifies a token with PyJWT against a JWKS file.

usage: /usr/bin/python3 pyjwt_verify.py JWKS_FILE ALG TOKEN

Prints the verified claims as JSON and exits 0, or prints the error and exits 1.
"""
import json
import sys

import jwt


def main():
    jwks_file, alg, token = sys.argv[1:4]
    with open(jwks_file) as f:
        jwks = json.load(f)
    kid = jwt.get_unverified_header(token).get("kid")
    for entry in jwks["keys"]:
        if kid is not None and entry.get("kid") != kid:
            continue
        try:
            claims = jwt.decode(token, jwt.PyJWK(entry).key, algorithms=[alg],
                                options={"verify_aud": False})
        except jwt.PyJWTError as e:
            print("invalid:", e)
            return 1
        print(json.dumps(claims, sort_keys=True))
        return 0
    print("invalid: no key for kid", kid)
    return 1


if __name__ == "__main__":
    sys.exit(main())
