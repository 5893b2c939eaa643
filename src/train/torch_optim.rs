//! The optimizers NetsPresso offers that burn lacks, with PyTorch's update rules (L2 weight
//! decay added to the gradient, as `torch.optim` does for both).

use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::store::burn_pack::Scalar;
use burn::tensor::{Device, Tensor};

fn put<const D: usize>(out: &mut StateSink, prefix: &str, leaf: &str, t: &Tensor<D>) {
    out.push_tensor(prefix, leaf, t.to_data());
}

fn take<const D: usize>(src: &mut StateSource, prefix: &str, leaf: &str, device: &Device) -> Option<Tensor<D>> {
    src.take_tensor(prefix, leaf).map(|d| Tensor::from_data(d, device))
}

/// `torch.optim.Adamax`: the infinity norm of past gradients in place of Adam's second moment.
#[derive(Clone, Debug)]
pub struct Adamax {
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    pub weight_decay: f64,
}

#[derive(Clone)]
pub struct AdamaxState<const D: usize> {
    step: usize,
    exp_avg: Tensor<D>,
    exp_inf: Tensor<D>,
}

impl<const D: usize> RecordState for AdamaxState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "step", Scalar::UInt(self.step as u64));
        put(out, prefix, "exp_avg", &self.exp_avg);
        put(out, prefix, "exp_inf", &self.exp_inf);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let step = match src.take_scalar(prefix, "step")? {
            Scalar::UInt(s) => s as usize,
            Scalar::Int(s) => usize::try_from(s).ok()?,
            _ => return None,
        };
        Some(AdamaxState {
            step,
            exp_avg: take(src, prefix, "exp_avg", device)?,
            exp_inf: take(src, prefix, "exp_inf", device)?,
        })
    }
}

impl Optimizer for Adamax {
    type State<const D: usize> = AdamaxState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        mut grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if self.weight_decay != 0.0 {
            grad = grad + tensor.clone().mul_scalar(self.weight_decay);
        }
        let (step, exp_avg, exp_inf) = match state {
            Some(s) => (s.step, s.exp_avg, s.exp_inf),
            None => (0, grad.zeros_like(), grad.zeros_like()),
        };
        let step = step + 1;
        let exp_avg = exp_avg.mul_scalar(self.beta_1) + grad.clone().mul_scalar(1.0 - self.beta_1);
        let exp_inf = exp_inf
            .mul_scalar(self.beta_2)
            .max_pair(grad.abs().add_scalar(self.epsilon));
        let clr = lr / (1.0 - self.beta_1.powi(step as i32));
        let tensor = tensor - exp_avg.clone().div(exp_inf.clone()).mul_scalar(clr);
        (tensor, Some(AdamaxState { step, exp_avg, exp_inf }))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.exp_avg = state.exp_avg.to_device(device);
        state.exp_inf = state.exp_inf.to_device(device);
        state
    }
}

/// `torch.optim.Adadelta`: steps scaled by the ratio of running RMS of updates and gradients.
#[derive(Clone, Debug)]
pub struct Adadelta {
    pub rho: f64,
    pub epsilon: f64,
    pub weight_decay: f64,
}

#[derive(Clone)]
pub struct AdadeltaState<const D: usize> {
    square_avg: Tensor<D>,
    acc_delta: Tensor<D>,
}

impl<const D: usize> RecordState for AdadeltaState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        put(out, prefix, "square_avg", &self.square_avg);
        put(out, prefix, "acc_delta", &self.acc_delta);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        Some(AdadeltaState {
            square_avg: take(src, prefix, "square_avg", device)?,
            acc_delta: take(src, prefix, "acc_delta", device)?,
        })
    }
}

impl Optimizer for Adadelta {
    type State<const D: usize> = AdadeltaState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        mut grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if self.weight_decay != 0.0 {
            grad = grad + tensor.clone().mul_scalar(self.weight_decay);
        }
        let (square_avg, acc_delta) = match state {
            Some(s) => (s.square_avg, s.acc_delta),
            None => (grad.zeros_like(), grad.zeros_like()),
        };
        let rho = self.rho;
        let square_avg = square_avg.mul_scalar(rho) + grad.clone().square().mul_scalar(1.0 - rho);
        let std = square_avg.clone().add_scalar(self.epsilon).sqrt();
        let delta = acc_delta.clone().add_scalar(self.epsilon).sqrt().div(std).mul(grad);
        let acc_delta = acc_delta.mul_scalar(rho) + delta.clone().square().mul_scalar(1.0 - rho);
        let tensor = tensor - delta.mul_scalar(lr);
        (tensor, Some(AdadeltaState { square_avg, acc_delta }))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.square_avg = state.square_avg.to_device(device);
        state.acc_delta = state.acc_delta.to_device(device);
        state
    }
}
