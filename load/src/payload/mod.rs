//! What a load test sends: its payloads ([`spec`], read as `lab tune` reads them), serialised once
//! up front into a weighted [`PayloadMix`] the VUs pick from.

pub mod spec;

use bytes::Bytes;
use rand::Rng;
use serde_json::Value;

use spec::PayloadSpec;

/// Serialised payloads and their cumulative weights; picking one costs a random number and a
/// short scan, and the bytes are shared, never copied.
#[derive(Debug, Clone)]
pub struct PayloadMix {
    items: Vec<(Bytes, f64)>,
    total: f64,
    /// The documents and relative weights, for reports (and the workers' plans).
    pub described: Vec<(Value, f64)>,
}

impl PayloadMix {
    /// Serialises every document of `spec` once.
    pub fn from_spec(spec: &PayloadSpec) -> PayloadMix {
        let mut total = 0.0;
        let mut items = Vec::new();
        let mut described = Vec::new();
        for (value, weight) in spec.entries() {
            total += weight;
            items.push((Bytes::from(spec::to_bytes(value)), total));
            described.push((value.clone(), weight));
        }
        PayloadMix {
            items,
            total,
            described,
        }
    }

    /// One payload, chosen by weight.
    pub(crate) fn pick<R: Rng>(&self, rng: &mut R) -> &Bytes {
        if self.items.len() == 1 {
            return &self.items[0].0;
        }
        let x = rng.gen_range(0.0..self.total);
        self.items
            .iter()
            .find(|(_, upto)| x < *upto)
            .map_or(&self.items[self.items.len() - 1].0, |(b, _)| b)
    }

    /// Any one payload (the first), e.g. for warm-up requests.
    pub fn first(&self) -> &Bytes {
        &self.items[0].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn picks_by_weight() {
        let list = json!({"operation": "list"});
        let read = json!({"operation": "read"});
        let mix = PayloadMix::from_spec(&PayloadSpec::Weighted(vec![(list, 3.0), (read, 1.0)]));
        assert_eq!(mix.described.len(), 2);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let lists = (0..4000)
            .filter(|_| mix.pick(&mut rng).starts_with(br#"{"operation":"list""#))
            .count();
        // Expect 3/4 of 4000 = 3000; allow a wide margin.
        assert!((2700..3300).contains(&lists), "{lists}");
    }
}
