//! Declaring a winner only on evidence: the strategy's pick on point estimates
//! ([`super::strategy::pick`], as aws-lambda-power-tuning picks) wins outright only when the
//! quantity the strategy ranks by has a 95% interval wholly below every other size's. Otherwise the
//! sizes whose intervals overlap the pick's are a tie within noise, and the tie is settled by what
//! the measurements can still tell apart:
//!
//! 1. **the cheaper**: a tied size whose cost interval is below every other tied size's;
//! 2. else **the faster**: one whose duration interval is below every other's (same money, less
//!    time);
//! 3. else **the smaller memory size**: nothing measured separates them, and the smallest is the
//!    lowest price per millisecond, so it is the one a reviewer can defend without a figure, and it
//!    is the same answer on every rerun (a point estimate would flip between them).
//!
//! `balanced` ranks by a score; its interval is the score of the cost and duration intervals' ends
//! (the score grows with both), normalised by the point estimates' maxima as the score itself is.
//! A size without an interval (too few values kept to have one) overlaps everything.

use serde::Serialize;

use super::confidence::Interval;
use super::strategy::{self, Candidate, Strategy};

/// One size's 95% intervals, beside its [`Candidate`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Evidence {
    /// Of its cost per invocation, in the cost model compared.
    pub cost: Option<Interval>,
    /// Of its duration, the metric compared.
    pub duration: Option<Interval>,
}

/// How the chosen size was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChosenBy {
    /// Its lead is outside every other size's interval.
    Clear,
    /// A tie, settled by a cost interval below the others'.
    Cheaper,
    /// A tie in which no cost stood apart, settled by a duration interval below the others'.
    Faster,
    /// A tie nothing measured settles: the smallest memory size.
    SmallerMemory,
}

impl ChosenBy {
    /// The reason in words, after "chose N MB, ".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            ChosenBy::Clear => "its lead is outside the other sizes' 95% intervals",
            ChosenBy::Cheaper => "the cheaper (its cost interval is below the others')",
            ChosenBy::Faster => {
                "the faster (costs within noise; its duration interval is below the others')"
            }
            ChosenBy::SmallerMemory => {
                "the smaller memory (cost and duration within noise of each other)"
            }
        }
    }
}

/// The verdict on a set of candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Index of the chosen candidate.
    pub chosen: usize,
    /// Index of the strategy's pick on point estimates alone.
    pub point: usize,
    /// Indexes of the sizes within noise of the point pick, itself included, ascending; one entry
    /// when the lead is clear.
    pub tied: Vec<usize>,
    /// How the chosen one was chosen.
    pub chosen_by: ChosenBy,
}

/// The interval of what `strategy` ranks `c` by; `None` when there is none.
fn ranked(
    strategy: Strategy,
    c: &Candidate,
    e: &Evidence,
    (max_cost, max_duration, weight): (f64, f64, f64),
) -> Option<Interval> {
    match strategy {
        Strategy::Cost => e.cost,
        Strategy::Speed => e.duration,
        Strategy::Balanced => {
            let (cost, duration) = (e.cost?, e.duration?);
            let score = |cost, duration_ms| {
                let at = Candidate {
                    cost,
                    duration_ms,
                    ..*c
                };
                strategy::balanced_score(&at, max_cost, max_duration, weight)
            };
            Some(Interval {
                low: score(cost.low, duration.low),
                high: score(cost.high, duration.high),
                open: cost.open || duration.open,
            })
        }
    }
}

/// Whether `a` is known to lie below `b`; an interval that is missing is known nowhere.
fn below(a: Option<Interval>, b: Option<Interval>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.below(&b))
}

/// The one member of `tied` whose interval (`of`) is below every other member's, if any.
fn stands_apart(tied: &[usize], of: impl Fn(usize) -> Option<Interval>) -> Option<usize> {
    tied.iter()
        .copied()
        .find(|&i| tied.iter().all(|&j| j == i || below(of(i), of(j))))
}

/// Decides among `candidates` (with `evidence`, index for index) under `strategy`; `None` when
/// there are no candidates.
pub fn decide(
    strategy: Strategy,
    candidates: &[Candidate],
    evidence: &[Evidence],
    weight: f64,
) -> Option<Decision> {
    let point = strategy::pick(strategy, candidates, weight)?;
    let max_cost = candidates.iter().map(|c| c.cost).fold(0.0, f64::max);
    let max_duration = candidates.iter().map(|c| c.duration_ms).fold(0.0, f64::max);
    let scale = (max_cost, max_duration, weight);
    let key = |i: usize| ranked(strategy, &candidates[i], &evidence[i], scale);
    let tied: Vec<usize> = (0..candidates.len())
        .filter(|&i| i == point || !below(key(point), key(i)))
        .collect();
    if tied.len() == 1 {
        return Some(Decision {
            chosen: point,
            point,
            tied,
            chosen_by: ChosenBy::Clear,
        });
    }
    let (chosen, chosen_by) = if let Some(i) = stands_apart(&tied, |i| evidence[i].cost) {
        (i, ChosenBy::Cheaper)
    } else if let Some(i) = stands_apart(&tied, |i| evidence[i].duration) {
        (i, ChosenBy::Faster)
    } else {
        let smallest = tied.iter().copied().min_by_key(|&i| candidates[i].memory_mb);
        (
            smallest.expect("a tie has members"),
            ChosenBy::SmallerMemory,
        )
    };
    Some(Decision {
        chosen,
        point,
        tied,
        chosen_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(low: f64, high: f64) -> Option<Interval> {
        Some(Interval {
            low,
            high,
            open: false,
        })
    }

    fn size(memory_mb: u32, cost: (f64, f64), duration: (f64, f64)) -> (Candidate, Evidence) {
        let mid = |(a, b): (f64, f64)| (a + b) / 2.0;
        (
            Candidate {
                memory_mb,
                cost: mid(cost),
                duration_ms: mid(duration),
            },
            Evidence {
                cost: iv(cost.0, cost.1),
                duration: iv(duration.0, duration.1),
            },
        )
    }

    fn run(strategy: Strategy, sizes: &[(Candidate, Evidence)]) -> Decision {
        let c: Vec<Candidate> = sizes.iter().map(|s| s.0).collect();
        let e: Vec<Evidence> = sizes.iter().map(|s| s.1).collect();
        decide(strategy, &c, &e, 0.5).unwrap()
    }

    #[test]
    fn a_clear_lead() {
        let d = run(
            Strategy::Cost,
            &[
                size(128, (1.0, 1.2), (100.0, 110.0)),
                size(256, (1.5, 1.7), (50.0, 55.0)),
            ],
        );
        assert_eq!((d.chosen, d.point, d.chosen_by), (0, 0, ChosenBy::Clear));
        assert_eq!(d.tied, [0]);
    }

    #[test]
    fn speed_tie_goes_to_the_cheaper() {
        // 512 is faster on points (10.0 vs 10.2) but within noise; 256 costs clearly less.
        let d = run(
            Strategy::Speed,
            &[
                size(256, (1.0, 1.1), (9.8, 10.6)),
                size(512, (2.0, 2.2), (9.6, 10.4)),
                size(1024, (4.0, 4.4), (20.0, 22.0)),
            ],
        );
        assert_eq!((d.point, d.chosen, d.chosen_by), (1, 0, ChosenBy::Cheaper));
        assert_eq!(d.tied, [0, 1]);
    }

    #[test]
    fn cost_tie_goes_to_the_faster_then_to_the_smaller() {
        // Equal costs within noise; 512 is clearly faster.
        let faster = run(
            Strategy::Cost,
            &[
                size(256, (0.9, 1.1), (40.0, 44.0)),
                size(512, (0.95, 1.15), (20.0, 22.0)),
            ],
        );
        assert_eq!((faster.point, faster.chosen), (0, 1));
        assert_eq!(faster.chosen_by, ChosenBy::Faster);
        // Nothing separates them: the smaller memory, whichever the points favour.
        for shift in [-0.01, 0.01] {
            let d = run(
                Strategy::Cost,
                &[
                    size(512, (1.0 + shift, 1.2 + shift), (20.0, 23.0)),
                    size(256, (1.0, 1.2), (21.0, 24.0)),
                ],
            );
            assert_eq!(
                (d.chosen, d.chosen_by),
                (1, ChosenBy::SmallerMemory),
                "{shift}"
            );
        }
    }

    #[test]
    fn a_missing_interval_ties_with_everything() {
        let (c, mut e) = size(128, (1.0, 1.1), (100.0, 110.0));
        e.cost = None;
        let other = size(256, (3.0, 3.1), (50.0, 51.0));
        let d = run(Strategy::Cost, &[(c, e), other]);
        assert_eq!(d.tied, [0, 1]);
    }

    #[test]
    fn balanced_scores_have_intervals() {
        // Normalised by the points' maxima, cost 2.0 and duration 100 ms. 512's score interval
        // ends at 0.5×2.1/2.0 + 0.5×21/100 = 0.63; 128's starts at 0.5×0.9/2.0 + 0.5×95/100 = 0.70:
        // clear.
        let d = run(
            Strategy::Balanced,
            &[
                size(128, (0.9, 1.1), (95.0, 105.0)),
                size(512, (1.9, 2.1), (19.0, 21.0)),
            ],
        );
        assert_eq!((d.chosen, d.chosen_by), (1, ChosenBy::Clear));
    }
}
