//! Metric math: the expressions of GetMetricData that DAX dashboards use.
//! Arithmetic (`+ - * /`, unary minus, parentheses) between queries and
//! numbers, arrays `[m1, m2]`, `METRICS()`, `SUM`, `AVG`, `MIN`, `MAX`,
//! `RATE` and `FILL` (with a number, `REPEAT` or `LINEAR`).
//!
//! A time series is a map from timestamp to value. Between two series an
//! operator applies where both have a value; between a series and a number,
//! at every value of the series. `SUM`/`AVG`/`MIN`/`MAX` of an array give one
//! series, of a single series one number.

use std::collections::BTreeMap;

/// Longest expression CloudWatch accepts.
pub const MAX_EXPRESSION_LEN: usize = 2_048;
/// Deepest nesting the parser follows (bounds its recursion).
const MAX_DEPTH: usize = 64;

/// A time series: timestamp (epoch seconds) to value.
pub type Series = BTreeMap<i64, f64>;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    /// A query id.
    Id(String),
    /// `REPEAT` or `LINEAR`, FILL's modes.
    Keyword(String),
    Neg(Box<Expr>),
    Bin(char, Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
    Call(Func, Vec<Expr>),
}

/// The functions served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Sum,
    Avg,
    Min,
    Max,
    Rate,
    Fill,
    Metrics,
}

impl Func {
    fn of(name: &str) -> Option<Self> {
        Some(match name {
            "SUM" => Func::Sum,
            "AVG" => Func::Avg,
            "MIN" => Func::Min,
            "MAX" => Func::Max,
            "RATE" => Func::Rate,
            "FILL" => Func::Fill,
            "METRICS" => Func::Metrics,
            _ => return None,
        })
    }
}

/// The value of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Scalar(f64),
    Series(Series),
    List(Vec<Series>),
}

/// Parse an expression.
///
/// # Errors
/// A message saying what is wrong and where.
pub fn parse_expression(text: &str) -> Result<Expr, String> {
    if text.len() > MAX_EXPRESSION_LEN {
        return Err(format!("Expression is longer than {MAX_EXPRESSION_LEN} characters."));
    }
    let mut p = Parser { s: text.as_bytes(), i: 0, depth: 0 };
    let e = p.expr()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("Unexpected character at position {}.", p.i + 1));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("Expected '{}' at position {}.", char::from(c), self.i + 1))
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("Expression is nested too deeply.".to_owned());
        }
        let mut left = self.term()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            let right = self.term()?;
            left = Expr::Bin(char::from(c), Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(c @ (b'*' | b'/')) = self.peek() {
            self.i += 1;
            let right = self.unary()?;
            left = Expr::Bin(char::from(c), Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(b'-') {
            self.i += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err("Expression is nested too deeply.".to_owned());
            }
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(e)));
        }
        self.primary()
    }

    fn list(&mut self, close: u8) -> Result<Vec<Expr>, String> {
        let mut items = Vec::new();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(items);
                }
                _ => return Err(format!("Expected ',' or '{}' at position {}.", char::from(close), self.i + 1)),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let e = self.expr()?;
                self.expect(b')')?;
                Ok(e)
            }
            Some(b'[') => {
                self.i += 1;
                Ok(Expr::List(self.list(b']')?))
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
                text.parse().map(Expr::Num).map_err(|_| format!("Invalid number '{text}'."))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                    self.i += 1;
                }
                let word = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?.to_owned();
                if self.peek() == Some(b'(') {
                    let f = Func::of(&word).ok_or_else(|| format!("Unrecognized function '{word}'."))?;
                    self.i += 1;
                    return Ok(Expr::Call(f, self.list(b')')?));
                }
                match word.as_str() {
                    "REPEAT" | "LINEAR" => Ok(Expr::Keyword(word)),
                    _ if c.is_ascii_lowercase() => Ok(Expr::Id(word)),
                    _ => Err(format!("Unrecognized token '{word}'.")),
                }
            }
            Some(c) => Err(format!("Unexpected character '{}' at position {}.", char::from(c), self.i + 1)),
            None => Err("Unexpected end of expression.".to_owned()),
        }
    }
}

/// The query ids an expression names.
#[must_use]
pub fn ids(e: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Id(id) => out.push(id.clone()),
            Expr::Neg(a) => stack.push(a),
            Expr::Bin(_, a, b) => {
                stack.push(a);
                stack.push(b);
            }
            Expr::List(xs) | Expr::Call(_, xs) => stack.extend(xs),
            Expr::Num(_) | Expr::Keyword(_) => {}
        }
    }
    out
}

/// What an expression is evaluated against.
pub struct Env<'a> {
    /// The series of each query id evaluated so far.
    pub series: &'a BTreeMap<String, Series>,
    /// The ids of the MetricStat queries, in request order (`METRICS()`).
    pub metric_ids: &'a [String],
    /// Every timestamp of the result's period grid (for FILL).
    pub grid: &'a [i64],
}

/// Evaluate an expression.
///
/// # Errors
/// A message naming the unknown id or the misused function.
pub fn eval(e: &Expr, env: &Env<'_>) -> Result<Val, String> {
    Ok(match e {
        Expr::Num(n) => Val::Scalar(*n),
        Expr::Id(id) => Val::Series(env.series.get(id).cloned().ok_or_else(|| format!("Unknown metric '{id}'."))?),
        Expr::Keyword(k) => return Err(format!("'{k}' is valid only as FILL's second argument.")),
        Expr::Neg(a) => map(eval(a, env)?, |v| -v),
        Expr::Bin(op, a, b) => binary(*op, eval(a, env)?, eval(b, env)?)?,
        Expr::List(xs) => {
            let mut out = Vec::new();
            for x in xs {
                match eval(x, env)? {
                    Val::Series(s) => out.push(s),
                    Val::List(l) => out.extend(l),
                    Val::Scalar(_) => return Err("An array may hold only time series.".to_owned()),
                }
            }
            Val::List(out)
        }
        Expr::Call(f, args) => call(*f, args, env)?,
    })
}

fn map(v: Val, f: impl Fn(f64) -> f64 + Copy) -> Val {
    match v {
        Val::Scalar(x) => Val::Scalar(f(x)),
        Val::Series(s) => Val::Series(s.into_iter().map(|(t, x)| (t, f(x))).collect()),
        Val::List(l) => Val::List(l.into_iter().map(|s| s.into_iter().map(|(t, x)| (t, f(x))).collect()).collect()),
    }
}

fn apply(op: char, a: f64, b: f64) -> f64 {
    match op {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        _ => a / b,
    }
}

fn binary(op: char, a: Val, b: Val) -> Result<Val, String> {
    let pair = |x: &Series, y: &Series| -> Series {
        x.iter().filter_map(|(t, v)| y.get(t).map(|w| (*t, apply(op, *v, *w)))).collect()
    };
    Ok(match (a, b) {
        (Val::Scalar(x), Val::Scalar(y)) => Val::Scalar(apply(op, x, y)),
        (Val::Scalar(x), other) => map(other, |v| apply(op, x, v)),
        (other, Val::Scalar(y)) => map(other, |v| apply(op, v, y)),
        (Val::Series(x), Val::Series(y)) => Val::Series(pair(&x, &y)),
        (Val::List(l), Val::Series(y)) => Val::List(l.iter().map(|x| pair(x, &y)).collect()),
        (Val::Series(x), Val::List(l)) => Val::List(l.iter().map(|y| pair(&x, y)).collect()),
        (Val::List(_), Val::List(_)) => return Err("Operators between two arrays are not supported.".to_owned()),
    })
}

/// Per-timestamp reduction of an array, or a whole-series reduction of one series.
fn reduce(f: Func, v: Val) -> Result<Val, String> {
    let fold = |xs: &[f64]| -> f64 {
        #[allow(clippy::cast_precision_loss)]
        match f {
            Func::Sum => xs.iter().sum(),
            Func::Avg => xs.iter().sum::<f64>() / xs.len() as f64,
            Func::Min => xs.iter().copied().fold(f64::INFINITY, f64::min),
            _ => xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    };
    Ok(match v {
        Val::List(l) => {
            let mut at: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
            for s in &l {
                for (t, x) in s {
                    at.entry(*t).or_default().push(*x);
                }
            }
            Val::Series(at.into_iter().map(|(t, xs)| (t, fold(&xs))).collect())
        }
        Val::Series(s) => {
            let xs: Vec<f64> = s.values().copied().collect();
            if xs.is_empty() {
                Val::Series(Series::new())
            } else {
                Val::Scalar(fold(&xs))
            }
        }
        Val::Scalar(x) => Val::Scalar(x),
    })
}

fn rate(s: &Series) -> Series {
    let mut out = Series::new();
    let mut prev: Option<(i64, f64)> = None;
    for (t, v) in s {
        if let Some((pt, pv)) = prev {
            #[allow(clippy::cast_precision_loss)]
            out.insert(*t, (v - pv) / (t - pt) as f64);
        }
        prev = Some((*t, *v));
    }
    out
}

fn fill(s: &Series, how: &Expr, grid: &[i64]) -> Result<Series, String> {
    let mut out = s.clone();
    match how {
        Expr::Num(n) => {
            for t in grid {
                out.entry(*t).or_insert(*n);
            }
        }
        Expr::Neg(inner) if matches!(**inner, Expr::Num(_)) => {
            let Expr::Num(n) = **inner else { unreachable!("matched above") };
            for t in grid {
                out.entry(*t).or_insert(-n);
            }
        }
        Expr::Keyword(k) if k == "REPEAT" => {
            let mut last = None;
            for t in grid {
                match s.get(t) {
                    Some(v) => last = Some(*v),
                    None => {
                        if let Some(v) = last {
                            out.insert(*t, v);
                        }
                    }
                }
            }
        }
        Expr::Keyword(_) => {
            for t in grid {
                if s.contains_key(t) {
                    continue;
                }
                let before = s.range(..*t).next_back();
                let after = s.range(*t + 1..).next();
                if let (Some((t0, v0)), Some((t1, v1))) = (before, after) {
                    #[allow(clippy::cast_precision_loss)]
                    let frac = (*t - t0) as f64 / (t1 - t0) as f64;
                    out.insert(*t, v0 + (v1 - v0) * frac);
                }
            }
        }
        _ => return Err("FILL's second argument must be a number, REPEAT or LINEAR.".to_owned()),
    }
    Ok(out)
}

fn call(f: Func, args: &[Expr], env: &Env<'_>) -> Result<Val, String> {
    let arity = |n: usize| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("Function {f:?} takes {n} argument(s), got {}.", args.len()).to_uppercase())
        }
    };
    match f {
        Func::Metrics => {
            arity(0)?;
            let mut l = Vec::new();
            for id in env.metric_ids {
                l.push(env.series.get(id).cloned().unwrap_or_default());
            }
            Ok(Val::List(l))
        }
        Func::Sum | Func::Avg | Func::Min | Func::Max => {
            arity(1)?;
            reduce(f, eval(&args[0], env)?)
        }
        Func::Rate => {
            arity(1)?;
            Ok(match eval(&args[0], env)? {
                Val::Series(s) => Val::Series(rate(&s)),
                Val::List(l) => Val::List(l.iter().map(rate).collect()),
                Val::Scalar(_) => return Err("RATE takes a time series.".to_owned()),
            })
        }
        Func::Fill => {
            arity(2)?;
            Ok(match eval(&args[0], env)? {
                Val::Series(s) => Val::Series(fill(&s, &args[1], env.grid)?),
                Val::List(l) => Val::List(l.iter().map(|s| fill(s, &args[1], env.grid)).collect::<Result<_, _>>()?),
                Val::Scalar(_) => return Err("FILL takes a time series.".to_owned()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(points: &[(i64, f64)]) -> Series {
        points.iter().copied().collect()
    }

    fn run(text: &str) -> Result<Val, String> {
        let series: BTreeMap<String, Series> = [
            ("m1".to_owned(), s(&[(0, 1.0), (60, 2.0), (180, 4.0)])),
            ("m2".to_owned(), s(&[(0, 10.0), (60, 20.0), (120, 30.0)])),
        ]
        .into_iter()
        .collect();
        let ids = vec!["m1".to_owned(), "m2".to_owned()];
        let grid = [0, 60, 120, 180];
        eval(&parse_expression(text)?, &Env { series: &series, metric_ids: &ids, grid: &grid })
    }

    #[test]
    fn expressions_evaluate() {
        let cases: &[(&str, Val)] = &[
            ("m1 + m2", Val::Series(s(&[(0, 11.0), (60, 22.0)]))),
            ("m2 / m1 * 100", Val::Series(s(&[(0, 1000.0), (60, 1000.0)]))),
            ("-m1", Val::Series(s(&[(0, -1.0), (60, -2.0), (180, -4.0)]))),
            ("(1 + 2) * 3", Val::Scalar(9.0)),
            ("SUM([m1, m2])", Val::Series(s(&[(0, 11.0), (60, 22.0), (120, 30.0), (180, 4.0)]))),
            ("AVG(METRICS())", Val::Series(s(&[(0, 5.5), (60, 11.0), (120, 30.0), (180, 4.0)]))),
            ("MIN([m1, m2])", Val::Series(s(&[(0, 1.0), (60, 2.0), (120, 30.0), (180, 4.0)]))),
            ("MAX(m2)", Val::Scalar(30.0)),
            ("RATE(m1)", Val::Series(s(&[(60, 1.0 / 60.0), (180, 2.0 / 120.0)]))),
            ("FILL(m1, 0)", Val::Series(s(&[(0, 1.0), (60, 2.0), (120, 0.0), (180, 4.0)]))),
            ("FILL(m1, REPEAT)", Val::Series(s(&[(0, 1.0), (60, 2.0), (120, 2.0), (180, 4.0)]))),
            ("FILL(m1, LINEAR)", Val::Series(s(&[(0, 1.0), (60, 2.0), (120, 3.0), (180, 4.0)]))),
            ("FILL(m1, -1)", Val::Series(s(&[(0, 1.0), (60, 2.0), (120, -1.0), (180, 4.0)]))),
        ];
        for (text, want) in cases {
            assert_eq!(run(text).as_ref(), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in ["", "m1 +", "FOO(m1)", "m3", "SUM(m1, m2)", "FILL(m1, m2)", "(m1", "m1 $ m2", "Bad", "REPEAT"] {
            assert!(run(bad).is_err(), "{bad}");
        }
        assert!(parse_expression(&"(".repeat(100)).is_err());
        assert!(parse_expression(&"-".repeat(100)).is_err());
        assert!(parse_expression(&"m".repeat(3000)).is_err());
        assert_eq!(ids(&parse_expression("SUM([m1, m2]) / e3").unwrap()).len(), 3);
    }
}
