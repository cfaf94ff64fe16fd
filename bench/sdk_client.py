"""The baseline every Akeyless integration follows, with the official Python SDK: log in,
then for each secret one describe-item to learn its type and one fetch, one after the
other. Run by bench.py against the fake; prints the number of values fetched.

Environment: AKEYLESS_GATEWAY_URL, AKEYLESS_CA_CERT, AKEYLESS_ACCESS_ID, AKEYLESS_JWT, and
BENCH_NAMES (item paths, one per line). Values are never printed.
"""

import os
import sys

import akeyless


def main():
    cfg = akeyless.Configuration(host=os.environ["AKEYLESS_GATEWAY_URL"])
    cfg.ssl_ca_cert = os.environ["AKEYLESS_CA_CERT"]
    api = akeyless.V2Api(akeyless.ApiClient(cfg))
    token = api.auth(akeyless.Auth(access_id=os.environ["AKEYLESS_ACCESS_ID"], access_type="jwt",
                                   jwt=os.environ["AKEYLESS_JWT"])).token
    fetched = 0
    for name in os.environ["BENCH_NAMES"].split():
        kind = api.describe_item(akeyless.DescribeItem(name=name, token=token)).item_type
        if kind == "STATIC_SECRET":
            value = api.get_secret_value(akeyless.GetSecretValue(names=[name], token=token))[name]
        elif kind == "DYNAMIC_SECRET":
            value = api.get_dynamic_secret_value(akeyless.GetDynamicSecretValue(name=name, token=token))
        elif kind == "ROTATED_SECRET":
            value = api.get_rotated_secret_value(akeyless.GetRotatedSecretValue(names=name, token=token))["value"]
        else:
            sys.exit(f"unexpected type {kind} for {name}")
        fetched += value is not None
    print(fetched)


if __name__ == "__main__":
    main()
