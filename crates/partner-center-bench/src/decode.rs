//! Decoding (and re-encoding) the official example: the SDK's lossless `Referral` against
//! `serde_json::Value`, which keeps everything too but types nothing. The `Referral` side pays
//! for what the SDK does with every answer: the drift-proof decode and the search for drift.

use std::hint::black_box;
use std::time::Instant;

use partner_center_api::lenient::drift;
use partner_center_api::types::Referral;
use serde_json::Value;

use crate::procfs;
use crate::report::Stats;

/// Nanoseconds per operation, the median of the rounds.
#[derive(Debug)]
pub(crate) struct DecodeResult {
    pub(crate) value_parse: Stats,
    pub(crate) referral_parse: Stats,
    pub(crate) value_write: Stats,
    pub(crate) referral_write: Stats,
    /// Whether the decoded `Referral` re-encodes to the same JSON (as a `Value`) as the input.
    pub(crate) lossless: bool,
    /// CPUs used by other processes meanwhile.
    pub(crate) others_cpus: f64,
}

/// `rounds` rounds of `iterations` operations of each kind, interleaved round by round.
pub(crate) fn run(rounds: usize, iterations: usize) -> Result<DecodeResult, String> {
    let input = crate::EXAMPLE;
    let value: Value = serde_json::from_slice(input).map_err(|e| e.to_string())?;
    let referral: Referral = serde_json::from_slice(input).map_err(|e| e.to_string())?;
    let lossless = serde_json::to_value(&referral).map_err(|e| e.to_string())? == value;

    let mut times: [Vec<f64>; 4] = Default::default();
    let pid = std::process::id();
    let own_before = procfs::cpu_ns(pid).map_err(|e| e.to_string())?;
    let machine_before = procfs::machine_ticks().map_err(|e| e.to_string())?;
    let started = Instant::now();
    for round in 0..rounds {
        // The order alternates so that neither side always runs on the heap the other left.
        let order = if round % 2 == 0 {
            [0, 1, 2, 3]
        } else {
            [1, 0, 3, 2]
        };
        for which in order {
            times[which].push(match which {
                0 => per_op(iterations, || {
                    serde_json::from_slice::<Value>(black_box(input))
                }),
                1 => per_op(iterations, || {
                    let referral = serde_json::from_slice::<Referral>(black_box(input));
                    if let Ok(referral) = &referral {
                        black_box(drift(referral));
                    }
                    referral
                }),
                2 => per_op(iterations, || serde_json::to_vec(black_box(&value))),
                _ => per_op(iterations, || serde_json::to_vec(black_box(&referral))),
            });
        }
    }
    let elapsed = started.elapsed().as_nanos() as f64;
    let busy = procfs::machine_ticks()
        .map_err(|e| e.to_string())?
        .busy_cpus_since(&machine_before);
    let own = (procfs::cpu_ns(pid).map_err(|e| e.to_string())? - own_before) as f64;
    let [value_parse, referral_parse, value_write, referral_write] =
        times.map(|t| Stats::of(t.into_iter()));
    Ok(DecodeResult {
        value_parse,
        referral_parse,
        value_write,
        referral_write,
        lossless,
        others_cpus: ((busy * elapsed - own) / elapsed).max(0.0),
    })
}

/// Nanoseconds per call of `operation`, over `iterations` calls.
fn per_op<T>(iterations: usize, mut operation: impl FnMut() -> T) -> f64 {
    let started = Instant::now();
    for _ in 0..iterations {
        // Dropped here: freeing what was built is part of the cost.
        black_box(operation());
    }
    started.elapsed().as_nanos() as f64 / iterations as f64
}

/// What `decode-loop` decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Shape {
    /// The lossless `Referral`, drift looked for, as the bench measures it.
    Referral,
    /// `serde_json::Value`.
    Value,
}

/// `decode-loop`: which decode, how many times.
#[derive(clap::Args, Debug)]
pub(crate) struct LoopSpec {
    #[arg(long, value_enum)]
    kind: Shape,
    #[arg(long, default_value_t = 1000)]
    iterations: usize,
}

/// Decodes the example `spec.iterations` times, untimed, for instruction counts.
pub(crate) fn repeat(spec: &LoopSpec) -> Result<(), String> {
    // One decode outside the counted loop, so that it counts no first-use setup.
    decode_once(spec.kind)?;
    decode_loop(spec.kind, spec.iterations)
}

/// The counted part: `valgrind --tool=callgrind --toggle-collect='*decode::decode_loop*'`.
#[inline(never)]
fn decode_loop(kind: Shape, iterations: usize) -> Result<(), String> {
    for _ in 0..iterations {
        decode_once(kind)?;
    }
    Ok(())
}

fn decode_once(kind: Shape) -> Result<(), String> {
    let input = black_box(crate::EXAMPLE);
    match kind {
        Shape::Value => {
            black_box(serde_json::from_slice::<Value>(input).map_err(|e| e.to_string())?);
        }
        Shape::Referral => {
            let referral: Referral = serde_json::from_slice(input).map_err(|e| e.to_string())?;
            black_box(drift(&referral));
            black_box(referral);
        }
    }
    Ok(())
}
