//! Metric math, the `Expression` of a GetMetricData query: a parser and an evaluator for
//! numbers, query ids, `+ - * /` (a scalar broadcast over a series; two series meet at
//! the timestamps both have), parentheses, `SUM`, `AVG`, `MIN`, `MAX` of a series (a
//! scalar) or of an array `[m1, m2]` (a series of the values at each timestamp),
//! `METRICS()` and `METRICS("filter")`. Any other function is refused by name.

use std::collections::BTreeMap;

/// A series: values by timestamp (ms).
pub type Series = BTreeMap<i64, f64>;

/// An expression's parse or evaluation failure, said to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError(msg.into()))
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Str(String),
    /// Another query's `Id`.
    Ref(String),
    Neg(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
    Array(Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A value of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum MathValue {
    Scalar(f64),
    Series(Series),
    Array(Vec<Series>),
}

/// What an expression reads: the other queries' results.
pub trait Env {
    /// The value of the query `id` (unknown ids are an error).
    fn query(&mut self, id: &str) -> Result<MathValue, ExprError>;
    /// The series of the request's metric queries (`MetricStat`), in request order,
    /// those whose `Id` contains `filter` where given.
    fn metrics(&mut self, filter: Option<&str>) -> Result<Vec<Series>, ExprError>;
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Ident(String),
    Str(String),
    Sym(char),
}

fn tokenize(src: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                i += 1;
                if i < chars.len() && (chars[i] == '+' || chars[i] == '-') {
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text: String = chars[start..i].iter().collect();
            match text.parse() {
                Ok(n) => out.push(Token::Num(n)),
                Err(_) => return err(format!("Invalid number {text}")),
            }
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return err("Unterminated string"),
                    Some('"') => break,
                    Some('\\') if chars.get(i + 1).is_some() => {
                        s.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(c) => {
                        s.push(*c);
                        i += 1;
                    }
                }
            }
            i += 1;
            out.push(Token::Str(s));
        } else if "+-*/()[],".contains(c) {
            out.push(Token::Sym(c));
            i += 1;
        } else {
            return err(format!("Unexpected character {c}"));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

/// Nesting beyond this is refused (the expression is at most 2,048 characters, but
/// recursion must not be the caller's to choose).
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Sym(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if depth > MAX_DEPTH {
            return err("Expression nested too deeply");
        }
        let mut left = self.term(depth)?;
        loop {
            let op = if self.eat('+') {
                Op::Add
            } else if self.eat('-') {
                Op::Sub
            } else {
                return Ok(left);
            };
            let right = self.term(depth)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn term(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut left = self.unary(depth)?;
        loop {
            let op = if self.eat('*') {
                Op::Mul
            } else if self.eat('/') {
                Op::Div
            } else {
                return Ok(left);
            };
            let right = self.unary(depth)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if self.eat('-') {
            if depth > MAX_DEPTH {
                return err("Expression nested too deeply");
            }
            return Ok(Expr::Neg(Box::new(self.unary(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn list(&mut self, close: char, depth: usize) -> Result<Vec<Expr>, ExprError> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr(depth + 1)?);
            if self.eat(close) {
                return Ok(items);
            }
            if !self.eat(',') {
                return err(format!("Expected , or {close}"));
            }
        }
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let Some(t) = self.peek().cloned() else {
            return err("Unexpected end of expression");
        };
        self.at += 1;
        match t {
            Token::Num(n) => Ok(Expr::Number(n)),
            Token::Str(s) => Ok(Expr::Str(s)),
            Token::Ident(name) => {
                if self.eat('(') {
                    Ok(Expr::Call(name, self.list(')', depth)?))
                } else {
                    Ok(Expr::Ref(name))
                }
            }
            Token::Sym('(') => {
                let e = self.expr(depth + 1)?;
                if !self.eat(')') {
                    return err("Expected )");
                }
                Ok(e)
            }
            Token::Sym('[') => Ok(Expr::Array(self.list(']', depth)?)),
            Token::Sym(c) => err(format!("Unexpected {c}")),
        }
    }
}

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    let mut p = Parser {
        tokens: tokenize(src)?,
        at: 0,
    };
    let e = p.expr(0)?;
    if p.at != p.tokens.len() {
        return err("Unexpected input after the expression");
    }
    Ok(e)
}

/// The query ids `e` names (to order and check evaluation).
pub fn references(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Ref(id) => out.push(id.clone()),
        Expr::Neg(a) => references(a, out),
        Expr::Binary(_, a, b) => {
            references(a, out);
            references(b, out);
        }
        Expr::Call(_, args) | Expr::Array(args) => args.iter().for_each(|a| references(a, out)),
        Expr::Number(_) | Expr::Str(_) => {}
    }
}

fn apply(op: Op, a: f64, b: f64) -> Option<f64> {
    let v = match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
    };
    // A division by zero gives no value at that timestamp (UNSURE: AWS's exact
    // treatment of infinities in metric math is not documented in the model).
    v.is_finite().then_some(v)
}

fn map_series(s: &Series, f: impl Fn(f64) -> Option<f64>) -> Series {
    s.iter()
        .filter_map(|(t, v)| f(*v).map(|r| (*t, r)))
        .collect()
}

fn binary(op: Op, a: MathValue, b: MathValue) -> Result<MathValue, ExprError> {
    use MathValue::*;
    Ok(match (a, b) {
        (Scalar(x), Scalar(y)) => match apply(op, x, y) {
            Some(v) => Scalar(v),
            None => Series(BTreeMap::new()),
        },
        (Series(s), Scalar(y)) => Series(map_series(&s, |x| apply(op, x, y))),
        (Scalar(x), Series(s)) => Series(map_series(&s, |y| apply(op, x, y))),
        (Series(s), Series(t)) => Series(
            s.iter()
                .filter_map(|(ts, x)| t.get(ts).and_then(|y| apply(op, *x, *y)).map(|v| (*ts, v)))
                .collect(),
        ),
        (Array(items), other) => Array(
            items
                .into_iter()
                .map(|s| match binary(op, Series(s), other.clone())? {
                    Series(r) => Ok(r),
                    _ => err("Arrays cannot be combined with arrays"),
                })
                .collect::<Result<_, _>>()?,
        ),
        (other, Array(items)) => Array(
            items
                .into_iter()
                .map(|s| match binary(op, other.clone(), Series(s))? {
                    Series(r) => Ok(r),
                    _ => err("Arrays cannot be combined with arrays"),
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn aggregate(name: &str, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match name {
        "SUM" => values.iter().sum(),
        "AVG" => values.iter().sum::<f64>() / values.len() as f64,
        "MIN" => values.iter().copied().fold(f64::INFINITY, f64::min),
        _ => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// Evaluates `e` in `env`.
pub fn eval(e: &Expr, env: &mut dyn Env) -> Result<MathValue, ExprError> {
    match e {
        Expr::Number(n) => Ok(MathValue::Scalar(*n)),
        Expr::Str(_) => err("A string is only an argument of METRICS"),
        Expr::Ref(id) => env.query(id),
        Expr::Neg(a) => binary(Op::Mul, MathValue::Scalar(-1.0), eval(a, env)?),
        Expr::Binary(op, a, b) => {
            let a = eval(a, env)?;
            binary(*op, a, eval(b, env)?)
        }
        Expr::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match eval(item, env)? {
                    MathValue::Series(s) => out.push(s),
                    MathValue::Array(a) => out.extend(a),
                    MathValue::Scalar(_) => return err("An array holds time series, not numbers"),
                }
            }
            Ok(MathValue::Array(out))
        }
        Expr::Call(name, args) => call(name, args, env),
    }
}

fn call(name: &str, args: &[Expr], env: &mut dyn Env) -> Result<MathValue, ExprError> {
    match name {
        "METRICS" => {
            let filter = match args {
                [] => None,
                [Expr::Str(s)] => Some(s.as_str()),
                _ => return err("METRICS takes no argument or one string"),
            };
            Ok(MathValue::Array(env.metrics(filter)?))
        }
        "SUM" | "AVG" | "MIN" | "MAX" => {
            let [arg] = args else {
                return err(format!("{name} takes one argument"));
            };
            Ok(match eval(arg, env)? {
                MathValue::Scalar(v) => MathValue::Scalar(v),
                MathValue::Series(s) => {
                    let values: Vec<f64> = s.values().copied().collect();
                    match aggregate(name, &values) {
                        Some(v) => MathValue::Scalar(v),
                        None => MathValue::Series(Series::new()),
                    }
                }
                MathValue::Array(items) => {
                    let mut at: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                    for s in &items {
                        for (t, v) in s {
                            at.entry(*t).or_default().push(*v);
                        }
                    }
                    MathValue::Series(
                        at.into_iter()
                            .filter_map(|(t, vs)| aggregate(name, &vs).map(|v| (t, v)))
                            .collect(),
                    )
                }
            })
        }
        // UNSURE: AWS's exact message for an unknown function.
        _ => err(format!(
            "Unknown function {name}: Hearth's metric math has SUM, AVG, MIN, MAX and METRICS"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestEnv(Vec<(&'static str, Series)>);

    impl Env for TestEnv {
        fn query(&mut self, id: &str) -> Result<MathValue, ExprError> {
            self.0
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, s)| MathValue::Series(s.clone()))
                .ok_or_else(|| ExprError(format!("Unknown id {id}")))
        }

        fn metrics(&mut self, filter: Option<&str>) -> Result<Vec<Series>, ExprError> {
            Ok(self
                .0
                .iter()
                .filter(|(i, _)| filter.is_none_or(|f| i.contains(f)))
                .map(|(_, s)| s.clone())
                .collect())
        }
    }

    fn series(points: &[(i64, f64)]) -> Series {
        points.iter().copied().collect()
    }

    fn env() -> TestEnv {
        TestEnv(vec![
            ("errors", series(&[(0, 1.0), (60, 2.0), (120, 3.0)])),
            ("requests", series(&[(0, 10.0), (60, 20.0)])),
        ])
    }

    fn run(src: &str) -> Result<MathValue, ExprError> {
        eval(&parse(src)?, &mut env())
    }

    #[test]
    fn arithmetic_follows_precedence_and_broadcasts() {
        assert_eq!(run("1 + 2 * 3"), Ok(MathValue::Scalar(7.0)));
        assert_eq!(run("(1 + 2) * -3"), Ok(MathValue::Scalar(-9.0)));
        assert_eq!(
            run("100 * errors / requests"),
            Ok(MathValue::Series(series(&[(0, 10.0), (60, 10.0)])))
        );
        assert_eq!(
            run("errors - 1"),
            Ok(MathValue::Series(series(&[
                (0, 0.0),
                (60, 1.0),
                (120, 2.0)
            ])))
        );
        assert_eq!(run("errors / 0"), Ok(MathValue::Series(Series::new())));
    }

    #[test]
    fn functions_of_series_and_arrays() {
        assert_eq!(run("SUM(errors)"), Ok(MathValue::Scalar(6.0)));
        assert_eq!(run("AVG(errors)"), Ok(MathValue::Scalar(2.0)));
        assert_eq!(
            run("SUM([errors, requests])"),
            Ok(MathValue::Series(series(&[
                (0, 11.0),
                (60, 22.0),
                (120, 3.0)
            ])))
        );
        assert_eq!(
            run("MAX(METRICS())"),
            Ok(MathValue::Series(series(&[
                (0, 10.0),
                (60, 20.0),
                (120, 3.0)
            ])))
        );
        assert_eq!(
            run("MIN(METRICS(\"err\"))"),
            Ok(MathValue::Series(series(&[
                (0, 1.0),
                (60, 2.0),
                (120, 3.0)
            ])))
        );
        assert_eq!(
            run("METRICS() * 2"),
            Ok(MathValue::Array(vec![
                series(&[(0, 2.0), (60, 4.0), (120, 6.0)]),
                series(&[(0, 20.0), (60, 40.0)]),
            ]))
        );
    }

    #[test]
    fn bad_expressions_are_refused_with_a_reason() {
        assert_eq!(
            run("FOO(errors)"),
            Err(ExprError(
                "Unknown function FOO: Hearth's metric math has SUM, AVG, MIN, MAX and METRICS"
                    .into()
            ))
        );
        assert_eq!(
            run("1 +"),
            Err(ExprError("Unexpected end of expression".into()))
        );
        assert_eq!(run("(1"), Err(ExprError("Expected )".into())));
        assert_eq!(
            run("1 ^ 2"),
            Err(ExprError("Unexpected character ^".into()))
        );
        assert_eq!(run("nope"), Err(ExprError("Unknown id nope".into())));
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(
            run(&deep),
            Err(ExprError("Expression nested too deeply".into()))
        );
    }
}
