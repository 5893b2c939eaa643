//! NetsPresso's other five configuration files (data, augmentation, training, logging,
//! environment): their JSON Schemas, the located check of a document against them, and the
//! checks that need several files at once.

pub mod cross;
pub mod schemas;
mod walk;

use super::validate::Cx;
use zoo_spec::yaml::Node;

/// The section keys besides `model`, in NetsPresso's merge order.
pub const SECTIONS: [&str; 5] = ["data", "augmentation", "training", "logging", "environment"];

/// Checks the `key:` section of `root` against its schema, plus the rules a schema cannot say.
pub fn check_section(cx: &mut Cx, root: &Node, key: &str) {
    let Some((k, section)) = root.get_entry(key) else {
        return;
    };
    let schema = match key {
        "data" => schemas::data(),
        "augmentation" => schemas::augmentation(),
        "training" => schemas::training(),
        "logging" => schemas::logging(),
        "environment" => schemas::environment(),
        _ => return,
    };
    let body = &schema["properties"][key];
    if section.is_null() {
        cx.error(k.span, key, format!("`{key}` is empty; it needs its settings"));
        return;
    }
    walk::check(cx, section, body, &schema, key);
    cross::within(cx, section, key);
}
