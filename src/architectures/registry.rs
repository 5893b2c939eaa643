//! The registry of components compiled from the specs: names, kinds, tasks, parameters and
//! presets, as data (the Rust types live in [`crate::architectures::generated`]).

use std::sync::OnceLock;
pub use zoo_spec::registry::{ComponentDesc, ParamDesc, PresetDesc, PretrainedDesc, StageDesc};

/// All components (backbones, necks, heads, full models), in spec order.
pub fn components() -> &'static [ComponentDesc] {
    static REGISTRY: OnceLock<Vec<ComponentDesc>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        serde_json::from_str(crate::architectures::generated::REGISTRY_JSON)
            .expect("the build script wrote a valid registry")
    })
}

/// The component of a kind (`backbone`, `neck`, `head`, `full`) with a name.
pub fn find(kind: &str, name: &str) -> Option<&'static ComponentDesc> {
    components().iter().find(|c| c.kind == kind && c.name == name)
}

/// Names of the components of a kind.
pub fn names(kind: &str) -> Vec<&'static str> {
    components()
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.name.as_str())
        .collect()
}

/// A preset (a complete NetsPresso model config) by name, with the component declaring it.
pub fn preset(name: &str) -> Option<(&'static ComponentDesc, &'static PresetDesc)> {
    components()
        .iter()
        .find_map(|c| c.presets.iter().find(|p| p.name == name).map(|p| (c, p)))
}

/// A preset by name for a task (names repeat across tasks: `resnet50` classifies and embeds).
pub fn preset_for_task(name: &str, task: Option<&str>) -> Option<(&'static ComponentDesc, &'static PresetDesc)> {
    let Some(task) = task else { return preset(name) };
    components().iter().find_map(|c| {
        c.presets
            .iter()
            .find(|p| p.name == name && p.body.get("task").and_then(|t| t.as_str()) == Some(task))
            .map(|p| (c, p))
    })
}

/// Every preset name.
pub fn preset_names() -> Vec<&'static str> {
    components()
        .iter()
        .flat_map(|c| c.presets.iter().map(|p| p.name.as_str()))
        .collect()
}

/// The pretrained file registered for a model name (`model.name`), if any.
pub fn pretrained(name: &str) -> Option<PretrainedDesc> {
    components()
        .iter()
        .find_map(|c| c.pretrained.iter().find(|(n, _)| n == name).map(|(_, p)| p.clone()))
}
