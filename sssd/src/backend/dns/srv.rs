//! The order in which SRV targets are tried (RFC 2782): by priority, lowest first; within a
//! priority, a weighted random order, so that servers share clients in proportion to their
//! weights.

use super::message::Srv;

/// Orders `records` for use. `random(n)` returns a number in `0..=n`. A single record whose
/// target is the root (`.`) means the service is decidedly not offered: no targets.
pub fn order(mut records: Vec<Srv>, mut random: impl FnMut(u32) -> u32) -> Vec<Srv> {
    if records.len() == 1 && records[0].target.is_empty() {
        return Vec::new();
    }
    records.retain(|r| !r.target.is_empty());
    records.sort_by_key(|r| r.priority);
    let mut out = Vec::with_capacity(records.len());
    for mut group in priority_runs(records) {
        // Zero weights first, so they stay reachable but rarely first when others weigh.
        group.sort_by_key(|r| r.weight != 0);
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = random(total);
            let mut running = 0u32;
            let index = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(index));
        }
    }
    out
}

/// `records` split into runs of consecutive records of equal priority, in order.
pub fn priority_runs(records: Vec<Srv>) -> Vec<Vec<Srv>> {
    let mut runs: Vec<Vec<Srv>> = Vec::new();
    for r in records {
        match runs.last_mut() {
            Some(run) if run.first().is_some_and(|f| f.priority == r.priority) => run.push(r),
            _ => runs.push(vec![r]),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, weight: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port: 389,
            target: target.into(),
            ttl: 60,
        }
    }

    fn targets(v: &[Srv]) -> Vec<&str> {
        v.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn priority_first_then_weight() {
        let recs = vec![
            srv(20, 0, "c"),
            srv(10, 0, "a"),
            srv(30, 5, "d"),
            srv(10, 0, "b"),
        ];
        let got = order(recs, |_| 0);
        assert_eq!(targets(&got), ["a", "b", "c", "d"]);
    }

    #[test]
    fn weights_share_the_first_place() {
        let mut state = 12345u64;
        let mut rng = move |n: u32| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % (u64::from(n) + 1)) as u32
        };
        let mut heavy_first = 0;
        for _ in 0..10_000 {
            let got = order(vec![srv(1, 10, "light"), srv(1, 90, "heavy")], &mut rng);
            assert_eq!(got.len(), 2);
            if got[0].target == "heavy" {
                heavy_first += 1;
            }
        }
        assert!((8_500..9_500).contains(&heavy_first), "{heavy_first}");
    }

    #[test]
    fn root_target_means_no_service() {
        assert!(order(vec![srv(0, 0, "")], |_| 0).is_empty());
        assert_eq!(
            targets(&order(vec![srv(0, 0, ""), srv(1, 0, "x")], |_| 0)),
            ["x"]
        );
    }
}
