"""Writes the parity fixtures of tests/parity.rs (not run by CI; see netspresso_reference.py
for the venv set-up). Run from the repository root:

    venv/bin/python tests/reference/parity_fixtures.py

For each case, builds a reduced-width model with NetsPresso Trainer 1.4.1, fills every
weight and BatchNorm statistic with `synthetic` values (so normalisation really matters), and writes into
tests/fixtures/parity/:

    <case>.yaml                 the zoo/NetsPresso model config
    <case>.safetensors          the state dict, only for the cases in STORED_WEIGHTS (the
                                others are `synthetic` weights, recomputed by the test);
                                torchvision names for `*_torchvision` files
    <case>.io.safetensors       `input` [2, 3, H, W] and `output` (NetsPresso's `pred`, eval mode);
                                segmentation cases also `mask` [2, H, W] (its postprocessor's classes)

It also writes the key/shape facts of torchvision's full-size ResNet-18 and MobileNetV3 state
dicts (tests/fixtures/reference/torchvision_*.txt), for the key-remap tests, and two pickles
that are not state dicts (not_a_state_dict_*.pt).
"""
import copy
import math
import zlib
import pathlib

import torch
import yaml
from omegaconf import OmegaConf
from safetensors.torch import save_file
from netspresso_trainer.models.builder import build_model
from netspresso_trainer.postprocessors.segmentation import SegmentationPostprocessor

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "parity"
NUM_CLASSES = 10

FC1 = {"name": "fc", "params": {"num_layers": 1, "intermediate_channels": None, "act_type": None, "dropout_prob": 0.0}}
FC2 = {"name": "fc", "params": {"num_layers": 2, "intermediate_channels": 32, "act_type": "hard_swish", "dropout_prob": 0.0}}


def model_doc(name, backbone, head, task="classification"):
    return {
        "model": {
            "task": task,
            "name": name,
            "checkpoint": {"use_pretrained": False, "load_head": True, "path": None, "optimizer_path": None},
            "freeze_backbone": False,
            "architecture": {"full": None, "backbone": backbone, "head": head},
            "postprocessor": None,
            "losses": [{"criterion": "cross_entropy", "label_smoothing": 0.1, "weight": None}],
        }
    }


def stage(c, n, dil=False, pool=False):
    return {"channels": c, "num_blocks": n, "replace_stride_with_dilation": dil, "replace_stride_with_pooling": pool}


CASES = {
    "resnet_basic": model_doc(
        "resnet_basic",
        {"name": "resnet", "params": {"block_type": "basicblock", "norm_type": "batch_norm", "return_stage_idx": None,
                                       "split_stem_conv": False, "first_stage_shortcut_conv": False},
         "stage_params": [stage(8, 1), stage(16, 2), stage(24, 1), stage(32, 1)]},
        FC1),
    "resnet_bottleneck": model_doc(
        "resnet_bottleneck",
        {"name": "resnet", "params": {"block_type": "bottleneck", "norm_type": "batch_norm", "return_stage_idx": None,
                                       "split_stem_conv": True, "first_stage_shortcut_conv": True},
         "stage_params": [stage(4, 1), stage(8, 2, pool=True), stage(8, 1), stage(16, 1, dil=True)]},
        FC2),
    "mobilenetv3": model_doc(
        "mobilenetv3_tiny",
        {"name": "mobilenetv3", "params": None, "stage_params": [
            {"in_channels": [8], "kernel_sizes": [3], "expanded_channels": [8], "out_channels": [8],
             "use_se": [True], "act_type": ["relu"], "stride": [2]},
            {"in_channels": [8, 16], "kernel_sizes": [5, 3], "expanded_channels": [24, 48], "out_channels": [16, 16],
             "use_se": [False, True], "act_type": ["hard_swish", "hard_swish"], "stride": [2, 1]},
        ]},
        FC2),
    "vit": model_doc(
        "vit_micro",
        {"name": "vit", "params": {"patch_size": 8, "attention_channels": 24, "num_blocks": 2, "num_attention_heads": 3,
                                    "attention_dropout_prob": 0.0, "ffn_intermediate_channels": 48, "ffn_dropout_prob": 0.0,
                                    "use_cls_token": True, "vocab_size": 50},
         "stage_params": None},
        FC1),
}
CASES["vit_mean"] = copy.deepcopy(CASES["vit"])
CASES["vit_mean"]["model"]["architecture"]["backbone"]["params"]["use_cls_token"] = False
# Segmentation: the decoder over 2 and 4 pyramid levels of different sizes.
SEG_HEAD = {"name": "all_mlp_decoder", "params": {"intermediate_channels": 16, "classifier_dropout_prob": 0.0}}
CASES["mobilenetv3_seg"] = model_doc(
    "mobilenetv3_seg", copy.deepcopy(CASES["mobilenetv3"]["model"]["architecture"]["backbone"]), SEG_HEAD, "segmentation")
CASES["resnet_seg"] = copy.deepcopy(CASES["resnet_basic"])
CASES["resnet_seg"]["model"].update(task="segmentation", name="resnet_seg")
CASES["resnet_seg"]["model"]["architecture"]["backbone"]["params"]["return_stage_idx"] = [0, 1, 2, 3]
CASES["resnet_seg"]["model"]["architecture"]["head"] = SEG_HEAD
CASES["resnet_seg"]["model"]["losses"] = [{"criterion": "seg_cross_entropy", "weight": None, "ignore_index": 255}]
CASES["mobilenetv3_seg"]["model"]["losses"] = CASES["resnet_seg"]["model"]["losses"]

def mixnet_stage(t, c, n, k, ek, pk, s, a, se):
    return {"expansion_ratio": t, "out_channels": c, "num_blocks": n, "kernel_sizes": k, "num_exp_groups": ek,
            "num_poi_groups": pk, "stride": s, "act_type": a, "se_reduction_ratio": se}


# (MixNet's last stage always ends in a 1536-wide conv, which dominates this fixture's size.)
# Width and depth scaling (rounding, extra repeats), grouped 1x1 convs, mixed kernels, SE.
MIXNET = {"name": "mixnet", "params": {"stem_channels": 8, "wid_mul": 1.3, "dep_mul": 1.5, "dropout_rate": 0.0},
          "stage_params": [
              mixnet_stage([1, 3], [8, 16], [1, 1], [[3], [3, 5]], [1, 2], [1, 2], [1, 2], ["relu", "relu"], [None, None]),
              mixnet_stage([6], [24], [2], [[3, 5, 7]], [2], [2], [2], ["swish"], [2]),
              mixnet_stage([3, 6], [24, 32], [1, 1], [[3, 5], [3]], [1, 2], [2, 1], [1, 2], ["swish", "swish"], [4, 1]),
          ]}
CASES["mixnet"] = model_doc("mixnet_tiny", MIXNET, FC1)

# Every block tag: conv, fused IB, UIR with and without extra/middle depth-wise convs, mobile
# multi-query attention with and without key/value downsampling; layer scale; fc_conv head.
MOBILENETV4 = {"name": "mobilenetv4", "params": {
    "stem_out_channel": 8, "stem_kernel_size": 3, "stem_stride": 2, "final_conv_out_channel": 32,
    "final_conv_kernel_size": 1, "final_conv_stride": 1, "norm_type": "batch_norm", "act_type": "relu",
    "return_stage_idx": None, "layer_scale": 0.1},
    "stage_params": [
        [["conv", 8, 3, 2], ["fi", 16, 24, 3, 2]],
        [["uir", 24, 48, True, 3, True, 5, 2], ["uir", 24, 24, False, None, True, 3, 1],
         ["uir", 24, 48, True, 5, False, None, 1]],
        [["mmqa", 24, 16, 2, None, True, 3, 2, 1], ["uir", 24, 48, False, None, False, None, 1],
         ["mmqa", 24, 24, 4, None, False, None, None, 1]],
    ]}
FC_CONV = {"name": "fc_conv", "params": {"num_layers": 2, "intermediate_channels": 16, "act_type": "relu",
                                         "norm_type": "batch_norm", "dropout_prob": 0.0}}
CASES["mobilenetv4"] = model_doc("mobilenetv4_tiny", MOBILENETV4, FC_CONV)

# Pooling (Meta4D) and attention (Meta3D) blocks with a gathered, resized attention bias; the
# dense variant adds the group norms and the token-to-map reshape of the last stage.
EFFICIENTFORMER = {"name": "efficientformer", "params": {
    "num_attention_heads": 2, "attention_channels": 16, "attention_dropout_prob": 0.0,
    "attention_value_expansion_ratio": 2, "ffn_intermediate_ratio": 2, "ffn_dropout_prob": 0.0,
    "ffn_act_type": "gelu", "vit_num": 2},
    "stage_params": [{"num_blocks": 1, "channels": 8}, {"num_blocks": 1, "channels": 16},
                     {"num_blocks": 2, "channels": 16}, {"num_blocks": 3, "channels": 24}]}
CASES["efficientformer"] = model_doc("efficientformer_tiny", EFFICIENTFORMER, FC1)
CASES["efficientformer_seg"] = model_doc("efficientformer_tiny_seg", copy.deepcopy(EFFICIENTFORMER), SEG_HEAD,
                                         "segmentation")
CASES["efficientformer_seg"]["model"]["losses"] = CASES["resnet_seg"]["model"]["losses"]
# SegFormer: overlapping patch embeddings, attention with and without sequence reduction, Mix-FFN.
def mit_stage(n, sr, c, k, s, heads):
    return {"num_blocks": n, "sequence_reduction_ratio": sr, "attention_chananels": c,
            "embedding_patch_sizes": k, "embedding_strides": s, "num_attention_heads": heads}


MIT = {"name": "mixtransformer", "params": {"ffn_intermediate_expansion_ratio": 2, "ffn_act_type": "gelu",
                                            "ffn_dropout_prob": 0.0, "attention_dropout_prob": 0.0},
       "stage_params": [mit_stage(1, 4, 8, 7, 4, 1), mit_stage(2, 2, 16, 3, 2, 2), mit_stage(1, 1, 24, 3, 2, 3)]}
CASES["segformer"] = model_doc("segformer_tiny", MIT, SEG_HEAD, "segmentation")
CASES["segformer"]["model"]["losses"] = CASES["resnet_seg"]["model"]["losses"]
CASES["segformer"]["model"]["architecture"]["head"] = copy.deepcopy(SEG_HEAD)
CASES["segformer"]["model"]["architecture"]["head"]["params"]["resize_output"] = [64, 64]

# MobileViT: inverted residuals, unfold / transformer / fold, fusion; a stride-1 MobileViT stage.
MOBILEVIT = {"name": "mobilevit", "params": {"patch_size": 2, "num_attention_heads": 2, "attention_dropout_prob": 0.0,
                                             "ffn_dropout_prob": 0.0, "output_expansion_ratio": 2,
                                             "use_fusion_layer": True},
             "stage_params": [
                 {"block_type": "mv2", "out_channels": 8, "num_blocks": 1, "stride": 1, "ir_expansion_ratio": 2},
                 {"block_type": "mv2", "out_channels": 16, "num_blocks": 2, "stride": 2, "ir_expansion_ratio": 2},
                 {"block_type": "mobilevit", "out_channels": 16, "num_blocks": 2, "stride": 2, "ir_expansion_ratio": 2,
                  "attention_channels": 24, "ffn_intermediate_channels": 32, "dilate": False},
                 {"block_type": "mobilevit", "out_channels": 16, "num_blocks": 1, "stride": 1, "ir_expansion_ratio": 2,
                  "attention_channels": 16, "ffn_intermediate_channels": 24, "dilate": False},
             ]}
CASES["mobilevit"] = model_doc("mobilevit_tiny", MOBILEVIT, FC1)

# GELAN: every block tag, RepVGG identity branches, BN eps 1e-3.
GELAN = {"name": "gelan", "params": {"stem_out_channels": 8, "stem_kernel_size": 3, "stem_stride": 2,
                                     "return_stage_idx": None, "act_type": "silu"},
         "stage_params": [
             [["conv", 16, 3, 2], ["elan", 16, 16, False]],
             [["aconv", 16], ["repncspelan", 16, 16, True, 2]],
             [["adown", 24], ["repncspelan", 24, 16, False, 1], ["sppelan", 24, 8]],
         ]}
CASES["gelan"] = model_doc("gelan_tiny_test", GELAN, FC1)

# PIDNet, a full model: the light variant (m = 2: PAPPM, Light-Bag) and the other (DAPPM, Bag).
def pidnet_doc(name, m):
    doc = model_doc(name, None, None, "segmentation")
    doc["model"]["architecture"] = {"full": {"name": "pidnet", "m": m, "n": 2, "channels": 8, "ppm_channels": 8,
                                             "head_channels": 16}, "backbone": None, "head": None}
    doc["model"]["losses"] = [{"criterion": "pidnet_loss", "weight": None, "ignore_index": 255}]
    return doc


CASES["pidnet_light"] = pidnet_doc("pidnet_light", 2)
CASES["pidnet"] = pidnet_doc("pidnet_full", 3)

# Detection: FPN (every extra-level mode) + RetinaNet head on a reduced ResNet.
def detection_doc(name, backbone, neck, head, losses, post):
    doc = model_doc(name, backbone, head, "detection")
    doc["model"]["architecture"]["neck"] = neck
    doc["model"]["losses"] = losses
    doc["model"]["postprocessor"] = {"params": post}
    return doc


def fpn(num_outs, extra, relu=False, start=0, end=-1):
    return {"name": "fpn", "params": {"num_outs": num_outs, "start_level": start, "end_level": end,
                                      "add_extra_convs": extra, "relu_before_extra_convs": relu}}


RESNET_DET = copy.deepcopy(CASES["resnet_basic"]["model"]["architecture"]["backbone"])
RESNET_DET["params"]["return_stage_idx"] = [1, 2, 3]
RETINA_POST = {"topk_candidates": 1000, "score_thresh": 0.05, "nms_thresh": 0.45, "class_agnostic": False}
RETINA_LOSS = [{"criterion": "retinanet_loss", "weight": None}]


def retina(sizes):
    return {"name": "anchor_decoupled_head", "params": {"anchor_sizes": [[s] for s in sizes],
                                                        "aspect_ratios": [0.5, 1.0, 2.0], "num_layers": 1,
                                                        "norm_type": "batch_norm"}}


CASES["retinanet_fpn_on_input"] = detection_doc(
    "retinanet_tiny", RESNET_DET, fpn(5, True, relu=True), retina([32, 64, 128, 256, 512]), RETINA_LOSS,
    RETINA_POST)
CASES["retinanet_fpn_on_output"] = detection_doc(
    "retinanet_tiny", RESNET_DET, fpn(4, "on_output"), retina([32, 64, 128, 256]), RETINA_LOSS, RETINA_POST)
CASES["retinanet_fpn_on_lateral"] = detection_doc(
    "retinanet_tiny", RESNET_DET, fpn(5, True, start=1), retina([32, 64, 128, 256, 512]), RETINA_LOSS, RETINA_POST)
CASES["retinanet_fpn_on_lateral"]["model"]["architecture"]["neck"]["params"]["add_extra_convs"] = "on_lateral"
CASES["retinanet_fpn_max_pool"] = detection_doc(
    "retinanet_tiny", RESNET_DET, fpn(4, False), retina([32, 64, 128, 256]), RETINA_LOSS, RETINA_POST)
CASES["retinanet_fpn_end_level"] = detection_doc(
    "retinanet_tiny", RESNET_DET, fpn(2, False, start=0, end=1), retina([32, 64]), RETINA_LOSS, RETINA_POST)

# YOLOX: CSPDarknet (Focus stem, CSP, SPP) + PAFPN + decoupled head, plain and depth-wise.
def yolox(depthwise):
    return detection_doc(
        "yolox_tiny_test",
        {"name": "cspdarknet", "params": {"depthwise": depthwise, "dep_mul": 0.33, "wid_mul": 0.125, "act_type": "silu"},
         "stage_params": None},
        {"name": "yolopafpn", "params": {"depthwise": depthwise, "dep_mul": 0.33, "act_type": "silu"}},
        {"name": "anchor_free_decoupled_head", "params": {"depthwise": depthwise, "act_type": "silu"}},
        [{"criterion": "yolox_loss", "weight": None, "l1_activate_epoch": 1}],
        {"score_thresh": 0.01, "nms_thresh": 0.65, "class_agnostic": False})


CASES["yolox"] = yolox(False)
CASES["yolox_depthwise"] = yolox(True)

# YOLOv9: GELAN + YOLOv9 FPN (both bottom-up block types) + DFL head with grouped convs.
def yolov9(bu_type, use_group):
    backbone = copy.deepcopy(GELAN)
    backbone["params"]["return_stage_idx"] = [0, 1, 2]
    return detection_doc(
        "yolov9_tiny_test", backbone,
        {"name": "yolov9fpn", "params": {"repeat_num": 1, "act_type": "silu", "use_aux_loss": False, "bu_type": bu_type,
                                         "spp_channels": 16, "n4_channels": 16, "p3_channels": 8,
                                         "p3_to_p4_channels": 8, "p4_channels": 16, "p4_to_p5_channels": 16,
                                         "p5_channels": 16}},
        {"name": "yolo_detection_head", "params": {"version": "v9", "num_anchors": None, "use_group": use_group,
                                                   "reg_max": 4, "act_type": "silu", "use_aux_loss": False}},
        [{"criterion": "yolov9_loss", "weight": None, "l1_activate_epoch": None, "reg_max": 4}],
        {"reg_max": 4, "score_thresh": 0.01, "nms_thresh": 0.65, "class_agnostic": False})


CASES["yolov9_aconv"] = yolov9("aconv", True)
CASES["yolov9_adown"] = yolov9("adown", False)

# YOLO-Fastest-v2: every ShuffleNetV2 width (full size; only the input and outputs are stored).
FASTEST_ANCHORS = [[12.0, 18.0, 37.0, 49.0, 52.0, 132.0], [115.0, 73.0, 119.0, 199.0, 242.0, 238.0]]
for size in ["0.5x", "1.0x", "1.5x", "2.0x"]:
    CASES[f"yolo_fastest_{size[0]}{size[2]}"] = detection_doc(
        "yolo_fastest_test", {"name": "shufflenetv2", "params": {"model_size": size}, "stage_params": None},
        {"name": "lightfpn", "params": {"out_channels": 16}},
        {"name": "yolo_fastest_head_v2", "params": {"anchors": FASTEST_ANCHORS}},
        [{"criterion": "yolofastest_loss", "anchors": FASTEST_ANCHORS, "l1_activate_epoch": None, "weight": None}],
        {"score_thresh": 0.01, "nms_thresh": 0.65, "anchors": FASTEST_ANCHORS, "class_agnostic": False})

# RTMPose: SimCC head with a gated attention unit, as configured (SiLU, no position encoding,
# no relative bias) and with rotary positions, a relative bias and ReLU.
def rtmpose(name, act, pos_enc, rel_bias):
    doc = model_doc(name, copy.deepcopy(CASES["mobilenetv3"]["model"]["architecture"]["backbone"]), {
        "name": "rtmcc", "params": {"conv_kernel": 7, "attention_channels": 16, "attention_act_type": act,
                                    "attention_pos_enc": pos_enc, "s": 8, "expansion_factor": 2, "dropout_rate": 0.0,
                                    "drop_path": 0.0, "use_rel_bias": rel_bias, "simcc_split_ratio": 2.0,
                                    "target_size": [32, 32], "backbone_stride": 8}}, "pose_estimation")
    doc["model"]["losses"] = [{"criterion": "rtmcc_loss", "weight": None}]
    doc["model"]["postprocessor"] = {"params": {"simcc_split_ratio": 2.0}}
    return doc


CASES["rtmpose"] = rtmpose("rtmpose_tiny", "silu", False, False)
CASES["rtmpose_rope_rel_bias"] = rtmpose("rtmpose_tiny", "relu", True, True)

# RT-DETR: hybrid encoder (transformer on chosen levels, CCFF) + deformable decoder; the second
# case adds a memory level, masks border anchors (large eps), encodes two levels and builds the
# denoising embedding.
def rtdetr(num_levels, eps, use_encoder_idx, num_denoising):
    return detection_doc(
        "rtdetr_tiny", copy.deepcopy(RESNET_DET),
        {"name": "rtdetr_hybrid_encoder", "params": {
            "hidden_dim": 16, "use_encoder_idx": use_encoder_idx, "num_encoder_layers": 1, "pe_temperature": 10000,
            "num_attention_heads": 2, "dim_feedforward": 32, "dropout": 0.0, "attn_act_type": "gelu",
            "expansion": 0.5, "depth_mult": 0.34, "conv_act_type": "silu"}},
        {"name": "rtdetr_head", "params": {
            "hidden_dim": 16, "num_attention_heads": 2, "num_levels": num_levels, "num_queries": 10, "eps": eps,
            "num_decoder_layers": 2, "eval_spatial_size": None, "position_embed_type": "sine",
            "num_decoder_points": 2, "dim_feedforward": 32, "dropout": 0.0, "act_type": "relu",
            "num_denoising": num_denoising, "label_noise_ratio": 0.5, "use_aux_loss": True}},
        [{"criterion": "detr_loss", "weight": None, "weight_dict": {"loss_vfl": 1, "loss_bbox": 5, "loss_giou": 2},
          "losses": ["vfl", "boxes"], "alpha": 0.75, "gamma": 2.0,
          "matcher": {"type": "HungarianMatcher", "weight_dict": {"cost_class": 2, "cost_bbox": 5, "cost_giou": 2},
                      "alpha": 0.25, "gamma": 2.0, "use_focal_loss": True}}],
        {"num_top_queries": 10, "score_thresh": 0.0})


CASES["rtdetr"] = rtdetr(3, 0.01, [2], 0)
CASES["rtdetr_extra_level"] = rtdetr(4, 0.01, [2], 0)
CASES["rtdetr_extra_level_masked"] = rtdetr(4, 0.13, [1, 2], 100)

# Cases whose weights are stored (the CLI tests load them); the others are recomputed.
STORED_WEIGHTS = {"resnet_basic", "resnet_seg", "vit"}
# Input side per case (default 32): EfficientFormer's last stage has stride 32.
SIDE = {"efficientformer": 64, "efficientformer_seg": 64, "mobilevit": 64, "pidnet_light": 64, "pidnet": 64}


def flatten(tree, name, out):
    """A prediction's tensors named as `zoo run --output` names them: `pred`, `pred.0`,
    `pred.<key>`, nested."""
    if isinstance(tree, torch.Tensor):
        out[name] = tree.detach().contiguous()
    elif isinstance(tree, (list, tuple)):
        for i, t in enumerate(tree):
            flatten(t, f"{name}.{i}", out)
    else:
        for k, t in tree.items():
            flatten(t, f"{name}.{k}", out)
    return out


def torchvision_names(key):
    """NetsPresso ResNet names → torchvision's (what zoo's torchvision remap rules undo)."""
    key = key.replace("backbone.conv1.block.conv.", "conv1.").replace("backbone.conv1.block.norm.", "bn1.")
    for i in range(4):
        key = key.replace(f"backbone.stages.{i}.", f"layer{i + 1}.")
    for n in (1, 2, 3):
        key = key.replace(f".conv{n}.block.conv.", f".conv{n}.").replace(f".conv{n}.block.norm.", f".bn{n}.")
    key = key.replace(".downsample.block.conv.", ".downsample.0.").replace(".downsample.block.norm.", ".downsample.1.")
    return key.replace("head.classifier.1.", "fc.")


def synthetic(name, t):
    """Deterministic weights that tests/parity.rs recomputes (so most cases store no weights),
    over the flat PyTorch layout with v = sin(0.7548776662466927 * i + (crc32(name) % 10007) / 1000):
    conv/linear weights (rank >= 2) v * 2 / sqrt(fan_in), so activations keep their scale
    through deep networks and the output depends on the input; norm scales (rank-1 `weight`)
    1 + 0.2 v; running variances 0.75 + 0.25 v; everything else 0.2 v; the last layer of box
    refinement MLPs (`*bbox_head*.layers.2.*`) a tenth of that; index tables spread over their
    range."""
    phase = (zlib.crc32(name.encode()) % 10007) / 1000.0
    i = torch.arange(t.numel(), dtype=torch.float64)
    v = torch.sin(i * 0.7548776662466927 + phase)
    if name.endswith("attention_bias_idxs"):
        n = t.shape[-1]
        return ((v + 1) / 2 * n).floor().clamp(0, n - 1).reshape(t.shape).to(t.dtype)
    if name.endswith("running_var"):
        v = 0.75 + 0.25 * v
    elif t.dim() == 1 and name.endswith("weight"):
        v = 1.0 + 0.2 * v
    elif t.dim() >= 2:
        fan_in = t.numel() // t.shape[0]
        v = v * 2.0 / math.sqrt(fan_in)
    else:
        v = 0.2 * v
    if "bbox_head" in name and ".layers.2." in name:
        # RT-DETR's box refinement starts at zero: small steps keep the boxes away from the
        # saturated ends of the sigmoid, where float32 rounding would dominate the output.
        v = 0.1 * v
    return v.reshape(t.shape).to(t.dtype)


def randomise(model):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith(".pe") or name.endswith("num_batches_tracked"):
                continue
            t.copy_(synthetic(name, t))


def main(only=None):
    OUT.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(7)
    for case, doc in CASES.items():
        if only and case not in only:
            # Keep the generator's sequence (every input comes from the one seeded generator).
            torch.randn(2, 3, SIDE.get(case, 32), SIDE.get(case, 32), generator=gen)
            continue
        conf = OmegaConf.create(doc).model
        conf.single_task_model = conf.architecture.full is not None
        model = build_model(conf, NUM_CLASSES, devices=torch.device("cpu"), distributed=False)
        randomise(model)
        model.eval()
        side = SIDE.get(case, 32)
        x = torch.randn(2, 3, side, side, generator=gen)
        with torch.no_grad():
            out = model(x)
        y = out.get("pred")
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        (OUT / f"{case}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        if case in STORED_WEIGHTS:
            save_file(state, str(OUT / f"{case}.safetensors"))
        if isinstance(y, torch.Tensor):
            io = {"input": x.contiguous(), "output": y.contiguous()}
        else:
            # A prediction tree (detection, pose): `pred.…` tensors; RetinaNet returns its
            # record without a `pred` key.
            io = {"input": x.contiguous(), **flatten(y if y is not None else dict(out), "pred", {})}
        if conf.task == "detection":
            # NetsPresso's postprocessor on the prediction: per image boxes (input pixels),
            # scores and labels after decoding, score filtering and NMS (zoo run --json).
            from netspresso_trainer.postprocessors.detection import DetectionPostprocessor
            for i, (boxes, scores, labels) in enumerate(DetectionPostprocessor(conf)(out, original_shape=x[0].shape)):
                io[f"post.{i}.boxes"] = torch.from_numpy(boxes).float().reshape(-1, 4).contiguous()
                io[f"post.{i}.scores"] = torch.from_numpy(scores).float().contiguous()
                io[f"post.{i}.labels"] = torch.from_numpy(labels).float().contiguous()
        if conf.task == "pose_estimation":
            # NetsPresso's postprocessor: SimCC arg-max per keypoint, in input pixels.
            from netspresso_trainer.postprocessors.pose_estimation import PoseEstimationPostprocessor
            io["keypoints"] = torch.from_numpy(PoseEstimationPostprocessor(conf)({"pred": y})).float().contiguous()
        if conf.task == "segmentation":
            # NetsPresso's postprocessor: upsample to the input size, arg-max (zoo run --mask).
            post = SegmentationPostprocessor(conf)
            io["mask"] = torch.from_numpy(post({"pred": y}, x.shape)).float().contiguous()
        save_file(io, str(OUT / f"{case}.io.safetensors"))
        if case == "resnet_basic":
            tv = {torchvision_names(k): v for k, v in state.items()}
            save_file(tv, str(OUT / "resnet_basic_torchvision.safetensors"))
            torch.save(tv, str(OUT / "resnet_basic_torchvision.pth"))
        print(case, {k: tuple(v.shape) for k, v in io.items() if not k.startswith("pred.")})


def torchvision_facts():
    import torchvision

    ref = OUT.parent / "reference"
    for name in ["mobilenet_v3_small", "mobilenet_v3_large", "resnet18", "resnet101", "resnet152"]:
        model = getattr(torchvision.models, name)()
        lines = [f"# torchvision {torchvision.__version__} {name} state dict"]
        lines += [f"{k} {list(v.shape)}" for k, v in model.state_dict().items()]
        (ref / f"torchvision_{name}.txt").write_text("\n".join(lines) + "\n")
    # EfficientNet as an embedding backbone: `features.*` only (the classifier is dropped).
    for v in ["b0", "b4", "b7"]:
        model = getattr(torchvision.models, f"efficientnet_{v}")()
        feats = {k: t for k, t in model.state_dict().items() if k.startswith("features.")}
        count = sum(p.numel() for p in model.features.parameters())
        lines = [f"# params {count}"] + [f"{k} {list(t.shape)}" for k, t in feats.items()]
        (ref / f"torchvision_efficientnet_{v}.txt").write_text("\n".join(lines) + "\n")
    torch.save([1, 2, 3], str(OUT / "not_a_state_dict_list.pt"))
    torch.save(torch.zeros(3), str(OUT / "not_a_state_dict_tensor.pt"))


if __name__ == "__main__":
    import sys

    # With case names, rewrites only those (the others' inputs stay as they were).
    main(set(sys.argv[1:]) or None)
    if len(sys.argv) == 1:
        torchvision_facts()
