#!/usr/bin/env python3
"""Regenerate models/*.json from botocore's service models.

daxd drives its wire (de)serialisation from AWS's own service models. This
script copies the models of the services daxd serves out of the installed
botocore, keeping only the operations daxd answers and the shapes they
reach, without documentation strings. Run it after bumping botocore:

    .venv/bin/python scripts/trim-models.py
"""
import gzip, json, os, sys
import botocore

DATA = os.path.join(os.path.dirname(botocore.__file__), "data")
OUT = os.environ.get("TRIM_MODELS_OUT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")

EC2_OPS = [
    "DescribeAvailabilityZones", "DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups",
    "CreateVpc", "DeleteVpc", "CreateSubnet", "DeleteSubnet",
    "CreateSecurityGroup", "DeleteSecurityGroup",
    "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress",
    "CreateNetworkInterface", "DeleteNetworkInterface", "DescribeNetworkInterfaces",
    "ModifyNetworkInterfaceAttribute",
]
FIS_OPS = [
    "CreateExperimentTemplate", "GetExperimentTemplate", "UpdateExperimentTemplate",
    "DeleteExperimentTemplate", "ListExperimentTemplates",
    "StartExperiment", "GetExperiment", "ListExperiments", "StopExperiment",
    "ListActions", "GetAction", "ListTargetResourceTypes", "GetTargetResourceType",
    "ListExperimentResolvedTargets",
    "TagResource", "UntagResource", "ListTagsForResource",
]
SERVICES = {
    "iam": ("2010-05-08", None),
    "sts": ("2011-06-15", None),
    "dax": ("2017-04-19", None),
    "dynamodb": ("2012-08-10", None),
    "dynamodbstreams": ("2012-08-10", None),
    "ec2": ("2016-11-15", EC2_OPS),
    "cloudwatch": ("2010-08-01", None),
    "fis": ("2020-12-01", FIS_OPS),
}
# botocore's directory name -> daxd's file name (the service's endpoint prefix).
FILE_NAME = {"cloudwatch": "monitoring"}
DROP = {"documentation", "documentationUrl", "deprecatedMessage", "examples"}


def load(svc, version):
    base = os.path.join(DATA, svc, version, "service-2.json")
    if os.path.exists(base):
        return json.load(open(base))
    return json.load(gzip.open(base + ".gz"))


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def reach(shapes, name, seen):
    if name in seen:
        return
    seen.add(name)
    shape = shapes[name]
    for key in ("member", "key", "value"):
        if key in shape:
            reach(shapes, shape[key]["shape"], seen)
    for m in shape.get("members", {}).values():
        reach(shapes, m["shape"], seen)


def main():
    os.makedirs(OUT, exist_ok=True)
    for svc, (version, ops) in SERVICES.items():
        model = load(svc, version)
        keep_ops = {k: v for k, v in model["operations"].items() if ops is None or k in ops}
        seen = set()
        for op in keep_ops.values():
            for key in ("input", "output"):
                if key in op:
                    reach(model["shapes"], op[key]["shape"], seen)
            for err in op.get("errors", []):
                reach(model["shapes"], err["shape"], seen)
        out = {
            "metadata": model["metadata"],
            "operations": strip(keep_ops),
            "shapes": strip({k: v for k, v in model["shapes"].items() if k in seen}),
            "botocore": botocore.__version__,
        }
        path = os.path.join(OUT, f"{FILE_NAME.get(svc, svc)}.json")
        with open(path, "w") as f:
            json.dump(out, f, separators=(",", ":"))
            f.write("\n")
        print(f"{path}: {len(keep_ops)} operations, {len(seen)} shapes")


if __name__ == "__main__":
    sys.exit(main())
