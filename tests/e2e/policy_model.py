"""An independent reference model of IAM identity-policy evaluation, written
from the IAM User Guide ("Policy evaluation logic", "IAM JSON policy
elements", "Condition operators", "Single-valued vs. multivalued context
keys", "Policy variables"), for the differential test
(test_policy_differential.py). It shares no code with daxd's evaluator.

The subset it implements exactly (the generator stays inside it):

* identity policies only (no resource, boundary or session policies), all
  of Version 2012-10-17;
* Action / NotAction: `*` and `?` wildcards, matched case-insensitively;
* Resource / NotResource: `*` and `?` wildcards over the whole ARN, matched
  case-sensitively; patterns are `*` or full ARNs with all five colons, so a
  wildcard never has to span a colon (whole-string and per-segment matching
  agree); `${aws:username}` in Resource is replaced by the request's value,
  and a pattern whose variable has no value matches nothing;
* Condition: blocks ANDed, keys ANDed, values ORed; negated operators
  (`StringNotEquals`, `NotIpAddress`, …) hold when the request value matches
  none of the policy values; a key absent from the request makes a positive
  operator false and a negated one true; `...IfExists` makes an absent key
  true; `Null` "true" holds when the key is absent; `ForAnyValue:` and
  `ForAllValues:` on multivalued keys (absent key: false and true);
  condition key names are case-insensitive, values case-sensitive (except
  the `...IgnoreCase` operators).

Decision: any matching Deny -> "explicitDeny"; else any matching Allow ->
"allowed"; else "implicitDeny" (SimulateCustomPolicy's EvalDecision words).

A request context is a dict: key (any case) -> (type, [values]) with type one
of "string", "numeric", "boolean", "date", "ip" and values Python values
(str, float, bool, datetime, ipaddress address).
"""
import datetime as dt
import ipaddress
import re

__all__ = ["evaluate", "glob_match"]


def _as_list(v):
    return v if isinstance(v, list) else [v]


def glob_match(pattern, text, ignore_case=False):
    """`*` matches any run of characters (including none), `?` exactly one."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, text, re.S | (re.I if ignore_case else 0)) is not None


_VAR = re.compile(r"\$\{([^}]*)\}")


def _expand(pattern, ctx):
    """Replace ${key} by the request's single value; None when unresolvable."""
    missing = False

    def sub(m):
        nonlocal missing
        got = ctx.get(m.group(1).lower())
        if not got or len(got[1]) != 1:
            missing = True
            return ""
        # The substituted value is literal text, not a wildcard.
        return got[1][0].replace("*", "\0STAR\0").replace("?", "\0QM\0")

    out = _VAR.sub(sub, pattern)
    return None if missing else out


def _resource_match(pattern, resource, ctx):
    expanded = _expand(pattern, ctx)
    if expanded is None:
        return False
    # Put literal wildcard characters from variables back as escaped literals.
    rx = ""
    i = 0
    while i < len(expanded):
        if expanded.startswith("\0STAR\0", i):
            rx += re.escape("*")
            i += 6
        elif expanded.startswith("\0QM\0", i):
            rx += re.escape("?")
            i += 4
        else:
            c = expanded[i]
            rx += ".*" if c == "*" else "." if c == "?" else re.escape(c)
            i += 1
    return re.fullmatch(rx, resource, re.S) is not None


# ----- conditions -----

_STRING = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
           "StringLike", "StringNotLike"}
_NUMERIC = {"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
            "NumericGreaterThan", "NumericGreaterThanEquals"}
_DATE = {"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals",
         "DateGreaterThan", "DateGreaterThanEquals"}
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals",
            "DateNotEquals", "NotIpAddress", "ArnNotEquals", "ArnNotLike"}


def parse_date(s):
    s = s.strip()
    if re.fullmatch(r"-?\d+", s):
        return dt.datetime.fromtimestamp(int(s), dt.timezone.utc)
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def _compare(kind, a, b):
    return {"Equals": a == b, "LessThan": a < b, "LessThanEquals": a <= b,
            "GreaterThan": a > b, "GreaterThanEquals": a >= b}[kind]


def _positive(op, request_value, policy_value):
    """Does one request value match one policy value under the positive form of op?"""
    if op in _STRING:
        r = str(request_value)
        if op in ("StringLike", "StringNotLike"):
            return glob_match(policy_value, r)
        if "IgnoreCase" in op:
            return r.lower() == policy_value.lower()
        return r == policy_value
    if op in _NUMERIC:
        try:
            p = float(policy_value)
        except ValueError:
            return False
        kind = op[len("Numeric"):].replace("Not", "")
        return _compare(kind, float(request_value), p)
    if op in _DATE:
        kind = op[len("Date"):].replace("Not", "")
        return _compare(kind, request_value, parse_date(policy_value))
    if op == "Bool":
        return (policy_value.lower() == "true") == bool(request_value)
    if op in ("IpAddress", "NotIpAddress"):
        return ipaddress.ip_address(request_value) in ipaddress.ip_network(policy_value, strict=False)
    raise ValueError(f"operator outside the model: {op}")


def condition_holds(full_op, key, values, ctx):
    values = [str(v) if not isinstance(v, bool) else ("true" if v else "false") for v in _as_list(values)]
    qualifier = None
    op = full_op
    if ":" in op:
        qualifier, op = op.split(":", 1)
    if_exists = op.endswith("IfExists") and op != "IfExists"
    if if_exists:
        op = op[: -len("IfExists")]
    present = ctx.get(key.lower())
    present = present[1] if present and present[1] else None

    if op == "Null":
        return any((v.lower() == "true" and present is None) or (v.lower() == "false" and present is not None)
                   for v in values)
    if present is None:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return op in _NEGATED
    negated = op in _NEGATED

    def value_ok(r):
        hit = any(_positive(op, r, p) for p in values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(value_ok(r) for r in present)
    if qualifier == "ForAnyValue":
        return any(value_ok(r) for r in present)
    if len(present) != 1:
        raise ValueError(f"unqualified operator on a multivalued request key: {key}")
    return value_ok(present[0])


def _conditions_hold(block, ctx):
    for op, keys in (block or {}).items():
        for key, values in keys.items():
            if not condition_holds(op, key, values, ctx):
                return False
    return True


def statement_applies(st, action, resource, ctx):
    return _targets(st, action, resource, ctx) and _conditions_hold(st.get("Condition"), ctx)


def _targets(st, action, resource, ctx):
    """Whether a statement's Action/NotAction and Resource/NotResource take in the request."""
    if "Action" in st:
        if not any(glob_match(p, action, ignore_case=True) for p in _as_list(st["Action"])):
            return False
    else:
        if any(glob_match(p, action, ignore_case=True) for p in _as_list(st["NotAction"])):
            return False
    if "Resource" in st:
        return any(_resource_match(p, resource, ctx) for p in _as_list(st["Resource"]))
    return not any(_resource_match(p, resource, ctx) for p in _as_list(st["NotResource"]))


def missing_keys(policies, action, resource, ctx):
    """The simulator's MissingContextValues, lower-cased: the condition keys of the
    statements that take in the request which the context does not carry."""
    ctx = {k.lower(): v for k, v in ctx.items()}
    out = set()
    for doc in policies:
        for st in _as_list(doc["Statement"]):
            if _targets(st, action, resource, ctx):
                for keys in (st.get("Condition") or {}).values():
                    out.update(k.lower() for k in keys if not ctx.get(k.lower(), (None, []))[1])
    return out


def evaluate(policies, action, resource, ctx):
    """policies: identity policy documents (dicts). Returns the EvalDecision."""
    ctx = {k.lower(): v for k, v in ctx.items()}
    allowed = False
    for doc in policies:
        for st in _as_list(doc["Statement"]):
            if statement_applies(st, action, resource, ctx):
                if st["Effect"] == "Deny":
                    return "explicitDeny"
                allowed = True
    return "allowed" if allowed else "implicitDeny"
