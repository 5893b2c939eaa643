//! Types of spec values and of forward-program values, and the Rust types they become.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Str,
    /// The type of the `null` literal before it meets an optional type.
    Null,
    List(Box<Ty>),
    Opt(Box<Ty>),
    Tuple(Vec<Ty>),
    /// A generated record type (an item of `stage_params`), by Rust type name.
    Record(String),
    /// A tensor of the given rank.
    Tensor(usize),
    /// A list of tensors of the given rank (feature pyramids).
    TensorList(usize),
    /// An integer tensor of the given rank (an index buffer), for `index_select`.
    IndexTensor(usize),
}

impl Ty {
    pub fn list(t: Ty) -> Ty {
        Ty::List(Box::new(t))
    }
    pub fn opt(t: Ty) -> Ty {
        match t {
            Ty::Opt(_) => t,
            Ty::Null => Ty::Null,
            t => Ty::Opt(Box::new(t)),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    /// The Rust type this value has in generated code.
    pub fn rust(&self) -> String {
        match self {
            Ty::Int => "i64".into(),
            Ty::Float => "f64".into(),
            Ty::Bool => "bool".into(),
            Ty::Str => "String".into(),
            Ty::Null => "Option<i64>".into(),
            Ty::List(t) => format!("Vec<{}>", t.rust()),
            Ty::Opt(t) => format!("Option<{}>", t.rust()),
            Ty::Tuple(ts) => format!("({},)", ts.iter().map(Ty::rust).collect::<Vec<_>>().join(", ")),
            Ty::Record(name) => name.clone(),
            Ty::Tensor(r) => format!("Tensor<{r}>"),
            Ty::TensorList(r) => format!("Vec<Tensor<{r}>>"),
            Ty::IndexTensor(r) => format!("Tensor<{r}, burn::tensor::Int>"),
        }
    }

    /// Parses a declared type: `int`, `float`, `bool`, `str`, `list<T>`, `T?`.
    pub fn parse_decl(text: &str) -> Result<Ty, String> {
        let t = text.trim();
        if let Some(inner) = t.strip_suffix('?') {
            return Ok(Ty::opt(Ty::parse_decl(inner)?));
        }
        if let Some(inner) = t.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
            return Ok(Ty::list(Ty::parse_decl(inner)?));
        }
        match t {
            "int" => Ok(Ty::Int),
            "float" => Ok(Ty::Float),
            "bool" => Ok(Ty::Bool),
            "str" => Ok(Ty::Str),
            "tensor1" => Ok(Ty::Tensor(1)),
            "tensor2" => Ok(Ty::Tensor(2)),
            "tensor3" => Ok(Ty::Tensor(3)),
            "tensor4" => Ok(Ty::Tensor(4)),
            "list<tensor4>" => Ok(Ty::TensorList(4)),
            _ => Err(format!(
                "unknown type `{t}`; expected int, float, bool, str, list<T> or T? (optional)"
            )),
        }
    }

    /// Whether a value of type `self` may be used where `want` is expected.
    pub fn fits(&self, want: &Ty) -> bool {
        match (self, want) {
            (a, b) if a == b => true,
            (Ty::Int, Ty::Float) => true,
            (Ty::Null, Ty::Opt(_)) => true,
            (a, Ty::Opt(b)) => a.fits(b),
            (Ty::List(a), Ty::List(_)) if **a == Ty::Null => true,
            (Ty::List(a), Ty::List(b)) => a.fits(b),
            _ => false,
        }
    }

    /// The common type of two branches (ternary, list items), if any.
    pub fn unify(a: &Ty, b: &Ty) -> Option<Ty> {
        if a == b {
            return Some(a.clone());
        }
        match (a, b) {
            (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int) => Some(Ty::Float),
            (Ty::List(x), t @ Ty::List(_)) | (t @ Ty::List(_), Ty::List(x)) if **x == Ty::Null => Some(t.clone()),
            (Ty::Null, t) | (t, Ty::Null) => Some(Ty::opt(t.clone())),
            (Ty::Opt(x), y) | (y, Ty::Opt(x)) => Ty::unify(x, y).map(Ty::opt),
            (Ty::List(x), Ty::List(y)) => Ty::unify(x, y).map(Ty::list),
            _ => None,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int => write!(f, "int"),
            Ty::Float => write!(f, "float"),
            Ty::Bool => write!(f, "bool"),
            Ty::Str => write!(f, "str"),
            Ty::Null => write!(f, "null"),
            Ty::List(t) => write!(f, "list<{t}>"),
            Ty::Opt(t) => write!(f, "{t}?"),
            Ty::Tuple(ts) => {
                write!(f, "(")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{t}")?;
                }
                write!(f, ")")
            }
            Ty::Record(n) => write!(f, "{n}"),
            Ty::Tensor(r) => write!(f, "tensor{r}"),
            Ty::TensorList(r) => write!(f, "list<tensor{r}>"),
            Ty::IndexTensor(r) => write!(f, "index_tensor{r}"),
        }
    }
}

/// The forward signature of a module: its input and output tensor ranks, or rank-polymorphic
/// (the output has the rank of the input, e.g. activations, linear, dropout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    Fixed(usize, usize),
    Poly,
    /// A list of tensors of one rank in, one tensor out (dense heads over a feature pyramid).
    ListIn(usize, usize),
    /// One tensor in, a list of tensors out (an encoder returning its stages).
    ListOut(usize, usize),
    /// Several tensors of one rank in (named in the spec's signature), one tensor out.
    Multi(usize, usize, usize),
    /// A list of tensors in, a list of tensors out (pyramid to pyramid, e.g. per-level towers).
    ListMap(usize, usize),
    /// A list of tensors of one rank in, a prediction out (detection/pose heads): a tensor, a
    /// list of tensors or a record of those, as NetsPresso's heads return them.
    ListPred(usize),
    /// An integer tensor of one rank in (token ids), a float tensor out (embedding tables).
    Lookup(usize, usize),
}

impl Sig {
    /// Applies a module of this signature to a tensor of rank `r`.
    pub fn apply(self, r: usize) -> Result<usize, String> {
        match self {
            Sig::Poly => Ok(r),
            Sig::Fixed(i, o) if i == r => Ok(o),
            Sig::Fixed(i, _) => Err(format!("expects a tensor of rank {i}, got rank {r}")),
            Sig::ListIn(i, _) => Err(format!("expects a list of rank-{i} tensors, got a tensor of rank {r}")),
            Sig::ListOut(i, _) => Err(format!("expects a tensor of rank {i}, got rank {r}")),
            Sig::Multi(n, ..) => Err(format!("takes {n} tensors")),
            Sig::ListPred(i) | Sig::ListMap(i, _) => {
                Err(format!("expects a list of rank-{i} tensors, got a tensor of rank {r}"))
            }
            Sig::Lookup(i, _) => Err(format!(
                "expects token ids (an int tensor of rank {i}), got a float tensor"
            )),
        }
    }

    /// The value a module of this signature returns for a tensor of rank `r`.
    pub fn apply_ty(self, r: usize) -> Result<Ty, String> {
        match self {
            Sig::ListOut(i, o) if i == r => Ok(Ty::TensorList(o)),
            _ => self.apply(r).map(Ty::Tensor),
        }
    }

    /// The value a module of this signature returns for a list of tensors of rank `r`.
    pub fn apply_list_ty(self, r: usize) -> Result<Ty, String> {
        match self {
            Sig::ListMap(i, o) if i == r => Ok(Ty::TensorList(o)),
            Sig::ListMap(i, _) => Err(format!("expects a list of rank-{i} tensors, got rank-{r} tensors")),
            _ => self.apply_list(r).map(Ty::Tensor),
        }
    }

    /// Applies a module of this signature to a list of tensors of rank `r`.
    pub fn apply_list(self, r: usize) -> Result<usize, String> {
        match self {
            Sig::ListIn(i, o) if i == r => Ok(o),
            Sig::ListIn(i, _) => Err(format!("expects a list of rank-{i} tensors, got rank-{r} tensors")),
            _ => Err(format!(
                "expects a tensor, got a list of tensors (its signature is {self})"
            )),
        }
    }

    /// Sequential composition `self` then `next`.
    pub fn then(self, next: Sig) -> Result<Sig, String> {
        match (self, next) {
            (Sig::Multi(..), _) | (_, Sig::Multi(..)) => {
                Err("a module taking several tensors cannot be chained in a sequence or list".into())
            }
            (Sig::ListPred(..), _) | (_, Sig::ListPred(..)) => {
                Err("a module returning a prediction cannot be chained in a sequence or list".into())
            }
            (Sig::Lookup(..), _) | (_, Sig::Lookup(..)) => {
                Err("a module looking up token ids cannot be chained in a sequence or list".into())
            }
            (Sig::ListMap(..), _) | (_, Sig::ListMap(..)) => {
                Err("a module mapping lists of tensors cannot be chained in a sequence or list".into())
            }
            (_, Sig::ListIn(..)) => Err("a module taking a list of tensors must come first".into()),
            (Sig::ListOut(..), _) => Err("a module returning a list of tensors must come last".into()),
            (a, Sig::ListOut(c, d)) => match a.then(Sig::Fixed(c, c))? {
                Sig::Fixed(x, _) => Ok(Sig::ListOut(x, d)),
                _ => Err("a module returning a list of tensors must follow tensor modules".into()),
            },
            (Sig::Poly, s) | (s, Sig::Poly) => Ok(s),
            (Sig::Fixed(a, b), Sig::Fixed(c, d)) if b == c => Ok(Sig::Fixed(a, d)),
            (Sig::ListIn(a, b), Sig::Fixed(c, d)) if b == c => Ok(Sig::ListIn(a, d)),
            (Sig::ListIn(_, b), Sig::Fixed(c, _)) => Err(format!(
                "a module returning rank {b} is followed by one expecting rank {c}"
            )),
            (Sig::Fixed(_, b), Sig::Fixed(c, _)) => Err(format!(
                "a module returning rank {b} is followed by one expecting rank {c}"
            )),
        }
    }

    /// The signature shared by alternatives (enum variants).
    pub fn join(self, other: Sig) -> Result<Sig, String> {
        match (self, other) {
            (Sig::Multi(..) | Sig::ListPred(..) | Sig::ListMap(..) | Sig::Lookup(..), _)
            | (_, Sig::Multi(..) | Sig::ListPred(..) | Sig::ListMap(..) | Sig::Lookup(..))
                if self != other =>
            {
                Err(format!("alternatives have different signatures ({self} and {other})"))
            }
            (Sig::Poly, Sig::Poly) => Ok(Sig::Poly),
            (Sig::Poly, Sig::Fixed(a, b)) | (Sig::Fixed(a, b), Sig::Poly) if a == b => Ok(Sig::Fixed(a, b)),
            (x, y) if x == y => Ok(x),
            _ => Err(format!("alternatives have different signatures ({self} and {other})")),
        }
    }
}

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sig::Fixed(i, o) => write!(f, "tensor{i} -> tensor{o}"),
            Sig::Poly => write!(f, "tensorN -> tensorN"),
            Sig::ListIn(i, o) => write!(f, "list<tensor{i}> -> tensor{o}"),
            Sig::ListOut(i, o) => write!(f, "tensor{i} -> list<tensor{o}>"),
            Sig::Multi(n, i, o) => {
                let ins: Vec<String> = (0..*n).map(|_| format!("tensor{i}")).collect();
                write!(f, "({}) -> tensor{o}", ins.join(", "))
            }
            Sig::ListPred(i) => write!(f, "list<tensor{i}> -> pred"),
            Sig::ListMap(i, o) => write!(f, "list<tensor{i}> -> list<tensor{o}>"),
            Sig::Lookup(i, o) => write!(f, "index_tensor{i} -> tensor{o}"),
        }
    }
}
