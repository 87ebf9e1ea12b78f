//! Compiled expressions (§5.7): the CBOR s-expressions DAX clients send in place of
//! Condition/KeyCondition/Filter/Update/Projection expression strings, their typed form,
//! and their rendering back into DynamoDB expression strings with
//! ExpressionAttributeNames/Values.

use crate::cbor::{self, Reader, Writer};
use crate::error::{Result, WireError};
use crate::limits::Limits;
use crate::value::{AttributeValue, TAG_DOCUMENT_PATH_ORDINAL};
use minicbor::data::Type;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The only encoding version clients send.
pub const ENCODING_VERSION: u64 = 1;

/// One step of a document path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathElement {
    /// An attribute or map-key name (placeholders already substituted).
    Name(String),
    /// A list index (`[n]`).
    Index(u64),
}

/// A document path such as `a.b[2].c`; the first element is always a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DocumentPath(pub Vec<PathElement>);

impl DocumentPath {
    /// A one-element path.
    pub fn attribute(name: &str) -> DocumentPath {
        DocumentPath(vec![PathElement::Name(name.to_owned())])
    }

    /// The value at this path in `item`, if every step exists.
    pub fn resolve<'a>(&self, item: &'a crate::value::Item) -> Option<&'a AttributeValue> {
        let mut elems = self.0.iter();
        let Some(PathElement::Name(first)) = elems.next() else {
            return None;
        };
        let mut cur = item.get(first)?;
        for e in elems {
            cur = match (e, cur) {
                (PathElement::Name(n), AttributeValue::M(m)) => m.get(n)?,
                (PathElement::Index(i), AttributeValue::L(l)) => l.get(usize::try_from(*i).ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The top-level attribute name.
    pub fn root(&self) -> &str {
        match self.0.first() {
            Some(PathElement::Name(n)) => n,
            _ => "",
        }
    }
}

impl fmt::Display for DocumentPath {
    /// Raw path text (names unescaped, so only for diagnostics).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            match e {
                PathElement::Name(n) if i == 0 => write!(f, "{n}")?,
                PathElement::Name(n) => write!(f, ".{n}")?,
                PathElement::Index(k) => write!(f, "[{k}]")?,
            }
        }
        Ok(())
    }
}

/// Comparison operators (opcodes 0–5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
}

impl Comparator {
    fn opcode(self) -> u64 {
        match self {
            Comparator::Eq => 0,
            Comparator::Ne => 1,
            Comparator::Lt => 2,
            Comparator::Ge => 3,
            Comparator::Gt => 4,
            Comparator::Le => 5,
        }
    }

    /// The operator's text.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
            Comparator::Le => "<=",
        }
    }
}

/// Functions (opcodes 11–16, 23, 24).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// `attribute_exists(path)`
    AttributeExists,
    /// `attribute_not_exists(path)`
    AttributeNotExists,
    /// `attribute_type(path, type)`
    AttributeType,
    /// `begins_with(path, prefix)`
    BeginsWith,
    /// `contains(path, operand)`
    Contains,
    /// `size(path)`
    Size,
    /// `if_not_exists(path, value)`
    IfNotExists,
    /// `list_append(a, b)`
    ListAppend,
}

impl Function {
    fn opcode(self) -> u64 {
        match self {
            Function::AttributeExists => 11,
            Function::AttributeNotExists => 12,
            Function::AttributeType => 13,
            Function::BeginsWith => 14,
            Function::Contains => 15,
            Function::Size => 16,
            Function::IfNotExists => 23,
            Function::ListAppend => 24,
        }
    }

    /// The function's name in DynamoDB's grammar.
    pub fn name(self) -> &'static str {
        match self {
            Function::AttributeExists => "attribute_exists",
            Function::AttributeNotExists => "attribute_not_exists",
            Function::AttributeType => "attribute_type",
            Function::BeginsWith => "begins_with",
            Function::Contains => "contains",
            Function::Size => "size",
            Function::IfNotExists => "if_not_exists",
            Function::ListAppend => "list_append",
        }
    }

    /// Number of arguments.
    pub fn arity(self) -> usize {
        match self {
            Function::AttributeExists | Function::AttributeNotExists | Function::Size => 1,
            _ => 2,
        }
    }
}

/// A condition or operand node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// `a <op> b`
    Compare(Comparator, Box<Expr>, Box<Expr>),
    /// `a AND b`
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`
    Or(Box<Expr>, Box<Expr>),
    /// `NOT a`
    Not(Box<Expr>),
    /// `a BETWEEN lo AND hi`
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `a IN (b, c, …)`
    In(Box<Expr>, Vec<Expr>),
    /// A function call with exactly [`Function::arity`] arguments.
    Call(Function, Vec<Expr>),
    /// `a + b` (update values)
    Plus(Box<Expr>, Box<Expr>),
    /// `a - b` (update values)
    Minus(Box<Expr>, Box<Expr>),
    /// A document path.
    Path(DocumentPath),
    /// A reference into the expression's values array.
    Value(usize),
}

/// One action of an update expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UpdateAction {
    /// `SET path = value`
    Set(DocumentPath, Expr),
    /// `ADD path value`
    Add(DocumentPath, Expr),
    /// `DELETE path value`
    Delete(DocumentPath, Expr),
    /// `REMOVE path`
    Remove(DocumentPath),
}

/// A compiled condition, key-condition or filter expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConditionExpression {
    /// The tree.
    pub expr: Expr,
    /// Values referenced by [`Expr::Value`] indexes.
    pub values: Vec<AttributeValue>,
}

/// A compiled update expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UpdateExpression {
    /// Actions in source order.
    pub actions: Vec<UpdateAction>,
    /// Values referenced by [`Expr::Value`] indexes.
    pub values: Vec<AttributeValue>,
}

/// A compiled projection expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProjectionExpression {
    /// Paths in request order (a response's projected-item ordinals index this list).
    pub paths: Vec<DocumentPath>,
}

// ---- decoding -------------------------------------------------------------------------------

/// Generic s-expression read from CBOR before typing.
enum S {
    Int(u64),
    Text(String),
    Ordinal(u64),
    List(Vec<S>),
}

fn read_s(r: &mut Reader<'_>, depth: usize) -> Result<S> {
    if depth > r.limits.max_depth {
        return Err(WireError::LimitExceeded("expression nested too deeply".into()));
    }
    match r.datatype()? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Ok(S::Int(r.u64()?)),
        Type::String | Type::StringIndef => Ok(S::Text(r.text()?)),
        Type::Tag => {
            if r.tag()? != TAG_DOCUMENT_PATH_ORDINAL {
                return Err(bad("unexpected tag"));
            }
            Ok(S::Ordinal(r.u64()?))
        }
        Type::Array | Type::ArrayIndef => Ok(S::List(r.array_of(|r| read_s(r, depth + 1))?)),
        other => Err(bad(&format!("unexpected {other}"))),
    }
}

fn bad(what: &str) -> WireError {
    WireError::validation(format!("Invalid compiled expression: {what}"))
}

fn split(s: &S) -> Result<(u64, &[S])> {
    match s {
        S::List(items) => match items.split_first() {
            Some((S::Int(op), args)) => Ok((*op, args)),
            _ => Err(bad("node must start with an opcode")),
        },
        _ => Err(bad("node must be an array")),
    }
}

fn to_path(s: &S) -> Result<DocumentPath> {
    let (op, args) = split(s)?;
    if op != 18 || args.is_empty() {
        return Err(bad("expected a document path"));
    }
    let mut out = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        match a {
            S::Text(t) => out.push(PathElement::Name(t.clone())),
            S::Ordinal(k) if i > 0 => out.push(PathElement::Index(*k)),
            _ => return Err(bad("invalid document path element")),
        }
    }
    Ok(DocumentPath(out))
}

fn to_expr(s: &S, nvalues: usize) -> Result<Expr> {
    let (op, args) = split(s)?;
    let arity = |n: usize| -> Result<()> {
        if args.len() == n {
            Ok(())
        } else {
            Err(bad(&format!("opcode {op} takes {n} operands, got {}", args.len())))
        }
    };
    let sub = |i: usize| -> Result<Box<Expr>> { Ok(Box::new(to_expr(&args[i], nvalues)?)) };
    Ok(match op {
        0..=5 => {
            arity(2)?;
            let c = [Comparator::Eq, Comparator::Ne, Comparator::Lt, Comparator::Ge, Comparator::Gt, Comparator::Le]
                [op as usize];
            Expr::Compare(c, sub(0)?, sub(1)?)
        }
        6 => {
            arity(2)?;
            Expr::And(sub(0)?, sub(1)?)
        }
        7 => {
            arity(2)?;
            Expr::Or(sub(0)?, sub(1)?)
        }
        8 => {
            arity(1)?;
            Expr::Not(sub(0)?)
        }
        9 => {
            arity(3)?;
            Expr::Between(sub(0)?, sub(1)?, sub(2)?)
        }
        10 => {
            arity(2)?;
            let S::List(items) = &args[1] else {
                return Err(bad("IN operands must be an array"));
            };
            if items.is_empty() {
                return Err(bad("IN needs at least one operand"));
            }
            let list = items.iter().map(|i| to_expr(i, nvalues)).collect::<Result<_>>()?;
            Expr::In(sub(0)?, list)
        }
        11..=16 | 23 | 24 => {
            let f = match op {
                11 => Function::AttributeExists,
                12 => Function::AttributeNotExists,
                13 => Function::AttributeType,
                14 => Function::BeginsWith,
                15 => Function::Contains,
                16 => Function::Size,
                23 => Function::IfNotExists,
                _ => Function::ListAppend,
            };
            arity(f.arity())?;
            let a = args.iter().map(|a| to_expr(a, nvalues)).collect::<Result<_>>()?;
            Expr::Call(f, a)
        }
        17 => {
            arity(1)?;
            match &args[0] {
                S::Int(i) if (*i as u128) < nvalues as u128 => Expr::Value(*i as usize),
                _ => return Err(bad("variable index out of range")),
            }
        }
        18 => Expr::Path(to_path(s)?),
        25 => {
            arity(2)?;
            Expr::Plus(sub(0)?, sub(1)?)
        }
        26 => {
            arity(2)?;
            Expr::Minus(sub(0)?, sub(1)?)
        }
        _ => return Err(bad(&format!("unexpected opcode {op}"))),
    })
}

/// Reads `[1, spec, values]` (or `[1, spec]` for projections) and returns the spec and
/// the values.
fn read_envelope(bytes: &[u8], limits: &Limits, with_values: bool) -> Result<(S, Vec<AttributeValue>)> {
    cbor::check_single(bytes, limits)?;
    let mut r = Reader::new(bytes, *limits);
    let expected = if with_values { 3 } else { 2 };
    if r.array()? != Some(expected) {
        return Err(bad(&format!("expected an array of {expected}")));
    }
    if r.datatype()? != Type::U8 || r.u64()? != ENCODING_VERSION {
        return Err(bad("unsupported encoding version"));
    }
    let spec = read_s(&mut r, 1)?;
    let values = if with_values { r.array_of(|r| AttributeValue::read_cbor(r, 1))? } else { Vec::new() };
    r.expect_end()?;
    Ok((spec, values))
}

impl ConditionExpression {
    /// Decodes the content of a compiled condition/key-condition/filter byte string.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<ConditionExpression> {
        let (spec, values) = read_envelope(bytes, limits, true)?;
        let expr = to_expr(&spec, values.len())?;
        Ok(ConditionExpression { expr, values })
    }

    /// Encodes as the clients do.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.array(3).u64(ENCODING_VERSION);
        write_expr(&mut w, &self.expr);
        write_values(&mut w, &self.values);
        w.into_bytes()
    }
}

impl UpdateExpression {
    /// Decodes the content of a compiled update-expression byte string.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<UpdateExpression> {
        let (spec, values) = read_envelope(bytes, limits, true)?;
        let S::List(items) = &spec else {
            return Err(bad("update spec must be an array of actions"));
        };
        if items.is_empty() {
            return Err(bad("update expression without actions"));
        }
        let mut actions = Vec::with_capacity(items.len());
        for item in items {
            let (op, args) = split(item)?;
            let n = if op == 22 { 1 } else { 2 };
            if !(19..=22).contains(&op) || args.len() != n {
                return Err(bad("invalid update action"));
            }
            let path = to_path(&args[0])?;
            let action = match op {
                22 => UpdateAction::Remove(path),
                _ => {
                    let v = to_expr(&args[1], values.len())?;
                    match op {
                        19 => UpdateAction::Set(path, v),
                        20 => UpdateAction::Add(path, v),
                        _ => UpdateAction::Delete(path, v),
                    }
                }
            };
            actions.push(action);
        }
        Ok(UpdateExpression { actions, values })
    }

    /// Encodes as the clients do.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.array(3).u64(ENCODING_VERSION).array(self.actions.len() as u64);
        for a in &self.actions {
            match a {
                UpdateAction::Set(p, v) | UpdateAction::Add(p, v) | UpdateAction::Delete(p, v) => {
                    let op = match a {
                        UpdateAction::Set(..) => 19,
                        UpdateAction::Add(..) => 20,
                        _ => 21,
                    };
                    w.array(3).u64(op);
                    write_path(&mut w, p);
                    write_expr(&mut w, v);
                }
                UpdateAction::Remove(p) => {
                    w.array(2).u64(22);
                    write_path(&mut w, p);
                }
            }
        }
        write_values(&mut w, &self.values);
        w.into_bytes()
    }
}

impl ProjectionExpression {
    /// Decodes the content of a compiled projection byte string.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<ProjectionExpression> {
        let (spec, _) = read_envelope(bytes, limits, false)?;
        let S::List(items) = &spec else {
            return Err(bad("projection must be an array of paths"));
        };
        if items.is_empty() {
            return Err(bad("empty projection"));
        }
        let paths = items.iter().map(to_path).collect::<Result<_>>()?;
        Ok(ProjectionExpression { paths })
    }

    /// The projection map of §5.8 for `item`: `(ordinal, value at that full path)` for
    /// every path that exists, in ordinal order (what a response's projected item holds).
    pub fn project(&self, item: &crate::value::Item) -> Vec<(u64, AttributeValue)> {
        self.paths.iter().enumerate().filter_map(|(i, p)| p.resolve(item).map(|v| (i as u64, v.clone()))).collect()
    }

    /// Encodes as the clients do.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.array(2).u64(ENCODING_VERSION).array(self.paths.len() as u64);
        for p in &self.paths {
            write_path(&mut w, p);
        }
        w.into_bytes()
    }
}

fn write_values(w: &mut Writer, values: &[AttributeValue]) {
    w.array(values.len() as u64);
    for v in values {
        v.write_cbor(w);
    }
}

fn write_path(w: &mut Writer, p: &DocumentPath) {
    w.array(p.0.len() as u64 + 1).u64(18);
    for e in &p.0 {
        match e {
            PathElement::Name(n) => {
                w.str(n);
            }
            PathElement::Index(k) => {
                w.tag(TAG_DOCUMENT_PATH_ORDINAL).u64(*k);
            }
        }
    }
}

fn write_expr(w: &mut Writer, e: &Expr) {
    let bin = |w: &mut Writer, op: u64, a: &Expr, b: &Expr| {
        w.array(3).u64(op);
        write_expr(w, a);
        write_expr(w, b);
    };
    match e {
        Expr::Compare(c, a, b) => bin(w, c.opcode(), a, b),
        Expr::And(a, b) => bin(w, 6, a, b),
        Expr::Or(a, b) => bin(w, 7, a, b),
        Expr::Plus(a, b) => bin(w, 25, a, b),
        Expr::Minus(a, b) => bin(w, 26, a, b),
        Expr::Not(a) => {
            w.array(2).u64(8);
            write_expr(w, a);
        }
        Expr::Between(a, lo, hi) => {
            w.array(4).u64(9);
            write_expr(w, a);
            write_expr(w, lo);
            write_expr(w, hi);
        }
        Expr::In(a, list) => {
            w.array(3).u64(10);
            write_expr(w, a);
            w.array(list.len() as u64);
            for x in list {
                write_expr(w, x);
            }
        }
        Expr::Call(f, args) => {
            w.array(args.len() as u64 + 1).u64(f.opcode());
            for a in args {
                write_expr(w, a);
            }
        }
        Expr::Path(p) => write_path(w, p),
        Expr::Value(i) => {
            w.array(2).u64(17).u64(*i as u64);
        }
    }
}

// ---- rendering ------------------------------------------------------------------------------

/// Renders compiled expressions back into DynamoDB expression strings.
///
/// Every attribute name becomes a `#nN` placeholder (so reserved words and names with
/// special characters need no care); every referenced value becomes `:<prefix>N`, N being
/// its index in that expression's values array. Use one writer per DynamoDB request and a
/// distinct prefix per expression (for example `c` condition, `k` key condition, `f`
/// filter, `u` update) so the shared maps cannot collide; prefixes must match
/// `[A-Za-z0-9_]+`. Values that no node references are left out (DynamoDB rejects unused
/// values).
#[derive(Clone, Debug, Default)]
pub struct ExpressionWriter {
    names: BTreeMap<String, String>,
    by_name: HashMap<String, String>,
    values: BTreeMap<String, AttributeValue>,
}

const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_NOT: u8 = 3;
const PREC_ATOM: u8 = 4;

fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Or(..) => PREC_OR,
        Expr::And(..) => PREC_AND,
        Expr::Not(..) => PREC_NOT,
        _ => PREC_ATOM,
    }
}

impl ExpressionWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A condition, key condition or filter as DynamoDB text.
    pub fn condition(&mut self, c: &ConditionExpression, prefix: &str) -> String {
        let mut out = String::new();
        self.expr(&mut out, &c.expr, &c.values, prefix);
        out
    }

    /// An update expression as DynamoDB text (actions grouped into SET/REMOVE/ADD/DELETE
    /// clauses in order of first appearance, source order within a clause).
    pub fn update(&mut self, u: &UpdateExpression, prefix: &str) -> String {
        let mut clauses: Vec<(&'static str, Vec<String>)> = Vec::new();
        for a in &u.actions {
            let (kw, text) = match a {
                UpdateAction::Set(p, v) => {
                    let mut s = self.path(p);
                    s.push_str(" = ");
                    self.expr(&mut s, v, &u.values, prefix);
                    ("SET", s)
                }
                UpdateAction::Add(p, v) | UpdateAction::Delete(p, v) => {
                    let mut s = self.path(p);
                    s.push(' ');
                    self.expr(&mut s, v, &u.values, prefix);
                    (if matches!(a, UpdateAction::Add(..)) { "ADD" } else { "DELETE" }, s)
                }
                UpdateAction::Remove(p) => ("REMOVE", self.path(p)),
            };
            match clauses.iter_mut().find(|(k, _)| *k == kw) {
                Some((_, list)) => list.push(text),
                None => clauses.push((kw, vec![text])),
            }
        }
        clauses.iter().map(|(kw, list)| format!("{kw} {}", list.join(", "))).collect::<Vec<_>>().join(" ")
    }

    /// A projection expression as DynamoDB text.
    pub fn projection(&mut self, p: &ProjectionExpression) -> String {
        p.paths.iter().map(|x| self.path(x)).collect::<Vec<_>>().join(", ")
    }

    /// A document path with name placeholders.
    pub fn path(&mut self, p: &DocumentPath) -> String {
        let mut s = String::new();
        for e in &p.0 {
            match e {
                PathElement::Name(n) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    let next = self.by_name.len();
                    let ph = self.by_name.entry(n.clone()).or_insert_with(|| format!("#n{next}")).clone();
                    self.names.insert(ph.clone(), n.clone());
                    s.push_str(&ph);
                }
                PathElement::Index(k) => {
                    s.push('[');
                    s.push_str(&k.to_string());
                    s.push(']');
                }
            }
        }
        s
    }

    /// ExpressionAttributeNames: placeholder → name.
    pub fn names(&self) -> &BTreeMap<String, String> {
        &self.names
    }

    /// ExpressionAttributeValues: placeholder → value.
    pub fn values(&self) -> &BTreeMap<String, AttributeValue> {
        &self.values
    }

    /// ExpressionAttributeNames as a JSON object (`None` when empty, as DynamoDB wants).
    pub fn names_json(&self) -> Option<Value> {
        (!self.names.is_empty())
            .then(|| Value::Object(self.names.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()))
    }

    /// ExpressionAttributeValues as a DynamoDB JSON object (`None` when empty).
    pub fn values_json(&self) -> Option<Value> {
        (!self.values.is_empty())
            .then(|| Value::Object(self.values.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()))
    }

    /// Both maps.
    pub fn into_parts(self) -> (BTreeMap<String, String>, BTreeMap<String, AttributeValue>) {
        (self.names, self.values)
    }

    fn wrapped(&mut self, out: &mut String, e: &Expr, values: &[AttributeValue], prefix: &str, parens: bool) {
        if parens {
            out.push('(');
        }
        self.expr(out, e, values, prefix);
        if parens {
            out.push(')');
        }
    }

    fn expr(&mut self, out: &mut String, e: &Expr, values: &[AttributeValue], prefix: &str) {
        match e {
            Expr::Or(a, b) | Expr::And(a, b) => {
                let (p, kw) = if matches!(e, Expr::Or(..)) { (PREC_OR, " OR ") } else { (PREC_AND, " AND ") };
                self.wrapped(out, a, values, prefix, prec(a) < p);
                out.push_str(kw);
                self.wrapped(out, b, values, prefix, prec(b) <= p);
            }
            Expr::Not(a) => {
                out.push_str("NOT ");
                self.wrapped(out, a, values, prefix, true);
            }
            Expr::Compare(c, a, b) => {
                self.operand(out, a, values, prefix);
                out.push(' ');
                out.push_str(c.symbol());
                out.push(' ');
                self.operand(out, b, values, prefix);
            }
            Expr::Between(a, lo, hi) => {
                self.operand(out, a, values, prefix);
                out.push_str(" BETWEEN ");
                self.operand(out, lo, values, prefix);
                out.push_str(" AND ");
                self.operand(out, hi, values, prefix);
            }
            Expr::In(a, list) => {
                self.operand(out, a, values, prefix);
                out.push_str(" IN (");
                for (i, x) in list.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.operand(out, x, values, prefix);
                }
                out.push(')');
            }
            Expr::Call(f, args) => {
                out.push_str(f.name());
                out.push('(');
                for (i, x) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.operand(out, x, values, prefix);
                }
                out.push(')');
            }
            Expr::Plus(a, b) | Expr::Minus(a, b) => {
                self.operand(out, a, values, prefix);
                out.push_str(if matches!(e, Expr::Plus(..)) { " + " } else { " - " });
                let nested = matches!(**b, Expr::Plus(..) | Expr::Minus(..));
                if nested {
                    out.push('(');
                }
                self.operand(out, b, values, prefix);
                if nested {
                    out.push(')');
                }
            }
            Expr::Path(p) => {
                let s = self.path(p);
                out.push_str(&s);
            }
            Expr::Value(i) => {
                let ph = format!(":{prefix}{i}");
                if let Some(v) = values.get(*i) {
                    self.values.insert(ph.clone(), v.clone());
                }
                out.push_str(&ph);
            }
        }
    }

    fn operand(&mut self, out: &mut String, e: &Expr, values: &[AttributeValue], prefix: &str) {
        let parens = prec(e) < PREC_ATOM || matches!(e, Expr::Compare(..) | Expr::Between(..) | Expr::In(..));
        self.wrapped(out, e, values, prefix, parens);
    }
}
