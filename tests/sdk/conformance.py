"""Drive the fake Akeyless server with the official Python SDK (`akeyless` on PyPI).

The SDK is the referee for the fake's wire format: if it cannot parse an answer, the fake
is wrong. Run by `tests/sdk/main.rs`, which starts the fake, passes its address and
credentials in the environment, and checks the JSON this script prints against the
fixture. Every call goes through the SDK's own models and deserializer.
"""

import json
import os
import sys

import akeyless
from akeyless.rest import ApiException


def api(base):
    cfg = akeyless.Configuration(host=base)
    cfg.ssl_ca_cert = os.environ["FAKE_CA"]
    return akeyless.V2Api(akeyless.ApiClient(cfg))


def failure(call):
    """Runs a call that must fail; returns what the SDK's ApiException carried."""
    try:
        call()
    except ApiException as e:
        return {"status": e.status, "body": json.loads(e.body)}
    raise AssertionError("the call succeeded but should have failed")


def main():
    url = os.environ["FAKE_URL"]
    v2 = api(url)
    out = {}

    jwt_auth = v2.auth(akeyless.Auth(
        access_id=os.environ["FAKE_JWT_ACCESS_ID"], access_type="jwt", jwt=os.environ["FAKE_JWT"]))
    token = jwt_auth.token
    out["jwt_auth"] = {"token_prefix": token[:2], "has_expiration": bool(jwt_auth.expiration),
                       "creds_expiry_is_int": isinstance(jwt_auth.creds.expiry, int)}

    key_auth = v2.auth(akeyless.Auth(
        access_id=os.environ["FAKE_KEY_ACCESS_ID"], access_key=os.environ["FAKE_ACCESS_KEY"]))
    out["access_key_auth"] = {"token_prefix": key_auth.token[:2]}

    out["validate_token"] = v2.validate_token(akeyless.ValidateToken(token=token)).is_valid

    out["describe"] = {}
    for name in ["/ci/db-password", "/ci/mysql", "/ci/rotated-db", "/ci/versioned"]:
        item = v2.describe_item(akeyless.DescribeItem(name=name, token=token))
        out["describe"][name] = {"item_name": item.item_name, "item_type": item.item_type,
                                 "last_version": item.last_version}

    names = ["/ci/db-password", "/ci/app-config", "/ci/versioned"]
    out["static"] = v2.get_secret_value(akeyless.GetSecretValue(names=names, token=token))
    out["static_v1"] = v2.get_secret_value(
        akeyless.GetSecretValue(names=["/ci/versioned"], version=1, token=token))
    out["static_uid"] = v2.get_secret_value(akeyless.GetSecretValue(
        names=["/ci/api-token"], uid_token=os.environ["FAKE_UID_TOKEN"]))

    first = v2.get_dynamic_secret_value(akeyless.GetDynamicSecretValue(name="/ci/mysql", token=token))
    second = v2.get_dynamic_secret_value(akeyless.GetDynamicSecretValue(name="/ci/mysql", token=token))
    out["dynamic"] = {"keys": sorted(first), "fresh": first["password"] != second["password"]}

    # list-items page by page, as a paging client walks it, then narrowed in one answer.
    pages, page_token, folders = [], None, None
    while True:
        answer = v2.list_items(akeyless.ListItems(
            path="/ci", auto_pagination="disabled", pagination_token=page_token, token=token))
        pages.append([item.item_name for item in (answer.items or [])])
        folders = folders if folders is not None else (answer.folders or [])
        page_token = answer.next_page
        if not page_token:
            break
    narrowed = v2.list_items(akeyless.ListItems(
        path="/ci", filter="rotated", type=["rotated-secret"], token=token))
    current = v2.list_items(akeyless.ListItems(path="/ci/team", current_folder=True, token=token))
    out["list"] = {"pages": pages, "folders": folders,
                   "narrowed": [[i.item_name, i.item_type] for i in narrowed.items],
                   "current": [i.item_name for i in current.items]}

    with_args = v2.get_dynamic_secret_value(akeyless.GetDynamicSecretValue(
        name="/ci/mysql", args=["db=orders", '{"role":"ro"}'], timeout=30, token=token))
    out["dynamic_args"] = sorted(with_args)

    # The credentials minted so far, then revoked one by one as akl revokes them: the
    # delete answers 201 with no body, which the SDK takes as success.
    live = v2.dynamic_secret_tmp_creds_get(akeyless.DynamicSecretTmpCredsGet(name="/ci/mysql", token=token))
    ids = [c.id for c in live]
    deleted = v2.dynamic_secret_tmp_creds_delete(akeyless.DynamicSecretTmpCredsDelete(
        name="/ci/mysql", tmp_creds_id=with_args["id"], token=token))
    after = v2.dynamic_secret_tmp_creds_get(akeyless.DynamicSecretTmpCredsGet(name="/ci/mysql", token=token))
    out["revoke"] = {"ids": ids, "minted": [first["id"], second["id"], with_args["id"]],
                     "deleted": deleted, "after": [c.id for c in after],
                     "again": failure(lambda: v2.dynamic_secret_tmp_creds_delete(
                         akeyless.DynamicSecretTmpCredsDelete(
                             name="/ci/mysql", tmp_creds_id=with_args["id"], token=token)))}

    out["rotated"] = {}
    for name in ["/ci/rotated-db", "/ci/rotated-custom", "/ci/rotated-target"]:
        answer = v2.get_rotated_secret_value(akeyless.GetRotatedSecretValue(names=name, token=token))
        out["rotated"][name] = answer["value"]

    out["errors"] = {
        "missing_item": failure(lambda: v2.get_secret_value(
            akeyless.GetSecretValue(names=["/ci/nope"], token=token))),
        "forbidden_item": failure(lambda: v2.get_secret_value(
            akeyless.GetSecretValue(names=["/other/outside"], token=token))),
        "describe_forbidden": failure(lambda: v2.describe_item(
            akeyless.DescribeItem(name="/other/outside", token=token))),
        "bad_access_key": failure(lambda: v2.auth(akeyless.Auth(
            access_id=os.environ["FAKE_KEY_ACCESS_ID"], access_key="wrong"))),
        "foreign_jwt": failure(lambda: v2.auth(akeyless.Auth(
            access_id=os.environ["FAKE_JWT_ACCESS_ID"], access_type="jwt",
            jwt=os.environ["FAKE_FOREIGN_JWT"]))),
        "bad_token": failure(lambda: v2.get_secret_value(
            akeyless.GetSecretValue(names=["/ci/db-password"], token="t-0000"))),
    }

    # The same API under the gateway prefixes.
    out["prefixes"] = {}
    for prefix in ["/api/v2", "/v2"]:
        out["prefixes"][prefix] = api(url + prefix).get_secret_value(
            akeyless.GetSecretValue(names=["/ci/db-password"], token=token))

    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
