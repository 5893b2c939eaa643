//! Optional recording of module calls during a forward pass, for `zoo build`'s layer summary.
//!
//! Generated forward code wraps every child call in [`call`]. When no trace is active this is a
//! plain call; inside [`record`] each call appends its nesting depth, name and output shape.

use std::cell::RefCell;

/// One recorded module call.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub depth: usize,
    pub path: String,
    pub shape: Vec<usize>,
    /// Wall time of the call, the modules inside included.
    pub seconds: f64,
}

struct State {
    stack: Vec<String>,
    entries: Vec<Entry>,
    max_depth: usize,
}

thread_local! {
    static TRACE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Anything whose shape can be recorded.
pub trait Shaped {
    fn shape_of(&self) -> Vec<usize>;
}

impl<const D: usize> Shaped for burn::tensor::Tensor<D> {
    fn shape_of(&self) -> Vec<usize> {
        self.dims().to_vec()
    }
}

impl<const D: usize> Shaped for Vec<burn::tensor::Tensor<D>> {
    fn shape_of(&self) -> Vec<usize> {
        self.last().map(|t| t.dims().to_vec()).unwrap_or_default()
    }
}

impl Shaped for crate::rt::BackboneOutput {
    fn shape_of(&self) -> Vec<usize> {
        match &self.last_feature {
            Some(t) => t.dims().to_vec(),
            None => self
                .intermediate_features
                .last()
                .map(|t| t.dims().to_vec())
                .unwrap_or_default(),
        }
    }
}

impl Shaped for crate::rt::Pred {
    fn shape_of(&self) -> Vec<usize> {
        self.dims()
    }
}

/// Calls `f` as the element `index` of a list module.
pub fn call_at<T: Shaped>(index: usize, f: impl FnOnce() -> T) -> T {
    if TRACE.with(|t| t.borrow().is_none()) {
        return f();
    }
    call(&index.to_string(), f)
}

/// Calls `f` as the module `name`, recording it when a trace is active.
pub fn call<T: Shaped>(name: &str, f: impl FnOnce() -> T) -> T {
    let active = TRACE.with(|t| {
        let mut t = t.borrow_mut();
        match t.as_mut() {
            Some(s) if s.stack.len() < s.max_depth => {
                s.stack.push(name.to_string());
                true
            }
            _ => false,
        }
    });
    if !active {
        return f();
    }
    let slot = TRACE.with(|t| {
        let mut t = t.borrow_mut();
        let s = t.as_mut().unwrap();
        let depth = s.stack.len() - 1;
        s.entries.push(Entry {
            depth,
            path: s.stack.join("."),
            shape: Vec::new(),
            seconds: 0.0,
        });
        s.entries.len() - 1
    });
    let start = std::time::Instant::now();
    let out = f();
    let seconds = start.elapsed().as_secs_f64();
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        let s = t.as_mut().unwrap();
        s.entries[slot].shape = out.shape_of();
        s.entries[slot].seconds = seconds;
        s.stack.pop();
    });
    out
}

/// Runs `f` with tracing on (calls nested deeper than `max_depth` are not recorded).
pub fn record<R>(max_depth: usize, f: impl FnOnce() -> R) -> (R, Vec<Entry>) {
    TRACE.with(|t| {
        *t.borrow_mut() = Some(State {
            stack: Vec::new(),
            entries: Vec::new(),
            max_depth,
        })
    });
    let r = f();
    let entries = TRACE.with(|t| t.borrow_mut().take().map(|s| s.entries).unwrap_or_default());
    (r, entries)
}
