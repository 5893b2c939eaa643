//! Data parallelism over several devices with burn's own primitives, as PyTorch's DDP trains
//! NetsPresso's multi-GPU runs: each step takes one batch per device, every device computes its
//! batch's loss and gradients on its copy of the model (`Module::fork`), and
//! `MultiGradientsParams` sums the gradients on the main device, where the optimizer steps.
//! Each device's loss is divided by the device count, so the sum is the mean over devices (DDP's
//! all-reduce averages). The first device trains the model itself, so BatchNorm statistics are
//! the first device's, as DDP broadcasts rank 0's buffers.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, MultiGradientsParams};
use burn::tensor::{Device, Tensor};

/// Moves every parameter's summed gradient out of `multi` into one `GradientsParams` on
/// `device`.
struct Merge<'a> {
    multi: &'a mut MultiGradientsParams,
    out: GradientsParams,
    device: Device,
}

impl ModuleVisitor for Merge<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some((g, _)) = self.multi.remove::<D>(param.id) {
            self.out.register(param.id, g.to_device(&self.device));
        }
    }
}

/// The gradients of every device summed per parameter, on `device` (the model's).
pub fn merge<M: Module>(model: &M, parts: Vec<(GradientsParams, Device)>, device: &Device) -> GradientsParams {
    let mut multi = MultiGradientsParams { grads: parts };
    let mut m = Merge {
        multi: &mut multi,
        out: GradientsParams::new(),
        device: device.clone(),
    };
    model.visit(&mut m);
    m.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;

    #[derive(Module, Debug)]
    struct Affine {
        w: Param<Tensor<2>>,
        b: Param<Tensor<1>>,
    }

    impl Affine {
        fn loss(&self, x: &[f32], y: &[f32]) -> Tensor<1> {
            let device = self.w.val().device();
            let n = y.len();
            let x = Tensor::<1>::from_floats(x, &device).reshape([n, 2]);
            let y = Tensor::<1>::from_floats(y, &device).reshape([n, 1]);
            let out = x.matmul(self.w.val()) + self.b.val().reshape([1, 1]);
            (out - y).square().mean().reshape([1])
        }
    }

    #[test]
    fn two_devices_give_the_gradient_of_the_whole_batch() {
        let device = Device::flex().autodiff();
        let model = Affine {
            w: Param::from_tensor(Tensor::<1>::from_floats([0.5, -1.0].as_slice(), &device).reshape([2, 1])),
            b: Param::from_tensor(Tensor::<1>::from_floats([0.25].as_slice(), &device)),
        };
        let x = [1.0, 2.0, -1.0, 0.5, 3.0, 1.0, 0.0, -2.0];
        let y = [1.0, 0.0, 2.0, -1.0];
        // One device, the four samples.
        let whole = GradientsParams::from_grads(model.loss(&x, &y).backward(), &model);
        // Two devices, two samples each, each loss halved.
        let mut parts = Vec::new();
        for k in 0..2 {
            let replica = if k == 0 {
                model.clone()
            } else {
                model.clone().fork(&device)
            };
            let loss = replica
                .loss(&x[k * 4..(k + 1) * 4], &y[k * 2..(k + 1) * 2])
                .div_scalar(2.0);
            parts.push((GradientsParams::from_grads(loss.backward(), &replica), device.clone()));
        }
        let merged = merge(&model, parts, &device);
        let values = |g: &GradientsParams| -> Vec<f32> {
            let mut v = g.get::<2>(model.w.id).unwrap().into_data().try_to_vec::<f32>().unwrap();
            v.extend(g.get::<1>(model.b.id).unwrap().into_data().try_to_vec::<f32>().unwrap());
            v
        };
        let (a, b) = (values(&whole), values(&merged));
        assert_eq!(a.len(), 3);
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }
}
