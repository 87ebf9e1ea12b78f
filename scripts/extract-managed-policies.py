#!/usr/bin/env python3
"""Regenerate crates/iam/data/aws-managed-policies.json.

daxd ships the AWS-managed policies that DAX users meet, with their real
documents. The documents are AWS's; this script takes them from the copy
that the `moto` package on PyPI keeps up to date:

    pip download --no-deps moto==5.2.5 && unzip moto-*.whl 'moto/iam/aws_managed_policies.py'
    python3 scripts/extract-managed-policies.py moto/iam/aws_managed_policies.py
"""
import json
import os
import sys

NAMES = [
    "DAXServiceRolePolicy",
    "AmazonFISServiceRolePolicy",
    "AmazonDynamoDBFullAccess",
    "AmazonDynamoDBReadOnlyAccess",
    "AdministratorAccess",
    "IAMFullAccess",
    "ReadOnlyAccess",
]


def main(src):
    ns = {}
    exec(open(src).read(), ns)
    data = json.loads(ns["aws_managed_policies_data"])
    out = []
    for name in NAMES:
        d = data[name]
        out.append({
            "PolicyName": name,
            "Path": d["Path"],
            "DefaultVersionId": d["DefaultVersionId"],
            "CreateDate": d["CreateDate"],
            "UpdateDate": d["UpdateDate"],
            "Document": d["Document"],
        })
    dest = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "iam", "data", "aws-managed-policies.json")
    with open(dest, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"{dest}: {len(out)} policies")


if __name__ == "__main__":
    main(sys.argv[1])
