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
  agree);
* policy variables `${key}` and `${key, 'default'}` ("Policy variables",
  "Specifying default values") in Resource / NotResource and in the values
  of string (`String...`) and ARN (`Arn...`) condition operators; the key
  name is case-insensitive, the default is the text between the quotes; the
  variable takes the request's value of a single-valued key (or the
  default), and the substituted text is literal (a `*` in a user name is not
  a wildcard); a key that is absent or multivalued and has no default leaves
  the variable with no value ("Policy variables with no value"):
  - a Resource / NotResource entry with such a variable matches no
    resource; only that entry: the element's other entries still count; so
    in NotResource it excludes nothing (a NotResource of only such entries
    takes in every resource);
  - a condition value with such a variable matches no request value; the
    other values of the same condition still do (values are ORed); for a
    negated operator (`StringNotEquals`, `ArnNotLike`, …) a request value
    that matches none of the values holds, so an unresolvable value alone
    makes a negated operator true (AWS's example: `StringNotEquals
    {aws:PrincipalTag/team: "${aws:PrincipalTag/dept}"}` holds without a
    dept tag);
* Condition: blocks ANDed, keys ANDed, values ORed; negated operators hold
  when the request value matches none of the policy values;
  `ArnEquals` / `ArnLike` match the six colon-separated parts of the ARN
  each on its own, with `*` and `?` wildcards, case-sensitively (a request
  value that is not a six-part ARN matches nothing);
  `Null` "true" holds when the key is absent (variables are not expanded in
  Null, Numeric, Date, Bool or IpAddress values; the generator puts none
  there);
  condition key names are case-insensitive, values case-sensitive (except
  the `...IgnoreCase` operators);
* a key absent from the request: `ForAnyValue:<op>` is false and
  `ForAllValues:<op>` true, whether or not the operator ends in `IfExists`
  (the set qualifier decides); without a set qualifier `...IfExists` makes
  it true, and otherwise a positive operator is false and a negated one
  true;
* a key present in the request: `IfExists` changes nothing;
  `ForAnyValue:` holds when some request value passes the operator (for a
  negated operator: matches none of the policy values), `ForAllValues:`
  when every request value does; set qualifiers may be used on
  single-valued keys too (the set of the one value); an operator without a
  set qualifier compares a single request value as such, and with several
  request values (a multivalued key such as aws:TagKeys) is false for a
  positive operator and true for a negated one, IfExists or not. AWS
  documents only that multivalued keys "require a condition set operator";
  this reading is daxd's documented choice (docs/iam-evaluation.md, reading
  (b)), the one rule here not taken from AWS's text;
* policy variables in Resource / NotResource only after the ARN's fifth
  colon (the only place AWS documents them; docs/iam-evaluation.md reading
  (a) says what daxd does elsewhere).

Decision: any matching Deny -> "explicitDeny"; else any matching Allow ->
"allowed"; else "implicitDeny" (SimulateCustomPolicy's EvalDecision words).

A request context is a dict: key (any case) -> (type, [values]) with type one
of "string", "stringList", "numeric", "boolean", "date", "ip" and values
Python values (str, float, bool, datetime, ipaddress address). The
generator uses only string keys as policy variables.
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


# ----- policy variables -----

# Wildcard tokens; every other token is one literal character (a str).
STAR, ONE = object(), object()

_VAR = re.compile(r"\$\{([^}]*)\}")
_WITH_DEFAULT = re.compile(r"([^,]*),\s*'(.*)'", re.S)


def _variable(inner, ctx):
    """The value of `${inner}`: the request's single value of the key, else
    the default, else None (no value)."""
    m = _WITH_DEFAULT.fullmatch(inner.strip())
    key, default = (m.group(1).strip(), m.group(2)) if m else (inner.strip(), None)
    got = ctx.get(key.lower())
    if got and len(got[1]) == 1:
        return str(got[1][0])
    return default


def _tokens(template, ctx):
    """A policy string as wildcard tokens, its variables replaced by literal
    text; None when a variable has no value."""
    def plain(text):
        return [STAR if c == "*" else ONE if c == "?" else c for c in text]

    out, pos = [], 0
    for m in _VAR.finditer(template):
        out += plain(template[pos:m.start()])
        value = _variable(m.group(1), ctx)
        if value is None:
            return None
        out += list(value)
        pos = m.end()
    return out + plain(template[pos:])


def _regex(tokens):
    return "".join(".*" if t is STAR else "." if t is ONE else re.escape(t) for t in tokens)


def _text(tokens):
    return "".join("*" if t is STAR else "?" if t is ONE else t for t in tokens)


def _tokens_match(tokens, text):
    return re.fullmatch(_regex(tokens), text, re.S) is not None


def _resource_match(pattern, resource, ctx):
    tokens = _tokens(pattern, ctx)
    return tokens is not None and _tokens_match(tokens, resource)


def _arn_match(tokens, value):
    """ArnEquals / ArnLike: the six colon-separated parts matched one by one."""
    parts, cur = [], []
    for t in tokens:
        if t == ":" and len(parts) < 5:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    values = value.split(":", 5)
    if len(parts) != 6 or len(values) != 6:
        return False
    return all(_tokens_match(p, v) for p, v in zip(parts, values))


# ----- conditions -----

_STRING = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
           "StringLike", "StringNotLike"}
_ARN = {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
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


def _policy_value(op, value, ctx):
    """A policy value ready for _positive: tokens for string and ARN operators
    (None when a variable has no value), the text otherwise."""
    if op in _STRING or op in _ARN:
        return _tokens(value, ctx)
    return value


def _positive(op, request_value, policy_value):
    """Does one request value match one policy value under the positive form of op?"""
    if op in _STRING:
        r = str(request_value)
        if op in ("StringLike", "StringNotLike"):
            return _tokens_match(policy_value, r)
        if "IgnoreCase" in op:
            return r.lower() == _text(policy_value).lower()
        return r == _text(policy_value)
    if op in _ARN:
        return _arn_match(policy_value, str(request_value))
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
        # The set qualifier decides before IfExists does.
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        if if_exists:
            return True
        return op in _NEGATED
    negated = op in _NEGATED
    # A value whose variable has no value matches no request value.
    resolved = [p for p in (_policy_value(op, v, ctx) for v in values) if p is not None]

    def value_ok(r):
        hit = any(_positive(op, r, p) for p in resolved)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(value_ok(r) for r in present)
    if qualifier == "ForAnyValue":
        return any(value_ok(r) for r in present)
    if len(present) != 1:
        # Several values without a set qualifier: one value equal to no policy value.
        return negated
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
