//! The expression language of specs: lexer, AST and a Pratt parser.
//!
//! Expressions appear in `let`, child arguments, conditions, loops, outputs and the `forward`
//! program. The syntax is a small, Python-flavoured language:
//! `a + b`, `a // b`, `c ? x : y`, `x ?? default`, `a and not b`, `xs[i]`, `xs[1:]`, `s.field`,
//! `f(x, dim=1)`, `[e for x in xs if cond]`, `'text'`, `null`, `true`.
//! Offsets are byte offsets into the expression text; callers map them onto file positions.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    Sym(&'static str),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// An error inside an expression, at a byte range of its text.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

const SYMBOLS: &[&str] = &[
    "??", "==", "!=", "<=", ">=", "//", "**", "(", ")", "[", "]", "{", "}", ",", ":", ".", "+", "-", "*", "/", "%",
    "<", ">", "?", "=",
];

pub fn lex(text: &str) -> Result<Vec<Token>, ExprError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
            let mut is_float = false;
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                is_float = true;
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                let mut j = i + 1;
                if j < bytes.len() && (bytes[j] == b'-' || bytes[j] == b'+') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    is_float = true;
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let s: String = text[start..i].chars().filter(|c| *c != '_').collect();
            let tok = if is_float {
                Tok::Float(s.parse().map_err(|_| err("bad number", start, i))?)
            } else {
                Tok::Int(s.parse().map_err(|_| err("integer out of range", start, i))?)
            };
            out.push(Token { tok, start, end: i });
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(text[start..i].to_string()),
                start,
                end: i,
            });
            continue;
        }
        if c == '\'' || c == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                if i >= bytes.len() {
                    return Err(err("unterminated string", start, i));
                }
                let ch = text[i..].chars().next().unwrap();
                if ch == c {
                    i += 1;
                    break;
                }
                s.push(ch);
                i += ch.len_utf8();
            }
            out.push(Token {
                tok: Tok::Str(s),
                start,
                end: i,
            });
            continue;
        }
        let Some(sym) = SYMBOLS.iter().find(|s| text[i..].starts_with(**s)) else {
            return Err(err(&format!("unexpected character `{c}`"), i, i + c.len_utf8()));
        };
        i += sym.len();
        out.push(Token {
            tok: Tok::Sym(sym),
            start,
            end: i,
        });
    }
    Ok(out)
}

fn err(message: &str, start: usize, end: usize) -> ExprError {
    ExprError {
        message: message.to_string(),
        start,
        end,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    In,
    Coalesce,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::In => "in",
            BinOp::Coalesce => "??",
        }
    }
}

/// One subscript of an index expression: `x[i]`, `x[a:b]`, `x[:, 0]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Subscript {
    Index(Expr),
    /// `lo:hi` or `lo:hi:step`.
    Slice(Option<Expr>, Option<Expr>, Option<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<String>,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
    Name(String),
    List(Vec<Expr>),
    /// `{name: expr, ...}`: named outputs of a forward program.
    Record(Vec<(String, Expr)>),
    Unary(&'static str, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(Box<Expr>, Vec<Arg>),
    Index(Box<Expr>, Vec<Subscript>),
    Field(Box<Expr>, String),
    /// `[elem for var in iter if cond]`
    Comprehension {
        elem: Box<Expr>,
        vars: Vec<String>,
        iter: Box<Expr>,
        cond: Option<Box<Expr>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub start: usize,
    pub end: usize,
}

struct P<'a> {
    toks: &'a [Token],
    i: usize,
    len: usize,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }
    fn at_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }
    fn at_kw(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(x)) if x == s)
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|t| t.start).unwrap_or(self.len)
    }
    fn prev_end(&self) -> usize {
        if self.i == 0 { 0 } else { self.toks[self.i - 1].end }
    }
    fn expect_sym(&mut self, s: &str) -> Result<(), ExprError> {
        if self.at_sym(s) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("expected `{s}`")))
        }
    }
    fn unexpected(&self, what: &str) -> ExprError {
        match self.toks.get(self.i) {
            Some(t) => err(&format!("{what}, found {}", describe(&t.tok)), t.start, t.end),
            None => err(&format!("{what}, found the end of the expression"), self.len, self.len),
        }
    }
    /// `for VARS in EXPR` (at `for`), of comprehensions and loop statements.
    fn loop_head(&mut self) -> Result<(Vec<String>, Expr), ExprError> {
        self.i += 1;
        let mut vars = vec![self.ident()?];
        while self.at_sym(",") {
            self.i += 1;
            vars.push(self.ident()?);
        }
        if !self.at_kw("in") {
            return Err(self.unexpected("expected `in`"));
        }
        self.i += 1;
        Ok((vars, self.coalesce()?))
    }

    fn ident(&mut self) -> Result<String, ExprError> {
        match self.peek() {
            Some(Tok::Ident(s)) if !is_keyword(s) => {
                let s = s.clone();
                self.i += 1;
                Ok(s)
            }
            _ => Err(self.unexpected("expected a name")),
        }
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        let start = self.pos();
        let cond = self.coalesce()?;
        if self.at_sym("?") {
            self.i += 1;
            let a = self.expr()?;
            self.expect_sym(":")?;
            let b = self.expr()?;
            let end = b.end;
            return Ok(Expr {
                kind: ExprKind::Ternary(Box::new(cond), Box::new(a), Box::new(b)),
                start,
                end,
            });
        }
        Ok(cond)
    }

    fn binary_level(
        &mut self,
        ops: &[(&str, BinOp)],
        next: fn(&mut Self) -> Result<Expr, ExprError>,
    ) -> Result<Expr, ExprError> {
        let mut lhs = next(self)?;
        'outer: loop {
            for (sym, op) in ops {
                let hit = if sym.chars().all(|c| c.is_ascii_alphabetic()) {
                    self.at_kw(sym)
                } else {
                    self.at_sym(sym)
                };
                if hit {
                    self.i += 1;
                    let rhs = next(self)?;
                    let (start, end) = (lhs.start, rhs.end);
                    lhs = Expr {
                        kind: ExprKind::Binary(*op, Box::new(lhs), Box::new(rhs)),
                        start,
                        end,
                    };
                    continue 'outer;
                }
            }
            return Ok(lhs);
        }
    }

    fn coalesce(&mut self) -> Result<Expr, ExprError> {
        self.binary_level(&[("??", BinOp::Coalesce)], Self::or)
    }
    fn or(&mut self) -> Result<Expr, ExprError> {
        self.binary_level(&[("or", BinOp::Or)], Self::and)
    }
    fn and(&mut self) -> Result<Expr, ExprError> {
        self.binary_level(&[("and", BinOp::And)], Self::not)
    }
    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.at_kw("not") {
            let start = self.pos();
            self.i += 1;
            let e = self.not()?;
            let end = e.end;
            return Ok(Expr {
                kind: ExprKind::Unary("not", Box::new(e)),
                start,
                end,
            });
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, ExprError> {
        let lhs = self.add()?;
        let ops = [
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ];
        for (sym, op) in ops {
            if self.at_sym(sym) {
                self.i += 1;
                let rhs = self.add()?;
                let (start, end) = (lhs.start, rhs.end);
                return Ok(Expr {
                    kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                    start,
                    end,
                });
            }
        }
        if self.at_kw("in") {
            self.i += 1;
            let rhs = self.add()?;
            let (start, end) = (lhs.start, rhs.end);
            return Ok(Expr {
                kind: ExprKind::Binary(BinOp::In, Box::new(lhs), Box::new(rhs)),
                start,
                end,
            });
        }
        Ok(lhs)
    }
    fn add(&mut self) -> Result<Expr, ExprError> {
        self.binary_level(&[("+", BinOp::Add), ("-", BinOp::Sub)], Self::mul)
    }
    fn mul(&mut self) -> Result<Expr, ExprError> {
        self.binary_level(
            &[
                ("*", BinOp::Mul),
                ("//", BinOp::FloorDiv),
                ("/", BinOp::Div),
                ("%", BinOp::Mod),
            ],
            Self::unary,
        )
    }
    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.at_sym("-") {
            let start = self.pos();
            self.i += 1;
            let e = self.unary()?;
            let end = e.end;
            return Ok(Expr {
                kind: ExprKind::Unary("-", Box::new(e)),
                start,
                end,
            });
        }
        self.power()
    }
    fn power(&mut self) -> Result<Expr, ExprError> {
        let base = self.postfix()?;
        if self.at_sym("**") {
            self.i += 1;
            let exp = self.unary()?;
            let (start, end) = (base.start, exp.end);
            return Ok(Expr {
                kind: ExprKind::Binary(BinOp::Pow, Box::new(base), Box::new(exp)),
                start,
                end,
            });
        }
        Ok(base)
    }
    fn postfix(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.primary()?;
        loop {
            let start = e.start;
            if self.at_sym("(") {
                self.i += 1;
                let mut args = Vec::new();
                while !self.at_sym(")") {
                    let name = match (self.toks.get(self.i), self.toks.get(self.i + 1)) {
                        (Some(Token { tok: Tok::Ident(n), .. }), Some(Token { tok: Tok::Sym("="), .. })) => {
                            let n = n.clone();
                            self.i += 2;
                            Some(n)
                        }
                        _ => None,
                    };
                    let value = self.expr()?;
                    args.push(Arg { name, value });
                    if !self.at_sym(")") {
                        self.expect_sym(",")?;
                    }
                }
                self.i += 1;
                e = Expr {
                    kind: ExprKind::Call(Box::new(e), args),
                    start,
                    end: self.prev_end(),
                };
            } else if self.at_sym("[") {
                self.i += 1;
                let mut subs = Vec::new();
                loop {
                    let lo = if self.at_sym(":") || self.at_sym(",") || self.at_sym("]") {
                        None
                    } else {
                        Some(self.expr()?)
                    };
                    if self.at_sym(":") {
                        self.i += 1;
                        let hi = if self.at_sym(",") || self.at_sym("]") || self.at_sym(":") {
                            None
                        } else {
                            Some(self.expr()?)
                        };
                        let step = if self.at_sym(":") {
                            self.i += 1;
                            if self.at_sym(",") || self.at_sym("]") {
                                None
                            } else {
                                Some(self.expr()?)
                            }
                        } else {
                            None
                        };
                        subs.push(Subscript::Slice(lo, hi, step));
                    } else {
                        match lo {
                            Some(x) => subs.push(Subscript::Index(x)),
                            None => return Err(self.unexpected("expected an index")),
                        }
                    }
                    if self.at_sym(",") {
                        self.i += 1;
                        continue;
                    }
                    self.expect_sym("]")?;
                    break;
                }
                e = Expr {
                    kind: ExprKind::Index(Box::new(e), subs),
                    start,
                    end: self.prev_end(),
                };
            } else if self.at_sym(".") {
                self.i += 1;
                let field = match self.peek() {
                    Some(Tok::Ident(s)) => s.clone(),
                    Some(Tok::Int(n)) => n.to_string(),
                    _ => return Err(self.unexpected("expected a field name")),
                };
                self.i += 1;
                e = Expr {
                    kind: ExprKind::Field(Box::new(e), field),
                    start,
                    end: self.prev_end(),
                };
            } else {
                return Ok(e);
            }
        }
    }
    fn primary(&mut self) -> Result<Expr, ExprError> {
        let Some(t) = self.toks.get(self.i).cloned() else {
            return Err(self.unexpected("expected an expression"));
        };
        let (start, end) = (t.start, t.end);
        let mk = |kind| Ok(Expr { kind, start, end });
        match t.tok {
            Tok::Int(i) => {
                self.i += 1;
                mk(ExprKind::Int(i))
            }
            Tok::Float(f) => {
                self.i += 1;
                mk(ExprKind::Float(f))
            }
            Tok::Str(s) => {
                self.i += 1;
                mk(ExprKind::Str(s))
            }
            Tok::Ident(name) => {
                self.i += 1;
                match name.as_str() {
                    "true" => mk(ExprKind::Bool(true)),
                    "false" => mk(ExprKind::Bool(false)),
                    "null" => mk(ExprKind::Null),
                    kw if is_keyword(kw) => {
                        self.i -= 1;
                        Err(self.unexpected("expected an expression"))
                    }
                    _ => mk(ExprKind::Name(name)),
                }
            }
            Tok::Sym("(") => {
                self.i += 1;
                let mut e = self.expr()?;
                self.expect_sym(")")?;
                e.start = start;
                e.end = self.prev_end();
                Ok(e)
            }
            Tok::Sym("[") => {
                self.i += 1;
                if self.at_sym("]") {
                    self.i += 1;
                    return Ok(Expr {
                        kind: ExprKind::List(vec![]),
                        start,
                        end: self.prev_end(),
                    });
                }
                let first = self.expr()?;
                if self.at_kw("for") {
                    let (vars, iter) = self.loop_head()?;
                    let cond = if self.at_kw("if") {
                        self.i += 1;
                        Some(Box::new(self.coalesce()?))
                    } else {
                        None
                    };
                    self.expect_sym("]")?;
                    return Ok(Expr {
                        kind: ExprKind::Comprehension {
                            elem: Box::new(first),
                            vars,
                            iter: Box::new(iter),
                            cond,
                        },
                        start,
                        end: self.prev_end(),
                    });
                }
                let mut items = vec![first];
                while self.at_sym(",") {
                    self.i += 1;
                    if self.at_sym("]") {
                        break;
                    }
                    items.push(self.expr()?);
                }
                self.expect_sym("]")?;
                Ok(Expr {
                    kind: ExprKind::List(items),
                    start,
                    end: self.prev_end(),
                })
            }
            Tok::Sym("{") => {
                self.i += 1;
                let mut fields = Vec::new();
                while !self.at_sym("}") {
                    let name = self.ident()?;
                    self.expect_sym(":")?;
                    fields.push((name, self.expr()?));
                    if !self.at_sym("}") {
                        self.expect_sym(",")?;
                    }
                }
                self.i += 1;
                Ok(Expr {
                    kind: ExprKind::Record(fields),
                    start,
                    end: self.prev_end(),
                })
            }
            _ => Err(self.unexpected("expected an expression")),
        }
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "and" | "or" | "not" | "in" | "for" | "if" | "true" | "false" | "null"
    )
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(i) => format!("`{i}`"),
        Tok::Float(f) => format!("`{f}`"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Sym(s) => format!("`{s}`"),
    }
}

/// Parses a complete expression.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    let toks = lex(text)?;
    let mut p = P {
        toks: &toks,
        i: 0,
        len: text.len(),
    };
    let e = p.expr()?;
    if p.i < toks.len() {
        return Err(p.unexpected("expected the end of the expression"));
    }
    Ok(e)
}

/// A statement of a forward program: `name = expr`, `a, b = expr`, `return expr`, or the
/// header of a loop `for i in expr:` whose body is the next `body` statements (the lines
/// indented under it).
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Assign {
        targets: Vec<(String, usize, usize)>,
        value: Expr,
    },
    Return(Expr),
    For {
        vars: Vec<String>,
        iter: Expr,
        body: usize,
    },
}

/// Parses one statement line.
pub fn parse_stmt(text: &str) -> Result<Stmt, ExprError> {
    let toks = lex(text)?;
    let mut p = P {
        toks: &toks,
        i: 0,
        len: text.len(),
    };
    let stmt = if p.at_kw("return") {
        p.i += 1;
        Stmt::Return(p.expr()?)
    } else if p.at_kw("for") {
        let (vars, iter) = p.loop_head()?;
        p.expect_sym(":")?;
        Stmt::For { vars, iter, body: 0 }
    } else {
        let mut targets = Vec::new();
        loop {
            let start = p.pos();
            let name = p.ident()?;
            targets.push((name, start, p.prev_end()));
            if p.at_sym(",") {
                p.i += 1;
                continue;
            }
            break;
        }
        p.expect_sym("=")?;
        Stmt::Assign {
            targets,
            value: p.expr()?,
        }
    };
    if p.i < toks.len() {
        return Err(p.unexpected("expected the end of the statement"));
    }
    Ok(stmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let e = parse("a + b * 2 == 7 ? x : y ?? 3").unwrap();
        let ExprKind::Ternary(c, _, alt) = e.kind else { panic!() };
        assert!(matches!(c.kind, ExprKind::Binary(BinOp::Eq, _, _)));
        assert!(matches!(alt.kind, ExprKind::Binary(BinOp::Coalesce, _, _)));
    }

    #[test]
    fn comprehension_and_slices() {
        let e = parse("[s.channels * 4 for i, s in stage_params[1:] if i > 0]").unwrap();
        assert!(matches!(e.kind, ExprKind::Comprehension { .. }));
        let e = parse("x[:, 0]").unwrap();
        let ExprKind::Index(_, subs) = e.kind else { panic!() };
        assert_eq!(subs.len(), 2);
    }

    #[test]
    fn errors_have_offsets() {
        let e = parse("a + * b").unwrap_err();
        assert_eq!((e.start, e.end), (4, 5));
        let e = parse("f(x").unwrap_err();
        assert!(e.message.contains("end of the expression"), "{}", e.message);
    }

    #[test]
    fn statements() {
        let s = parse_stmt("x = conv1(input)").unwrap();
        assert!(matches!(s, Stmt::Assign { .. }));
        let s = parse_stmt("return {last_feature: x}").unwrap();
        assert!(matches!(s, Stmt::Return(_)));
    }
}
