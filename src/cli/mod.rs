//! The `zoo` command line.

mod bench;
mod build;
mod catalogue;
mod embed;
pub(crate) mod emit;
mod evaluate;
pub mod internal_error;
mod results;
mod run;
mod search;
mod text_input;
mod tokenize;
mod train;
mod validate;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Exit codes scripts can rely on.
pub const OK: i32 = 0;
pub const INVALID: i32 = 1;
pub const USAGE: i32 = 2;

/// A command's failure: the message (empty when already printed) and the exit code.
type Failure = (String, i32);

/// The exit code of a command's result, printing its error.
fn exit_code(r: Result<(), Failure>) -> i32 {
    match r {
        Ok(()) => OK,
        Err((m, code)) => {
            if !m.is_empty() {
                eprintln!("error: {m}");
            }
            code
        }
    }
}

#[derive(Parser, Debug)]
#[command(name = "zoo", version, about = "A model zoo where every architecture is a YAML spec", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Refuse a model whose weights would need more memory than this (`16G`, `512M`, bytes);
    /// default: this machine's memory.
    #[arg(long, global = true, value_name = "SIZE", value_parser = crate::config::limits::parse_bytes)]
    pub max_memory: Option<u64>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Kind {
    Backbone,
    Neck,
    Head,
    Full,
    Block,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum DeviceKind {
    /// Pure-Rust CPU backend (default).
    Flex,
    /// Deprecated pure-Rust CPU backend (feature `ndarray`).
    Ndarray,
    /// GPU through wgpu (feature `wgpu`).
    Wgpu,
    /// NVIDIA GPU (feature `cuda`).
    Cuda,
    /// PyTorch's CPU kernels through LibTorch (feature `tch`).
    Tch,
    /// PyTorch's CUDA kernels through LibTorch (feature `tch`, PyTorch's CUDA build).
    TchCuda,
}

/// Where a model's weights and class count come from (`run`, `save`).
#[derive(clap::Args, Debug)]
pub struct WeightsArgs {
    /// Weights (.safetensors, .pt/.pth, .bpk); default: the config's checkpoint.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long)]
    pub num_classes: Option<usize>,
    /// A NetsPresso data config whose `id_mapping` names the classes.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Checkpoint naming to translate with the spec's remap rules (e.g. `torchvision`).
    #[arg(long)]
    pub weights_from: Option<String>,
    /// Base URL of pretrained weights (also `ZOO_WEIGHTS_URL`).
    #[arg(long)]
    pub weights_url: Option<String>,
    /// Keep every BatchNorm as a layer of its own (by default each one right after a
    /// convolution is folded into it once the weights are loaded: same outputs, faster).
    #[arg(long)]
    pub no_fold: bool,
}

impl WeightsArgs {
    fn model_args<'a>(&'a self, config: &'a std::path::Path, device: DeviceChoice) -> run::ModelArgs<'a> {
        run::ModelArgs {
            config,
            checkpoint: self.checkpoint.as_deref(),
            num_classes: self.num_classes,
            data: self.data.as_deref(),
            weights_from: self.weights_from.as_deref(),
            weights_url: self.weights_url.as_deref(),
            device,
            fold: !self.no_fold,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the components of the zoo (GLOB filters names, e.g. `mobile*`).
    List {
        glob: Option<String>,
        #[arg(long)]
        task: Option<String>,
        #[arg(long, value_enum)]
        kind: Option<Kind>,
    },
    /// Show a component's parameters (types, defaults, docs), presets and outputs.
    Describe { name: String },
    /// Print a complete model config for a preset (e.g. `resnet50`), equal to NetsPresso's.
    New {
        preset: String,
        /// The task of the preset, where one name has several (`resnet50 --task embedding`).
        #[arg(long)]
        task: Option<String>,
    },
    /// Print the JSON Schema for model configs, or write all schemas into a folder.
    Schema {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Validate model configs; reports every error with file:line:col (exit 1 if any).
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Build the model of a config, run a forward pass and print a layer summary.
    Build {
        file: PathBuf,
        #[arg(long, default_value_t = 1000)]
        num_classes: usize,
        #[arg(long, num_args = 2, value_names = ["H", "W"])]
        input_size: Option<Vec<usize>>,
        #[arg(long, default_value = "flex", help = DEVICE_HELP)]
        device: DeviceChoice,
        /// How deep the layer summary goes.
        #[arg(long, default_value_t = 3)]
        depth: usize,
    },
    /// Run a model on an image or a tensor file; prints its results (top-k classes, masks,
    /// detections, keypoints).
    Run {
        config: PathBuf,
        #[command(flatten)]
        weights: WeightsArgs,
        /// An image (resized and normalised) or a tensor file (.npy, .safetensors).
        #[arg(long)]
        input: PathBuf,
        /// Where to write the raw prediction: .safetensors (`pred`, or `pred.0`, `pred.anchors`,
        /// ... for several tensors) or .npy (one tensor).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Where to write the postprocessed results as JSON: one object per image (or batch
        /// item), coordinates in the original image's pixels.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Where to draw the results on the input image (.png): boxes with classes and scores,
        /// keypoints and skeleton, or a mask overlay.
        #[arg(long)]
        draw: Option<PathBuf>,
        /// A NetsPresso augmentation config whose `inference` steps prepare images.
        #[arg(long)]
        augmentation: Option<PathBuf>,
        /// Segmentation: write the mask (class index per pixel, at the original image size)
        /// as a grayscale PNG; a batch gives `NAME_0.png`, `NAME_1.png`, ...
        #[arg(long)]
        mask: Option<PathBuf>,
        #[arg(long, default_value_t = 5)]
        top_k: usize,
        #[arg(long, default_value = "flex", help = DEVICE_HELP)]
        device: DeviceChoice,
    },
    /// Embed images, texts or token ids with an `embedding` config: float32 [B, output_dim]
    /// into a .npy file.
    Embed {
        config: PathBuf,
        #[command(flatten)]
        weights: WeightsArgs,
        /// Images (prepared as the model expects), .npy/.safetensors tensors [B, 3, H, W], or
        /// (text models) token ids as an int64 .npy [B, L].
        #[arg(long, num_args = 1..)]
        input: Vec<PathBuf>,
        /// Texts to embed (text models).
        #[arg(long, num_args = 1..)]
        text: Vec<String>,
        /// A file with one text per line.
        #[arg(long)]
        text_file: Option<PathBuf>,
        /// tokenizer.json, vocab.txt or vocab.json (default: the one in a checkpoint folder).
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        /// Attention mask (.npy, 1 = token, 0 = padding) of token ids given with --input.
        #[arg(long)]
        mask: Option<PathBuf>,
        /// Write the texts' tokens here: [{"text", "ids", "tokens"}] (.json).
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// Where to write the embeddings (.npy).
        #[arg(long)]
        output: PathBuf,
        /// L2-normalise every embedding.
        #[arg(long)]
        normalize: bool,
        #[arg(long, default_value = "flex", help = DEVICE_HELP)]
        device: DeviceChoice,
    },
    /// Embed every image (image models, CLIP) or every line of the .txt files (text models)
    /// under DIR into a search index (a folder: embeddings, items, the config, the weights and
    /// the tokenizer used).
    Index {
        config: PathBuf,
        dir: PathBuf,
        #[command(flatten)]
        weights: WeightsArgs,
        /// The index folder to write (new, empty, or an earlier index it replaces).
        #[arg(long)]
        output: PathBuf,
        /// The text tokenizer (text models; CLIP, for text queries later); default: the one
        /// in a checkpoint folder. A copy is kept in the index.
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        #[arg(long, default_value = "flex", help = DEVICE_HELP)]
        device: DeviceChoice,
    },
    /// The items of an index nearest to a query, by cosine similarity.
    Search {
        index: PathBuf,
        /// An image query.
        #[arg(long, conflicts_with = "text")]
        image: Option<PathBuf>,
        /// A text query (for models with a text tower).
        #[arg(long)]
        text: Option<String>,
        /// How many results to print.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// The tokenizer of a text query (default: the copy kept in the index).
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        #[arg(long, default_value = "flex", help = DEVICE_HELP)]
        device: DeviceChoice,
    },
    /// Train a model with NetsPresso's configuration files (classification for now), or
    /// continue a run with --resume.
    Train {
        /// The data config (`data:`): NetsPresso's `local` layout.
        #[arg(long)]
        data: Option<PathBuf>,
        /// The augmentation config (`augmentation:` with `train` and `inference`).
        #[arg(long)]
        augmentation: Option<PathBuf>,
        /// The model config (`model:`).
        #[arg(long)]
        model: Option<PathBuf>,
        /// The training config (`training:`: epochs, optimizer, scheduler).
        #[arg(long)]
        training: Option<PathBuf>,
        /// Continue the run in this folder from its last finished epoch (configs from its
        /// hparams.yaml).
        #[arg(long)]
        resume: Option<PathBuf>,
        /// The logging config (`logging:`: output_dir, project_id, model_save_options).
        #[arg(long)]
        logging: Option<PathBuf>,
        /// The environment config (`environment:`: seed, num_workers, batch_size).
        #[arg(long)]
        environment: Option<PathBuf>,
        #[arg(long, default_value = "flex", help = DEVICE_HELP)]
        device: DeviceChoice,
        /// Device ids to train on in parallel, e.g. `0,1` (overrides `environment.gpus`); each
        /// takes a batch of `batch_size` per step, as NetsPresso's multi-GPU runs do.
        #[arg(long)]
        gpus: Option<String>,
    },
    /// Time the forward pass: images/s, latency p50/p90 and peak memory per batch size;
    /// `--profile` adds the time per module.
    Bench {
        config: PathBuf,
        /// Batch sizes to time (repeatable).
        #[arg(long = "batch", default_values_t = [1usize, 8])]
        batches: Vec<usize>,
        #[arg(long, num_args = 2, value_names = ["H", "W"])]
        input_size: Option<Vec<usize>>,
        /// CPU threads of the kernels (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        #[arg(long, default_value = "flex", help = DEVICE_HELP)]
        device: DeviceChoice,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Timed passes per batch size.
        #[arg(long, default_value_t = 10)]
        iterations: usize,
        /// Untimed passes first.
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Also time every module (the first batch size).
        #[arg(long)]
        profile: bool,
        /// How deep the profile goes.
        #[arg(long, default_value_t = 2)]
        depth: usize,
        /// Classes of the head (default: 1000, 19 for segmentation, 80 detection, 17 pose).
        #[arg(long)]
        num_classes: Option<usize>,
        /// Time the model with its BatchNorms as layers of their own (as `zoo run --no-fold`).
        #[arg(long)]
        no_fold: bool,
    },
    /// Evaluate trained weights on the valid (or test) split of a data config.
    Evaluate {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        augmentation: PathBuf,
        #[arg(long)]
        model: PathBuf,
        /// The environment config (batch_size, num_workers).
        #[arg(long)]
        environment: Option<PathBuf>,
        /// The logging config (`metrics.metric_names`, `metrics.classwise_analysis`).
        #[arg(long)]
        logging: Option<PathBuf>,
        /// Weights (default: the model config's checkpoint).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// `valid` or `test`.
        #[arg(long, default_value = "valid")]
        split: String,
        #[arg(long, default_value = "flex", help = DEVICE_HELP)]
        device: DeviceChoice,
    },
    /// Token ids of texts (tokenizer.json, WordPiece vocab.txt, or CLIP vocab.json + merges.txt).
    Tokenize {
        /// tokenizer.json, vocab.txt or vocab.json (with merges.txt beside it).
        #[arg(long)]
        tokenizer: PathBuf,
        #[arg(long, num_args = 1..)]
        text: Vec<String>,
        /// A file with one text per line.
        #[arg(long)]
        text_file: Option<PathBuf>,
        /// Whether a vocab.txt is uncased (default: its tokenizer_config.json says).
        #[arg(long)]
        lowercase: Option<bool>,
        /// Longest sequence, special tokens included (default: BERT's 512, CLIP's 77).
        #[arg(long)]
        max_length: Option<usize>,
        /// Write `[{"text", "ids", "tokens"}]` here (.json) instead of printing.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Write a config's (initialised or loaded) weights with NetsPresso key names.
    Save {
        config: PathBuf,
        #[command(flatten)]
        weights: WeightsArgs,
        /// .safetensors (NetsPresso names) or .bpk (burn's format).
        #[arg(long)]
        output: PathBuf,
    },
    /// Print the state-dict keys and shapes (PyTorch naming) of a config's model.
    Keys {
        file: PathBuf,
        #[arg(long, default_value_t = 1000)]
        num_classes: usize,
    },
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { USAGE } else { OK };
            let _ = e.print();
            return code;
        }
    };
    crate::config::limits::set_max_memory(cli.max_memory);
    run(cli.command)
}

pub fn run(cmd: Command) -> i32 {
    match cmd {
        Command::List { glob, task, kind } => catalogue::list(glob.as_deref(), task.as_deref(), kind),
        Command::Describe { name } => catalogue::describe(&name),
        Command::New { preset, task } => catalogue::new_config(&preset, task.as_deref()),
        Command::Schema { out } => catalogue::schema(out.as_deref()),
        Command::Validate { files, format } => validate::run(&files, format),
        Command::Build {
            file,
            num_classes,
            input_size,
            device,
            depth,
        } => build::run(&file, num_classes, input_size.as_deref(), device, depth),
        Command::Keys { file, num_classes } => build::keys(&file, num_classes),
        Command::Run {
            config,
            weights,
            input,
            output,
            json,
            draw,
            augmentation,
            mask,
            top_k,
            device,
        } => {
            let model = weights.model_args(&config, device);
            run::run(&run::RunArgs {
                model,
                input: &input,
                output: output.as_deref(),
                json: json.as_deref(),
                draw: draw.as_deref(),
                augmentation: augmentation.as_deref(),
                mask: mask.as_deref(),
                top_k,
            })
        }
        Command::Embed {
            config,
            weights,
            input,
            text,
            text_file,
            tokenizer,
            mask,
            tokens,
            output,
            normalize,
            device,
        } => embed::run(&embed::EmbedArgs {
            model: weights.model_args(&config, device),
            inputs: &input,
            texts: &text,
            text_file: text_file.as_deref(),
            tokenizer: tokenizer.as_deref(),
            mask: mask.as_deref(),
            tokens: tokens.as_deref(),
            output: &output,
            normalize,
        }),
        Command::Index {
            config,
            dir,
            weights,
            output,
            tokenizer,
            device,
        } => search::index(&search::IndexArgs {
            model: weights.model_args(&config, device),
            dir: &dir,
            output: &output,
            tokenizer: tokenizer.as_deref(),
        }),
        Command::Search {
            index,
            image,
            text,
            top,
            tokenizer,
            device,
        } => search::search(&search::SearchArgs {
            index: &index,
            image: image.as_deref(),
            text: text.as_deref(),
            top,
            tokenizer: tokenizer.as_deref(),
            device,
        }),
        Command::Train {
            data,
            augmentation,
            model,
            training,
            resume,
            logging,
            environment,
            device,
            gpus,
        } => train::run(&train::TrainArgs {
            data: data.as_deref(),
            augmentation: augmentation.as_deref(),
            model: model.as_deref(),
            training: training.as_deref(),
            logging: logging.as_deref(),
            environment: environment.as_deref(),
            resume: resume.as_deref(),
            device,
            gpus: gpus.as_deref(),
        }),
        Command::Bench {
            config,
            batches,
            input_size,
            threads,
            device,
            format,
            iterations,
            warmup,
            profile,
            depth,
            num_classes,
            no_fold,
        } => bench::run(&bench::BenchArgs {
            fold: !no_fold,
            config: &config,
            batches: &batches,
            input_size: input_size.as_deref(),
            threads,
            device,
            format,
            iterations,
            warmup,
            profile,
            depth,
            num_classes,
        }),
        Command::Evaluate {
            data,
            augmentation,
            model,
            environment,
            logging,
            checkpoint,
            split,
            device,
        } => evaluate::run(&evaluate::EvaluateArgs {
            data: &data,
            augmentation: &augmentation,
            model: &model,
            environment: environment.as_deref(),
            logging: logging.as_deref(),
            checkpoint: checkpoint.as_deref(),
            split: &split,
            device,
        }),
        Command::Tokenize {
            tokenizer,
            text,
            text_file,
            lowercase,
            max_length,
            output,
        } => tokenize::run(&tokenize::TokenizeArgs {
            tokenizer: &tokenizer,
            texts: &text,
            text_file: text_file.as_deref(),
            lowercase,
            max_length,
            output: output.as_deref(),
        }),
        Command::Save {
            config,
            weights,
            output,
        } => run::save(&weights.model_args(&config, DeviceChoice::FLEX), &output),
    }
}

const DEVICE_HELP: &str = "Where the model runs: flex (CPU, default), ndarray, wgpu, cuda, tch (PyTorch's \
     CPU kernels), tch-cuda; `cuda:1`, `tch-cuda:1`, `wgpu:1` pick a GPU by number, `wgpu:integrated[:N]`, \
     `wgpu:virtual[:N]`, `wgpu:cpu` a wgpu adapter by type";

/// `--device`: a backend and, for the GPU backends, which of the machine's devices
/// (`cuda:1`, `wgpu:integrated:0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceChoice {
    pub kind: DeviceKind,
    pub adapter: Adapter,
}

/// Which device of a backend: the default one, the N-th GPU (cuda, tch-cuda, a discrete GPU on
/// wgpu), or a wgpu adapter of another type (wgpu numbers each type from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Adapter {
    Default,
    Index(usize),
    Integrated(usize),
    Virtual(usize),
    Cpu,
}

impl DeviceChoice {
    pub const FLEX: DeviceChoice = DeviceChoice {
        kind: DeviceKind::Flex,
        adapter: Adapter::Default,
    };

    /// Whether the backend is one of burn's own CPU backends (activations on the heap, one
    /// device).
    pub fn on_cpu(self) -> bool {
        matches!(self.kind, DeviceKind::Flex | DeviceKind::Ndarray)
    }

    /// The GPU number, when one was given (`cuda:1`).
    pub fn index(self) -> Option<usize> {
        match self.adapter {
            Adapter::Index(i) => Some(i),
            _ => None,
        }
    }
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, rest) = match text.split_once(':') {
            Some((name, rest)) => (name, Some(rest)),
            None => (text, None),
        };
        let kind = DeviceKind::from_str(name, false).map_err(|_| {
            let names: Vec<String> = DeviceKind::value_variants().iter().map(|k| k.name()).collect();
            let close = names
                .iter()
                .find(|n| strsim::levenshtein(n, name) <= 2)
                .map_or(String::new(), |n| format!(" (did you mean `{n}`?)"));
            format!("unknown backend `{name}`{close}; one of {}", names.join(", "))
        })?;
        let number = |t: &str| {
            t.parse::<usize>()
                .map_err(|_| format!("`{text}`: `{t}` is no device number (like `{name}:1`)"))
        };
        let adapter = match (kind, rest) {
            (_, None) => Adapter::Default,
            (DeviceKind::Flex | DeviceKind::Ndarray | DeviceKind::Tch, Some(_)) => {
                return Err(format!(
                    "`{text}`: {name} runs on the CPU, which it uses as one device; write `{name}`"
                ));
            }
            (DeviceKind::Cuda | DeviceKind::TchCuda, Some(n)) => Adapter::Index(number(n)?),
            (DeviceKind::Wgpu, Some(rest)) => {
                let (ty, n) = match rest.split_once(':') {
                    Some((ty, n)) => (ty, Some(number(n)?)),
                    None => (rest, None),
                };
                match (ty, n, ty.parse::<usize>()) {
                    ("integrated", n, _) => Adapter::Integrated(n.unwrap_or(0)),
                    ("virtual", n, _) => Adapter::Virtual(n.unwrap_or(0)),
                    ("cpu", None | Some(0), _) => Adapter::Cpu,
                    ("cpu", Some(_), _) => {
                        return Err(format!("`{text}`: wgpu addresses one CPU adapter; write `wgpu:cpu`"));
                    }
                    (_, None, Ok(i)) => Adapter::Index(i),
                    _ => {
                        return Err(format!(
                            "`{text}`: after `wgpu:` comes a GPU number or integrated, virtual or cpu"
                        ));
                    }
                }
            }
        };
        Ok(DeviceChoice { kind, adapter })
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.kind.name();
        match self.adapter {
            Adapter::Default => write!(f, "{name}"),
            Adapter::Index(i) => write!(f, "{name}:{i}"),
            Adapter::Integrated(i) => write!(f, "{name}:integrated:{i}"),
            Adapter::Virtual(i) => write!(f, "{name}:virtual:{i}"),
            Adapter::Cpu => write!(f, "{name}:cpu"),
        }
    }
}

/// Device `index` of `--gpus` (training on several devices) on a `--device` backend: the
/// `index`-th GPU (on wgpu, discrete GPU); the CPU backends have one device, which every index
/// names.
pub fn device_at(choice: DeviceChoice, index: usize) -> Result<burn::tensor::Device, String> {
    match choice.kind {
        DeviceKind::Cuda | DeviceKind::TchCuda | DeviceKind::Wgpu => device(DeviceChoice {
            adapter: Adapter::Index(index),
            ..choice
        }),
        _ => device(choice),
    }
}

/// The burn device for a `--device` choice, or a message when it is not compiled in or the
/// machine does not have it.
pub fn device(choice: DeviceChoice) -> Result<burn::tensor::Device, String> {
    #[cfg(any(feature = "cuda", feature = "tch"))]
    let index = choice.index().unwrap_or(0);
    match choice.kind {
        DeviceKind::Flex => Ok(burn::tensor::Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        DeviceKind::Ndarray => Ok(burn::tensor::Device::ndarray()),
        #[cfg(feature = "wgpu")]
        DeviceKind::Wgpu => wgpu_device(choice),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => Ok(burn::tensor::Device::cuda(index)),
        // burn marks its LibTorch backend deprecated in favour of CubeCL's; it is still the
        // fastest CPU path (PyTorch's kernels) and the practical CUDA one (README "Speed").
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        DeviceKind::Tch => Ok(burn::tensor::Device::libtorch()),
        #[cfg(feature = "tch")]
        DeviceKind::TchCuda => tch_cuda(index),
        #[allow(unreachable_patterns)]
        other => Err(format!(
            "the {} backend is not compiled into this binary; rebuild with `--features {}`",
            other.name(),
            other.feature()
        )),
    }
}

impl DeviceKind {
    /// The backend's `--device` name.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or(String::new(), |v| v.get_name().to_string())
    }

    /// The cargo feature that compiles the backend in.
    fn feature(self) -> &'static str {
        match self {
            DeviceKind::Flex => "default",
            DeviceKind::Ndarray => "ndarray",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Cuda => "cuda",
            DeviceKind::Tch | DeviceKind::TchCuda => "tch",
        }
    }
}

static GPU_DRIVER_LOADED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a GPU runtime (and so its driver) was brought up in this process.
pub fn gpu_driver_loaded() -> bool {
    GPU_DRIVER_LOADED.load(std::sync::atomic::Ordering::Relaxed)
}

/// The wgpu adapter `--device` names, brought up now so that a machine without a GPU driver
/// (or without that adapter) is an error here rather than a panic inside the first tensor
/// operation. Each adapter comes up once per process; later calls reuse it.
#[cfg(feature = "wgpu")]
fn wgpu_device(choice: DeviceChoice) -> Result<burn::tensor::Device, String> {
    use burn::tensor::DeviceKind as Wgpu;
    type Devices = std::collections::HashMap<Adapter, Result<burn::tensor::Device, String>>;
    GPU_DRIVER_LOADED.store(true, std::sync::atomic::Ordering::Relaxed);
    static DEVICES: std::sync::Mutex<Option<Devices>> = std::sync::Mutex::new(None);
    let mut devices = DEVICES.lock().unwrap_or_else(|e| e.into_inner());
    devices
        .get_or_insert_with(Default::default)
        .entry(choice.adapter)
        .or_insert_with(|| {
            let options = burn::tensor::Device::wgpu_options();
            // Left unset, the selection stays wgpu's own (`CUBECL_WGPU_DEFAULT_DEVICE` included).
            let options = match choice.adapter {
                Adapter::Default => options,
                Adapter::Index(i) => options.device_kind(Wgpu::DiscreteGpu(i)),
                Adapter::Integrated(i) => options.device_kind(Wgpu::IntegratedGpu(i)),
                Adapter::Virtual(i) => options.device_kind(Wgpu::VirtualGpu(i)),
                Adapter::Cpu => options.device_kind(Wgpu::Cpu),
            };
            match crate::rt::guarded(|| options.init()) {
                Ok(Ok(device)) => Ok(device),
                Ok(Err(e)) => Err(e.to_string()),
                Err(panic) => Err(panic),
            }
            .map_err(|e| match choice.adapter {
                Adapter::Default => format!(
                    "--device wgpu: no GPU adapter ({e}); install the Vulkan driver of your GPU, or Debian's \
                     `mesa-vulkan-drivers` for lavapipe, a Vulkan device that runs on the CPU"
                ),
                _ => format!(
                    "--device {choice}: no such adapter ({e}); `--device wgpu` takes the default one, and \
                     `wgpu:N` counts discrete GPUs only (`wgpu:integrated`, `wgpu:virtual`, `wgpu:cpu` the others)"
                ),
            })
        })
        .clone()
}

/// LibTorch's CUDA device `index`, or why there is none: LibTorch without CUDA (PyTorch's CPU
/// build), no GPU or driver, or fewer GPUs than the index.
#[cfg(feature = "tch")]
fn tch_cuda(index: usize) -> Result<burn::tensor::Device, String> {
    let count = tch::Cuda::device_count().max(0) as usize;
    if !tch::Cuda::is_available() || count == 0 {
        return Err(
            "--device tch-cuda: LibTorch sees no CUDA GPU (no NVIDIA driver or GPU on this machine, or a CPU-only \
             PyTorch); use --device tch for PyTorch's CPU kernels"
                .into(),
        );
    }
    if index >= count {
        return Err(format!(
            "--device tch-cuda: GPU {index} does not exist; LibTorch sees {count}"
        ));
    }
    #[allow(deprecated)]
    Ok(burn::tensor::Device::libtorch_cuda(index))
}

/// Sets the CPU threads of the kernels: rayon's pool (flex) and, when compiled in, LibTorch's.
/// Call before any tensor work.
pub fn set_threads(threads: usize) {
    // burn's CPU kernels run on rayon's global pool, sized on first use.
    // SAFETY: set before any thread of this process reads the environment.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    #[cfg(feature = "tch")]
    tch::set_num_threads(threads as i32);
}

/// Whether stdout/stderr is a terminal (colours only then).
pub fn color(stderr: bool) -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none()
        && if stderr {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        }
}
