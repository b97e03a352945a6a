//! A linear layer with softmax over the seven intents, trained when an index is built.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use crate::error::NlpError;

/// How the head is trained.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Training {
    pub(crate) steps: usize,
    pub(crate) learning_rate: f64,
    /// AdamW's decoupled weight decay: pulls the weights toward zero, which keeps a few
    /// hundred examples from being learnt by heart.
    pub(crate) weight_decay: f64,
}

/// Weights `dim × 7` and biases of a trained head.
pub(crate) struct SoftmaxHead {
    weights: Vec<[f32; 7]>,
    bias: [f32; 7],
}

impl SoftmaxHead {
    /// Trains on `rows` (one feature vector per example, all `dim` long), `labels` (0..7)
    /// and per-example `weights`. Full-batch steps from zero weights: the loss is convex and
    /// the result the same on every run.
    pub(crate) fn train(
        rows: &[Vec<f32>],
        labels: &[usize],
        weights: &[f32],
        training: Training,
    ) -> Result<Self, NlpError> {
        let n = rows.len();
        let dim = rows.first().map_or(0, Vec::len);
        let fit = || -> candle_core::Result<(Vec<Vec<f32>>, Vec<f32>)> {
            let device = Device::Cpu;
            let flat: Vec<f32> = rows.iter().flatten().copied().collect();
            let x = Tensor::from_vec(flat, (n, dim), &device)?;
            let y: Vec<u32> = labels.iter().map(|&l| l as u32).collect();
            let y = Tensor::from_vec(y, (n, 1), &device)?;
            let total: f32 = weights.iter().sum::<f32>().max(f32::MIN_POSITIVE);
            let w_norm: Vec<f32> = weights.iter().map(|w| w / total).collect();
            let sample_weights = Tensor::from_vec(w_norm, (n, 1), &device)?;
            let w = Var::zeros((dim, 7), DType::F32, &device)?;
            let b = Var::zeros(7, DType::F32, &device)?;
            let mut optimizer = AdamW::new(
                vec![w.clone(), b.clone()],
                ParamsAdamW {
                    lr: training.learning_rate,
                    weight_decay: training.weight_decay,
                    ..ParamsAdamW::default()
                },
            )?;
            for _ in 0..training.steps {
                let logits = x.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
                let log_p = candle_nn::ops::log_softmax(&logits, 1)?;
                let loss = (log_p.gather(&y, 1)? * &sample_weights)?.sum_all()?.neg()?;
                optimizer.backward_step(&loss)?;
            }
            Ok((w.as_tensor().to_vec2()?, b.as_tensor().to_vec1()?))
        };
        let (w, b) = fit().map_err(|err| NlpError::Model {
            reason: format!("training the intent classifier failed: {err}"),
        })?;
        Ok(Self {
            weights: w
                .into_iter()
                .map(|row| std::array::from_fn(|i| row.get(i).copied().unwrap_or(0.0)))
                .collect(),
            bias: std::array::from_fn(|i| b.get(i).copied().unwrap_or(0.0)),
        })
    }

    /// The probability of each label for one feature vector.
    pub(crate) fn probabilities(&self, row: &[f32]) -> [f32; 7] {
        let mut logits = self.bias;
        for (x, w) in row.iter().zip(&self.weights) {
            if *x != 0.0 {
                for (l, w) in logits.iter_mut().zip(w) {
                    *l += x * w;
                }
            }
        }
        softmax(logits)
    }
}

pub(crate) fn softmax(logits: [f32; 7]) -> [f32; 7] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp = logits.map(|l| (l - max).exp());
    let total: f32 = exp.iter().sum();
    if total > 0.0 && total.is_finite() {
        exp.map(|e| e / total)
    } else {
        [1.0 / 7.0; 7]
    }
}
